"""Distance in units in the last place between a float64 and a high-precision value."""

from __future__ import annotations

import math

import mpmath

mpmath.mp.prec = 200  # the oracle's working precision: 200 bits


def ulp_error(computed: float, exact) -> float:
    """|computed - exact| in ulps of ``exact`` rounded to float64.

    Both infinite with the same sign, or both NaN, is 0 ulp; any other non-finite
    disagreement is infinite. The ulp is that of the correctly rounded exact value, so a
    correctly rounded result scores <= 0.5.
    """
    exact = mpmath.mpf(exact)
    if math.isnan(computed) or mpmath.isnan(exact):
        return 0.0 if (math.isnan(computed) and mpmath.isnan(exact)) else math.inf
    if math.isinf(computed) or mpmath.isinf(exact):
        return 0.0 if computed == float(exact) else math.inf
    rounded = float(exact)
    if math.isinf(rounded):
        return math.inf
    ulp = math.ulp(rounded) if rounded != 0.0 else math.ulp(0.0)
    return float(abs(mpmath.mpf(computed) - exact) / ulp)
