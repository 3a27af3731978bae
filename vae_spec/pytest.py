"""Checks as pytest parameters, scikit-learn style::

    from vae_spec.pytest import parametrize_with_checks, run_check

    @parametrize_with_checks([target], expected_failed_checks={"mypkg:loss": {"dtype": "returns float64"}})
    def test_vae_loss(target, check):
        run_check(target, check)

Each parameter is one applicable check of one target, with the id ``<target name>::<check>``.
The engine runs hypothesis inside the check with its own seed and no example database, so the
test function takes no @given and shares no database key with any other test.

The checks of one target are searched together (one search feeds them all): the first item of
a target runs every check of that target the session selected, and the other items read their
result from that run.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

from .checks import CHECKS
from .engine.call import DEFAULT_TIMEOUT
from .frameworks.base import adapter_for
from .runner import ConformanceError, check as run_checks
from .target import Target


class CheckFailed(ConformanceError):
    """A named check failed. The message leads with the finding (what pytest's one-line
    summary shows), then the engine's report: counterexample, error, bound, margin, repro."""

    def __init__(self, report):
        super().__init__(report)
        result = report.failures[0]
        self.args = (f"{result.name} [{result.code}]: {result.message}\n\n{report.to_text()}",)


class VaeSpecWarning(UserWarning):
    """A check of warning severity (dtype, precision, non-finite outside the typical regime) failed."""


#: the checks the session selected per target: id -> (target, checks), recorded by the plugin
#: after -k and -m (the target kept, so that a reused id is not mistaken for it)
SELECTED: dict[int, tuple[Target, tuple[str, ...]]] = {}
#: the reports of runs so far: (target, checks, settings) -> Report, the target kept alive
_RUNS: dict[tuple, tuple[Target, object]] = {}
#: where ``--vae-html`` writes one page per failing target (set by the plugin), and the
#: (folder, target name) pairs already written
HTML_DIR: Path | None = None
_PAGES: set[tuple[str, str]] = set()


def run_check(target: Target, check: str, *, max_examples: int | None = None,
              seed: int | None = None, profile: str | None = None, compile: bool = False,
              layout=None, together: tuple[str, ...] | None = None,
              timeout: float | None = DEFAULT_TIMEOUT):
    """Run the check named ``check`` on ``target`` (and on its compiled form, with
    ``compile`` or a profile that compiles) and return the report.

    ``together`` names the checks of the same target to search in the same run (the session's
    selection, by default); their results are kept for their own calls. ``timeout`` limits
    each call of the function (seconds; a call past it is a ``timeout`` failure).

    Raises CheckFailed (a ConformanceError, so an AssertionError, whose message is the
    finding and the report: counterexample, error, bound, margin and repro) when it fails;
    issues a VaeSpecWarning when a warning-severity result fails; skips when no result ran.
    """
    __tracebackhide__ = True
    if together is None:
        recorded, selected = SELECTED.get(id(target), (None, ()))
        together = selected if recorded is target else ()
    together = tuple(dict.fromkeys((check, *together)))
    report = _shared_run(target, together, dict(max_examples=max_examples, seed=seed, profile=profile,
                                                compile=compile, layout=layout, timeout=timeout))
    report = _only(report, check)
    if not report.passed:
        raise CheckFailed(report)
    if all(result.status == "skip" for result in report.checks):
        pytest.skip("; ".join(f"{result.name}: {result.message}" for result in report.checks))
    if any(result.status in ("fail", "error") for result in report.checks):
        warnings.warn(VaeSpecWarning(report.to_text()), stacklevel=2)
    return report


def _shared_run(target: Target, checks: tuple[str, ...], settings: dict):
    """The report of ``checks`` on ``target``, run once per target, checks and settings."""
    key = (id(target), tuple(sorted(checks)), tuple((k, id(v) if k == "layout" else v)
                                                    for k, v in settings.items()))
    if key not in _RUNS or _RUNS[key][0] is not target:
        _RUNS[key] = (target, run_checks(target, checks=checks, raise_on_failure=False, **settings))
        _write_page(target, _RUNS[key][1])
    return _RUNS[key][1]


def _write_page(target: Target, report) -> None:
    """The failing target's HTML page under HTML_DIR (``--vae-html``), once per target."""
    if HTML_DIR is None or report.passed or (str(HTML_DIR), target.name) in _PAGES:
        return
    _PAGES.add((str(HTML_DIR), target.name))
    from .html_report import check_page, page_name, write_page

    try:
        write_page(HTML_DIR / page_name(target.name), check_page(report, target))
    except OSError as exc:
        warnings.warn(VaeSpecWarning(f"--vae-html: no page for {target.name}: {exc}"), stacklevel=2)


def _only(report, check: str):
    """The report restricted to one check's results (and the run's notes on dtypes)."""
    own = [r for r in report.checks if r.name in (check, f"{check}[compiled]", "dtype_support")]
    failed = any(r.failed for r in own)
    return dataclasses.replace(report, checks=own, findings=report.findings if failed else [])


def parametrize_with_checks(
    targets: Iterable[Target],
    expected_failed_checks: (
        Mapping[str, Mapping[str, str]] | Callable[[Target], Mapping[str, str]] | None
    ) = None,
):
    """``pytest.mark.parametrize("target, check", ...)`` over every applicable check of every target.

    ``expected_failed_checks`` maps a target's name to {check name: reason}, or is a callable
    that gives that mapping for a target; those checks are marked xfail (strict: a check that
    starts to pass fails the run, so the list stays true). Naming a check that does not exist
    or does not apply to the target is a ValueError.
    """
    params = []
    for target in targets:
        if not isinstance(target, Target):
            raise TypeError(
                f"parametrize_with_checks: expected vae_spec.Target objects, got {type(target).__name__}"
            )
        adapter = adapter_for(target)
        applicable = [name for name, spec in CHECKS.items() if not spec.applies(target, adapter)]
        expected = _expected_failures(target, expected_failed_checks)
        for name, reason in expected.items():
            if name not in CHECKS:
                raise ValueError(f"expected_failed_checks: unknown check {name!r} for {target.name}; "
                                 f"expected any of {', '.join(CHECKS)}")
            if name not in applicable:
                why = CHECKS[name].applies(target, adapter)
                raise ValueError(f"expected_failed_checks: check {name!r} does not apply to "
                                 f"{target.name}: {why}")
        for name in applicable:
            marks = ([pytest.mark.xfail(reason=expected[name], strict=True, raises=CheckFailed)]
                     if name in expected else [])
            params.append(pytest.param(target, name, id=f"{target.name}::{name}", marks=marks))
    return pytest.mark.parametrize(("target", "check"), params)


def _expected_failures(target: Target, expected_failed_checks) -> Mapping[str, str]:
    if expected_failed_checks is None:
        return {}
    if callable(expected_failed_checks):
        return expected_failed_checks(target) or {}
    return expected_failed_checks.get(target.name, {})
