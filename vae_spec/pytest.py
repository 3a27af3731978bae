"""Checks as pytest parameters, scikit-learn style::

    from vae_spec.pytest import parametrize_with_checks, run_check

    @parametrize_with_checks([target], expected_failed_checks={"mypkg:loss": {"dtype": "returns float64"}})
    def test_vae_loss(target, check):
        run_check(target, check)

Each parameter is one applicable check of one target, with the id ``<target name>::<check>``.
The engine runs hypothesis inside the check with its own seed and no example database, so the
test function takes no @given and shares no database key with any other test.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping

import pytest

from .checks import CHECKS
from .frameworks.base import get_adapter
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


def run_check(target: Target, check: str, *, max_examples: int | None = None,
              seed: int | None = None, profile: str | None = None, compile: bool = False,
              layout=None):
    """Run the check named ``check`` on ``target`` (and on its compiled form, with
    ``compile`` or a profile that compiles) and return the report.

    Raises CheckFailed (a ConformanceError, so an AssertionError, whose message is the
    finding and the report: counterexample, error, bound, margin and repro) when it fails;
    issues a VaeSpecWarning when a warning-severity result fails; skips when no result ran.
    """
    __tracebackhide__ = True
    report = run_checks(target, checks=(check,), max_examples=max_examples, seed=seed,
                        profile=profile, compile=compile, raise_on_failure=False, layout=layout)
    if not report.passed:
        raise CheckFailed(report)
    if all(result.status == "skip" for result in report.checks):
        pytest.skip("; ".join(f"{result.name}: {result.message}" for result in report.checks))
    if any(result.status in ("fail", "error") for result in report.checks):
        warnings.warn(VaeSpecWarning(report.to_text()), stacklevel=2)
    return report


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
        adapter = get_adapter(target.framework)
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
