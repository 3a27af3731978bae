"""The ``vae-spec selftest`` verb: mutation score and false-alarm audit of the bundled corpus.

Exit status 0 when every mutant is caught and no correct variant fails, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import sys

from .corpus import FRAMEWORKS


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def add_parser(verbs) -> argparse.ArgumentParser:
    """Add ``selftest`` to the ``vae-spec`` subcommands; its ``run`` returns the exit status."""
    parser = verbs.add_parser(
        "selftest", help="mutation score and false-alarm audit of the bundled corpus",
        description="Run every buggy loss of the corpus (each must be caught with its expected "
                    "finding code) and every correct variant under N seeds (none may fail).",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--seeds", type=_positive, default=1,
                        help="seeds 0..N-1 for the false-alarm audit (default 1)")
    parser.add_argument("--framework", action="append", choices=FRAMEWORKS, dest="frameworks",
                        help="restrict to this framework (repeatable; default all installed)")
    parser.add_argument("--max-examples", type=_positive, help="cases per check (default: the profile's)")
    parser.add_argument("-j", "--jobs", type=_positive, default=os.cpu_count() or 1,
                        help="worker processes (default: one per CPU core)")
    parser.add_argument("--quiet", action="store_true", help="no progress line on the terminal")
    parser.set_defaults(run=run)
    return parser


def progress_line(stream=None):
    """A progress callback that rewrites one line on ``stream`` (stderr) when it is a terminal,
    and None (no progress) when it is not."""
    from ..progress import TerminalLine
    from ..quiet import stderr_is_terminal

    if not (stream.isatty() if stream is not None else stderr_is_terminal()):
        return None
    line = TerminalLine(stream or sys.stderr)

    def progress(done, total, text):
        line.show(f"[{done}/{total}] {text}")
        if done == total:
            line.stream.write("\n")
            line.stream.flush()

    return progress


def run(options) -> int:
    from .runner import run_selftest

    result = run_selftest(seeds=options.seeds, frameworks=options.frameworks,
                          max_examples=options.max_examples, jobs=options.jobs,
                          progress=None if options.quiet else progress_line())
    print(result.to_json() if options.json else result.to_text())
    return 0 if result.passed else 1
