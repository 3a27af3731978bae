"""The conformance checks, one named function per property, in run order.

Each check takes a :class:`~vae_spec.checks._engine.Context` and returns the
:class:`~vae_spec.checks._engine.Property` it searches (or a
:class:`~vae_spec.report.CheckResult` when it cannot run); ``CHECKS`` maps names to their
registrations and :func:`run_checks` searches a set of them together.
"""

from . import output, value, batch, scaling, gradient, mutation, stochastic, sampler  # noqa: F401  (registers)
from ._engine import Context, Property, run
from .registry import CHECKS, CheckSpec
from ..report import CheckResult

__all__ = ["CHECKS", "CheckSpec", "Context", "run_checks"]


def run_checks(ctx: Context, names) -> list[CheckResult]:
    """The results of the named checks for the target's term, in order, searched together.

    A check that does not apply gives a skip with its reason; one that crashes while it is set
    up gives an error, and the others still run.
    """
    planned = []
    for name in names:
        spec = CHECKS[name]
        if ctx.target.term not in spec.terms:
            continue  # a check for another kind of term is not part of this report
        reason = spec.applies(ctx.target, ctx.adapter)
        if reason:
            planned.append(CheckResult(name, "skip", reason))
            continue
        try:
            planned.append(spec.run(ctx))
        except Exception as exc:  # a defect in a check must not hide the other checks
            planned.append(CheckResult(name, "error", f"the check crashed: {type(exc).__name__}: {exc}",
                                       code=spec.code))
    searched = iter(run(ctx, [p for p in planned if isinstance(p, Property)]))
    return [next(searched) if isinstance(p, Property) else p for p in planned]
