"""Judging a result that misses its bound: a wrong formula, or the rounding of a correct one.

See "Composite forms and low precision" in :mod:`vae_spec.tolerance` for the derivation. A
float64 result within the float32 bound is a ``precision`` warning (part of it is computed in
float32). A low-precision result is compared with the function's own float64 result, once that
result is shown right: within ``COMPOSITE_CHAIN`` times the bound it passes, beyond it is a
``precision`` warning; without a float64 result it is compared with the spec under the same
allowance, and beyond it is an error.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .. import tolerance
from ..tolerance import Comparison

PASS, PRECISION, ERROR = "pass", "precision", "error"


def judge(ctx, dtype: str, got, want, magnitude, n_summands: int,
          own_float64: Callable[[], np.ndarray | None] | None = None) -> tuple[str, Comparison]:
    """(verdict, comparison with the spec in ``dtype``) for a result ``got`` of the target.

    ``own_float64`` gives the target's own float64 result on the same inputs (None where it
    has none); it is called only when a low-precision result misses its bound.
    """
    ulps = ctx.adapter.elementary_ulps
    comparison = tolerance.compare(got, want, magnitude, dtype, n_summands, ulps(dtype))
    if comparison.passed:
        return PASS, comparison
    lower = tolerance.NEXT_PRECISION.get(dtype)
    if lower is not None:
        loose = tolerance.compare(got, want, magnitude, lower, n_summands, ulps(lower))
        return (PRECISION if loose.passed else ERROR), comparison
    chained = np.abs(np.asarray(magnitude, dtype=np.float64)) * tolerance.COMPOSITE_CHAIN
    own = own_float64() if own_float64 is not None else None
    if own is None:
        within = tolerance.compare(got, want, chained, dtype, n_summands, ulps(dtype)).passed
        return (PASS if within else ERROR), comparison
    own_verdict, _ = judge(ctx, "float64", own, want, magnitude, n_summands)
    if own_verdict == ERROR:
        return ERROR, comparison
    rounding = tolerance.compare(got, own, chained, dtype, n_summands, ulps(dtype))
    return (PASS if rounding.passed else PRECISION), comparison


def precision_message(what: str, dtype: str, comparison: Comparison) -> str:
    if dtype == "float64":
        return (f"{what} agrees with the spec to float32 accuracy only: error {comparison.error:.3g} "
                f"above the float64 bound {comparison.bound:.3g} (a float32 constant or intermediate?)")
    return (f"{what} in {dtype} rounds more than the derived bound allows (error {comparison.error:.3g}, "
            f"bound {comparison.bound:.3g}) while the function's float64 result is right: the "
            f"expression loses precision in {dtype}")


def rejudge_relation(ctx, dtype: str, relation: Callable[[str], object]):
    """``relation(dtype)`` (None, SKIP or a Failure), a failure re-judged for rounding.

    The batch and scaling checks compare outputs of the function with each other under the sum
    of their bounds. A low-precision failure is evaluated again in float64 on the same inputs:
    where the float64 relation errs by more than the low-precision bound, the relation is broken
    (the failure stands); otherwise the excess is the expression's rounding, which passes within
    ``COMPOSITE_CHAIN`` times the bound and is a ``precision`` warning beyond. A float64 failure
    within the float32 bound is a ``precision`` warning (part of the function computes in
    float32).
    """
    from ._engine import SKIP, Failure  # the engine imports this module

    failure = relation(dtype)
    if not isinstance(failure, Failure) or failure.bound is None or failure.severity != "error":
        return failure
    lower = tolerance.NEXT_PRECISION.get(dtype)
    if lower is not None:
        if failure.error > failure.bound * tolerance.UNIT_ROUNDOFF[lower] / tolerance.UNIT_ROUNDOFF[dtype]:
            return failure
    else:
        if "float64" not in ctx.dtypes:
            return None if failure.margin <= tolerance.COMPOSITE_CHAIN else failure
        again = relation("float64")
        if again is SKIP:
            return failure
        if isinstance(again, Failure) and (again.error is None or again.error > failure.bound):
            return failure
        if failure.margin <= tolerance.COMPOSITE_CHAIN:
            return None
    return Failure(
        f"{failure.message}; in float64 the relation holds, so this is the expression's rounding "
        f"in {dtype} (error {failure.error:.3g}, bound {failure.bound:.3g})" if lower is None else
        f"{failure.message}; within the float32 bound (a float32 constant or intermediate?)",
        error=failure.error, bound=failure.bound, margin=failure.margin, output=failure.output,
        expected=failure.expected, code="precision", severity="warning")
