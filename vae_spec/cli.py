"""The ``vae-spec`` command: check, diagnose, demo, selftest.

Exit status: 0 the target conforms (or is an ELBO), 1 it does not, 2 usage or import error,
130 interrupted (Ctrl-C; the report of what ran is printed).
"""

from __future__ import annotations

import argparse
import os
import sys

from .declaration import (
    argparse_type, parse_args_text, parse_dtypes, parse_kwargs_text, parse_shape, parse_timeout,
)
from .progress import terminal_line


EXIT_OK, EXIT_DEPARTS, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
VERBS = ("check", "diagnose", "demo", "selftest")


class UsageError(Exception):
    """A command line that cannot run; printed without a traceback, exit 2."""


class CommandLineError(SystemExit):
    """argparse's usage error (exit 2, its message already on stderr), carrying the message."""

    def __init__(self, message: str):
        super().__init__(EXIT_USAGE)
        self.message = message


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors raise :class:`CommandLineError` so that ``main``
    can also print them as JSON; its subcommands' parsers are of this class too."""

    def error(self, message):
        try:
            super().error(message)
        except SystemExit:
            raise CommandLineError(message) from None


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", help="module:attr or path/to/file.py:attr")
    parser.add_argument("--framework", required=True,
                        help="numpy, torch, tensorflow, jax, keras or array-api[:module]")
    parser.add_argument("--term", default="loss",
                        help="kl, reconstruction, loss, elbo, mc_kl, mc_loss, iwae, sampler or "
                             "stochastic_loss (default loss)")
    parser.add_argument("--args", type=argparse_type(parse_args_text),
                        help="the function's parameters as canonical names (default: read from the "
                             "parameter names, e.g. recon_x, x, z_mean, log_var), comma-separated, "
                             "positional (x_recon,x,mu,logvar) or user=canonical pairs, or JSON "
                             "for nested calls ('[{\"recon\": \"x_recon\", \"mu\": \"mu\"}, \"x\"]')")
    parser.add_argument("--kwargs", type=argparse_type(parse_kwargs_text),
                        help="fixed keyword arguments of every call: beta=4,free_bits=0.5 or JSON")
    parser.add_argument("--likelihood", help="bernoulli-probs, bernoulli-logits, gaussian, ...")
    parser.add_argument("--posterior", help="logvar, logstd, std or var (default: from --args)")
    parser.add_argument("--data-shape", type=argparse_type(parse_shape), help="trailing data shape, e.g. 1,28,28")
    parser.add_argument("--latent-shape", type=argparse_type(parse_shape), help="trailing latent shape, e.g. 20")
    parser.add_argument("--dtypes", type=argparse_type(parse_dtypes),
                        help="dtypes to run in, e.g. float32 (default: float32 and float64, less "
                             "those the function raises in)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--quiet", action="store_true", help="no progress line on the terminal")
    parser.add_argument("--artifacts", metavar="DIR",
                        help="where a counterexample too large to print is saved as .npz "
                             "(default ./vae-spec-artifacts)")
    parser.add_argument("--timeout", type=argparse_type(parse_timeout), default=60.0, metavar="SECONDS",
                        help="time limit per call of the function (default 60; 0 for none): a call "
                             "past it is a timeout finding")
    parser.add_argument("--html", metavar="PATH",
                        help="also write a self-contained HTML report with plots to PATH "
                             '(needs matplotlib: pip install "vae-spec[report]")')


def _build_target(options, convention=None):
    from .declaration import declared_target

    return declared_target(
        options.target, framework=options.framework, term=options.term, args=options.args,
        kwargs=options.kwargs, likelihood=options.likelihood, posterior=options.posterior,
        data_shape=options.data_shape, latent_shape=options.latent_shape, dtypes=options.dtypes,
        convention=convention,
    )


def _cmd_check(options) -> int:
    from .runner import check
    from .spec.objective import Convention

    convention = Convention(
        data=options.data, latent=options.latent, batch=options.batch, beta=options.beta,
        scale=options.scale, constants=not options.no_constants, kl_batch=options.kl_batch,
    )
    target = _build_target(options, convention)
    _require_html(options)
    line = terminal_line(options.quiet)
    try:
        report = check(target, max_examples=options.max_examples, seed=options.seed,
                       profile=options.profile, raise_on_failure=False, compile=options.compile,
                       timeout=options.timeout, progress=line.show if line else None,
                       artifacts=options.artifacts)
    finally:
        if line:
            line.clear()
    print(report.to_json() if options.json else report.to_text())
    if options.html:
        from .html_report import check_page, write_page

        _wrote(options, write_page(options.html, check_page(report, target, options.target)))
    return EXIT_OK if report.passed else EXIT_DEPARTS


def _cmd_diagnose(options) -> int:
    from .diagnosis import diagnose

    _require_html(options)
    line = terminal_line(options.quiet)
    if line:
        line.show(f"diagnosing {options.target}: probing")
    try:
        diagnosis = diagnose(_build_target(options), seed=options.seed, timeout=options.timeout)
    finally:
        if line:
            line.clear()
    written = None
    if options.write_pyproject and options.json:  # one document on stdout: the error, if writing fails
        written = write_pyproject(diagnosis, options.target, options.write_pyproject)
    print(diagnosis.to_json(probes=options.probes) if options.json else diagnosis.to_text(options.target))
    if options.write_pyproject:
        written = written or write_pyproject(diagnosis, options.target, options.write_pyproject)
        print(written, file=sys.stderr if options.json else sys.stdout)
    if options.html:
        from .html_report import diagnosis_page, write_page

        _wrote(options, write_page(options.html, diagnosis_page(diagnosis, options.target)))
    return EXIT_OK if diagnosis.is_elbo else EXIT_DEPARTS


def _require_html(options) -> None:
    """--html needs matplotlib (the report extra): a usage error before any work when it is missing."""
    if options.html:
        from .html_report import MissingMatplotlib, require_matplotlib

        try:
            require_matplotlib()
        except MissingMatplotlib as exc:
            raise UsageError(f"--html: {exc}") from None


def _wrote(options, line: str) -> None:
    """Say what --html wrote (on stderr under --json, whose stdout is the JSON)."""
    print(line, file=sys.stderr if options.json else sys.stdout)


def write_pyproject(diagnosis, target: str, path: str) -> str:
    """Append the diagnosis's claim to ``path`` as a [[tool.vae_spec.targets]] table; the line
    that says what was done. UsageError when there is no claim or the file declares the target."""
    import pathlib
    import tomllib

    block = diagnosis.claim.pyproject_block(target) if diagnosis.claim else None
    if block is None:
        why = diagnosis.no_claim or "the target is called through a call= hook"
        raise UsageError(f"--write-pyproject: no claim to write ({why})")
    file = pathlib.Path(path)
    text = file.read_text(encoding="utf-8") if file.exists() else ""
    try:
        declared = tomllib.loads(text).get("tool", {}).get("vae_spec", {}).get("targets", [])
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--write-pyproject: {file} is not valid TOML ({exc}); nothing written") from None
    if any(t.get("target") == target and "name" not in t for t in declared):
        raise UsageError(f"--write-pyproject: {file} already declares {target}; nothing written")
    separator = "" if not text else ("\n" if text.endswith("\n") else "\n\n")
    file.write_text(text + separator + block + "\n", encoding="utf-8")
    return f"wrote the claim of {target} to {file}: `pytest` checks it from now on"


def _cmd_demo(options) -> int:
    from .demo import run_demo

    print("vae-spec demo: each bundled loss diagnosed (nothing declared but its inputs), then its "
          "author's claim checked.\n")
    run_demo(check_examples=not options.no_check, jobs=options.jobs)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="vae-spec", description="Is your VAE loss the ELBO? Check a claim or diagnose a loss.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="{check,diagnose,demo,selftest}")
    check_parser = verbs.add_parser("check", help="verify a declared claim; exit 1 if it departs")
    _add_target_options(check_parser)
    check_parser.add_argument("--batch", default="mean", choices=("mean", "sum", "none"))
    check_parser.add_argument("--kl-batch", choices=("mean", "sum", "none"),
                              help="the KL's batch reduction where it differs from --batch (batch-mismatch)")
    check_parser.add_argument("--latent", default="sum", choices=("sum", "mean"))
    check_parser.add_argument("--data", default="sum", choices=("sum", "mean"))
    check_parser.add_argument("--beta", type=float, default=1.0)
    check_parser.add_argument("--scale", type=float, default=1.0)
    check_parser.add_argument("--no-constants", action="store_true",
                              help="the loss drops the likelihood's normalizing constants")
    check_parser.add_argument("--max-examples", type=int, help="cases per check")
    check_parser.add_argument("--seed", type=int, help="search seed (default 0)")
    check_parser.add_argument("--profile", choices=("vae-dev", "vae-ci", "vae-thorough"))
    check_parser.add_argument("--compile", action="store_true",
                              help="also check the function compiled (torch.compile, tf.function, jax.jit)")
    check_parser.set_defaults(run=_cmd_check)
    diagnose_parser = verbs.add_parser("diagnose", help="infer the loss's convention and departures")
    _add_target_options(diagnose_parser)
    diagnose_parser.add_argument("--seed", type=int, default=0, help="probe seed (default 0)")
    diagnose_parser.add_argument("--probes", action="store_true",
                                 help="with --json, give the counterexamples' probe inputs in full and "
                                      "their repro (default: each input's shape, dtype and range)")
    diagnose_parser.add_argument("--write-pyproject", nargs="?", const="pyproject.toml", metavar="PATH",
                                 help="append the claim to PATH (default ./pyproject.toml) as a "
                                      "[[tool.vae_spec.targets]] table, which the pytest plugin checks")
    diagnose_parser.set_defaults(run=_cmd_diagnose)
    demo_parser = verbs.add_parser("demo", help="diagnose and check the bundled examples")
    demo_parser.add_argument("--no-check", action="store_true", help="diagnose only (faster)")
    demo_parser.add_argument("-j", "--jobs", type=int, default=None,
                             help="worker processes (default: one per CPU core; 1 runs in this process)")
    demo_parser.set_defaults(run=_cmd_demo)
    from .selftest.cli import add_parser as add_selftest_parser

    add_selftest_parser(verbs)
    return parser


def main(argv=None) -> int:
    from .frameworks.base import FrameworkNotInstalled
    from .target import TargetError

    # TensorFlow's C++ info and warning lines (a probe at a rank the loss was not written for
    # logs "OP_REQUIRES failed") are not the command's output; a value the user set is kept
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    try:
        options = parser.parse_args(argv)
    except CommandLineError as exc:
        arguments = sys.argv[1:] if argv is None else list(argv)
        if "--json" in arguments:
            verb = arguments[0] if arguments and arguments[0] in VERBS else None
            _print_json_error(verb, "UsageError", exc.message)
        raise
    if options.verb is None:
        parser.print_help()
        return EXIT_USAGE
    from .quiet import chatter_filtered

    try:
        with chatter_filtered():  # TensorFlow's and XLA's C++ log lines are not the command's output
            return options.run(options)
    except KeyboardInterrupt as exc:  # Ctrl-C: what ran, then exit 130, no traceback
        report = getattr(exc, "report", None)
        if report is not None:
            print(report.to_json() if getattr(options, "json", False) else report.to_text())
        print(f"vae-spec {options.verb}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (UsageError, TargetError, FrameworkNotInstalled, ValueError) as exc:
        print(f"vae-spec {options.verb}: error: {exc}", file=sys.stderr)
        if getattr(options, "json", False):
            _print_json_error(options.verb, _error_type(exc), str(exc))
        return EXIT_USAGE


def _error_type(exc: Exception) -> str:
    """The error's kind in the JSON error document: the first class of main's that it is."""
    from .frameworks.base import FrameworkNotInstalled
    from .target import TargetError

    for kind in (UsageError, TargetError, FrameworkNotInstalled, ValueError):
        if isinstance(exc, kind):
            return kind.__name__
    return type(exc).__name__


def _print_json_error(verb: str | None, error_type: str, message: str) -> None:
    """Under --json an error is a JSON document on stdout too (the text stays on stderr)."""
    from .schema import dumps, error_document

    print(dumps(error_document(verb, error_type, message)))


if __name__ == "__main__":
    sys.exit(main())
