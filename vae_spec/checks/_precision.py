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
