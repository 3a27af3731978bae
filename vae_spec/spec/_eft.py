r"""Error-free transformations and double-double arithmetic, element-wise on float64 arrays.

An error-free transformation returns the rounded result r and its rounding error e as a
float64 pair with r + e equal to the exact result. A double-double (hi, lo) is such an
unevaluated sum, holding about 106 bits; its operations below are accurate to a few 2^-106
relative (bounds at each function, checked against exact rationals in tests/spec/test_eft.py).

Conventions (u = 2^-53, round to nearest): two_sum, two_product and dd_sum give an error
part 0 wherever the rounded part is inf or NaN, so a pair's value is the IEEE result there
(a per-example sum may hold log 0 = -inf). fast_two_sum and the double-double operations
built on it expect finite results: the spec applies them to scaled values near 1, and the
guard would nearly double fast_two_sum's cost. Callers hold ``np.errstate(all="ignore")``, as every
public spec function does. No FMA is used: products are split with Veltkamp's constant
(Dekker 1971).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

_SPLITTER = 134217729.0  # 2^27 + 1, Veltkamp's constant for float64


def two_sum(a, b):
    """s + e = a + b exactly, s = fl(a + b), |e| <= ulp(s)/2 (Knuth's TwoSum).

    Any order of magnitudes; exact for every finite a, b with s finite (e = 0 otherwise).
    """
    s = a + b
    b_virtual = s - a
    e = (a - (s - b_virtual)) + (b - b_virtual)
    return s, np.where(np.isfinite(s), e, 0.0)


def fast_two_sum(a, b):
    """s + e = a + b exactly, s = fl(a + b), when |a| >= |b| or a = 0 (Dekker's FastTwoSum).

    Three operations instead of TwoSum's six, and no guard: s must be finite (e is NaN where
    s overflows).
    """
    s = a + b
    return s, b - (s - a)


def _split(m):
    """m = hi + lo exactly, hi holding the upper 26 bits of m's 53 (Veltkamp); |m| < 2^996."""
    t = _SPLITTER * m
    hi = t - (t - m)
    return hi, m - hi


def two_product(a, b):
    """p + e = a b exactly, p = fl(a b), |e| <= ulp(p)/2 (Dekker's product, no FMA).

    The split acts on the mantissas a = m_a 2^E_a, b = m_b 2^E_b (frexp, 1/2 <= |m| < 1), so no
    intermediate overflows however large a and b are: then p = fl(m_a m_b) 2^(E_a + E_b) and
    e = (m_a m_b - fl(m_a m_b)) 2^(E_a + E_b). Exact for finite a, b with p finite and
    |a b| >= 2^-969 (or a b = 0): below, the error's low bits fall under the subnormal grid
    2^-1074 and p may be rounded twice. e = 0 where p is not finite.

    (Splitting a itself, as Dekker does, overflows 134217729 a for |a| >= 2^997 and loses
    the product's low half: a logit of 2^1000 times x - 1/2 needs this.)
    """
    m_a, e_a = np.frexp(a)
    m_b, e_b = np.frexp(b)
    m_p = m_a * m_b
    a_hi, a_lo = _split(m_a)
    b_hi, b_lo = _split(m_b)
    error = ((a_hi * b_hi - m_p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    p = a * b
    return p, np.where(np.isfinite(p), np.ldexp(error, e_a + e_b), 0.0)


def dd_add(a, b):
    """Double-double a + b (Dekker's add2, "sloppy": one TwoSum, the low parts added once).

    For normalized inputs (|lo| <= ulp(hi)/2 <= u |hi|):
    |result - (a + b)| <= (3 + u) u^2 (|a_hi| + |b_hi|),
    so 3 u^2 relative where a and b share a sign; under cancellation the bound is absolute.
    """
    s, e = two_sum(a[0], b[0])
    return fast_two_sum(s, e + (a[1] + b[1]))


def dd_mul(a, b):
    """Double-double a * b (Dekker's mul2): exact a_hi b_hi, the cross terms once, a_lo b_lo
    dropped. For normalized inputs: |result - a b| <= (8 + 8u) u^2 |a_hi b_hi|."""
    p, e = two_product(a[0], b[0])
    return fast_two_sum(p, e + (a[0] * b[1] + a[1] * b[0]))


def dd_div(a, b):
    """Double-double a divided by the float64 b: q = fl(a_hi / b) and the exact remainder
    a_hi - q b (TwoProduct, Sterbenz) give the correction. |result - a / b| <= (4 + 2u) u^2
    |a_hi / b| for a normalized a."""
    q = a[0] / b
    p, e = two_product(q, b)
    return fast_two_sum(q, (((a[0] - p) - e) + a[1]) / b)


def dd_sum(pieces):
    """sum_i p_i as a double-double (hi, lo): a cascade of TwoSums whose errors are added in
    float64 (Ogita, Rump and Oishi's Sum2). hi is Sum2's result, within ulp(hi)/2 +
    gamma_{n-1}^2 sum |p_i| of the exact sum, and hi + lo within gamma_{n-1}^2 sum |p_i|
    (gamma_k = k u / (1 - k u)). The last step is a TwoSum, not a FastTwoSum: under
    cancellation the accumulated error may exceed the rounded total."""
    total, error = pieces[0], 0.0
    for piece in pieces[1:]:
        total, e = two_sum(total, piece)
        error = error + e
    return two_sum(total, error)


def dd_polynomial(x, coefficients, double_terms=None):
    """sum_n c_n x^n by Horner's rule, x and each c_n = (hi, lo) double-doubles.

    The first ``double_terms`` coefficients (all by default) are combined in double-double
    arithmetic; the higher ones in float64 from x_hi and the coefficients' hi parts, which the
    caller uses only where those terms sum to below 2^-53 of the result.
    """
    n = len(coefficients) if double_terms is None else double_terms
    acc = coefficients[-1]
    for c_hi, _ in reversed(coefficients[n:-1]):
        acc = (c_hi + x[0] * acc[0], 0.0)
    for c in reversed(coefficients[:min(n, len(coefficients) - 1)]):
        acc = dd_add(c, dd_mul(x, acc))
    return acc


def float_expansion(value, parts=2):
    """An exact number (int, float, Fraction or Decimal) as ``parts`` float64 p_1 + p_2 + ...,
    each the correctly rounded remainder of those before: |value - sum p_i| <= u |p_parts|,
    about u^parts |value|."""
    rest = Fraction(value)
    expansion = []
    for _ in range(parts):
        expansion.append(float(rest))
        rest -= Fraction(expansion[-1])
    return tuple(expansion)
