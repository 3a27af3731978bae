"""The ``vae-spec selftest`` verb: mutation score and false-alarm audit of the bundled corpus.

Exit status 0 when every mutant is caught and no correct variant fails, 1 otherwise.
"""

from __future__ import annotations

import argparse
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
    parser.set_defaults(run=run)
    return parser


def run(options) -> int:
    from .runner import run_selftest

    def progress(line):
        print(line, file=sys.stderr, flush=True)

    result = run_selftest(seeds=options.seeds, frameworks=options.frameworks,
                          max_examples=options.max_examples, progress=None if options.json else progress)
    print(result.to_json() if options.json else result.to_text())
    return 0 if result.passed else 1
