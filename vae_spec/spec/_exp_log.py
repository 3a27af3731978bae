"""Exponentials and logarithms as scaled values, to about 2^-100 relative.

e^x, e^x - 1 and e^x - 1 - x reduce x = k ln 2 + r (|r| <= ln2/2, a three-part ln 2) and sum
a Taylor series of e^r in double-double; log v splits v = 2^e m and corrects float64's
log m by one Newton step in double-double, or uses the series of t - log1p(t) near v = 1.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ._constants import LN2
from ._eft import dd_mul, dd_polynomial, float_expansion, two_product
from ._scaled import Scaled, select, square

# |x| beyond which e^x times anything representable is 0 or inf (2600 / ln 2 > 3 * 1075).
_EXP_LIMIT = 2600.0
# Series switch for v - 1 - log v and s^2 - 1 - log s^2: |t| = |v - 1| <= 2^-10.
NEAR_ONE = 2.0**-10

# e^r - 1 - r = r^2 sum_n r^n / (n + 2)!; for |r| <= ln2/2 the terms from n = 21 on are below
# 2^-106 of the sum, and those from n = 13 on below 2^-54, so float64 suffices for them.
_EXP_SERIES = tuple(float_expansion(Fraction(1, math.factorial(n + 2))) for n in range(21))
_EXP_SERIES_DD = 13
# t - log1p(t) = t^2 sum_n (-t)^n / (n + 2); for |t| <= 2^-10: 12 terms reach 2^-110, and the
# terms from n = 6 on are below 2^-60 of the sum.
_LOG1P_SERIES = tuple(float_expansion(Fraction((-1) ** n, n + 2)) for n in range(12))
_LOG1P_SERIES_DD = 6


def _reduce(x_hi, x_lo=0.0):
    """x = k ln 2 + r, integer k, |r| <= ln2/2, r a double-double (x clipped to +-2600)."""
    x_hi = np.clip(x_hi, -_EXP_LIMIT, _EXP_LIMIT)
    k = np.rint(x_hi / LN2[0])
    p_hi, p_lo = two_product(k, LN2[0])  # k has at most 12 bits: both products are exact
    q_hi, q_lo = two_product(k, LN2[1])
    # x_hi - p_hi is exact (Sterbenz: x_hi / p_hi lies in [1/2, 2] when k != 0)
    r = Scaled([x_hi - p_hi, -p_lo, -q_hi, -q_lo, -k * LN2[2], x_lo], 0).double_double()
    return k.astype(np.int32), r


def _expm1_minus_linear(r):
    """e^r - 1 - r = r^2 sum_n r^n / (n + 2)! for a small double-double r."""
    return square(*r) * Scaled(dd_polynomial(r, _EXP_SERIES, _EXP_SERIES_DD), 0)


def _exp_reduced(k, r):
    """e^x = 2^k (1 + r + (e^r - 1 - r))."""
    one_plus_r = Scaled([1.0, r[0], r[1]], 0)
    return (one_plus_r + _expm1_minus_linear(r)).times_power_of_two(k)


def exp(x_hi, x_lo=0.0):
    """e^x for a double-double x."""
    return _exp_reduced(*_reduce(x_hi, x_lo))


def expm1(x_hi, x_lo=0.0):
    """e^x - 1: x + (e^x - 1 - x) when k = 0 (then r = x), 2^k e^r - 1 otherwise."""
    k, r = _reduce(x_hi, x_lo)
    near = Scaled.exact(r[0], r[1]) + _expm1_minus_linear(r)
    far = _exp_reduced(k, r) + Scaled.exact(-1.0)
    return select(k == 0, near, far)


def exp_minus_one_minus(x_hi, x_lo, minus_x):
    """e^x - 1 - x; ``minus_x`` holds -x exactly (its pieces need not be x_hi, x_lo).

    Near 0 (k = 0, so r = x) it is the series; elsewhere the pieces 2^k e^r, -1, -x cancel by
    at most a factor 40 (at |x| = ln2/2), which the double-double pieces absorb.
    """
    k, r = _reduce(x_hi, x_lo)
    near = _expm1_minus_linear(r)
    far = _exp_reduced(k, r) + Scaled.exact(-1.0) + minus_x
    return select(k == 0, near, far)


def log1p_tail(t):
    """(t - log1p(t)) / t^2 = 1/2 - t/3 + t^2/4 - ... for a double-double |t| <= 2^-10."""
    return dd_polynomial(t, _LOG1P_SERIES, _LOG1P_SERIES_DD)


def log(v):
    """log v for v > 0, to 2^-100 relative.

    Near 1: t - t^2 (t - log1p t)/t^2 with t = v - 1 (exact there). Elsewhere e ln 2 + log m
    with m in [sqrt(1/2), sqrt 2) (to 2^-104 absolute, and |log v| > 2^-11):
    log m = y0 + log1p(d), y0 = fl(log m), d = m e^-y0 - 1 = O(2^-53 y0); d^2/2 is dropped.
    """
    t = v - 1.0
    near = Scaled.exact(t) + -(square(t) * Scaled(log1p_tail((t, np.zeros_like(t))), 0))
    mantissa, exponent = np.frexp(v)
    low = mantissa < math.sqrt(0.5)
    m = np.where(low, 2.0 * mantissa, mantissa)
    e = np.where(low, exponent - 1, exponent).astype(np.float64)
    y0 = np.log(m)
    e_minus_y0 = (Scaled([1.0, -y0], 0) + _expm1_minus_linear((-y0, np.zeros_like(y0))))
    product = dd_mul((m, np.zeros_like(m)), e_minus_y0.double_double())
    d = (product[0] - 1.0) + product[1]
    a_hi, a_lo = two_product(e, LN2[0])
    b_hi, b_lo = two_product(e, LN2[1])
    far = Scaled.exact(a_hi, a_lo, b_hi, b_lo, e * LN2[2], y0, d)
    return select(np.abs(t) <= NEAR_ONE, near, far)
