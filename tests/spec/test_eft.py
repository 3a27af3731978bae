"""Meta-test of the spec's exact arithmetic (vae_spec/spec/_eft.py) against exact rationals.

``fractions.Fraction`` holds every float64 exactly and adds and multiplies without rounding,
so it is an oracle independent of the code under test. Checked:

- two_sum / fast_two_sum: s + e = a + b exactly, s = fl(a + b), for every finite a, b with a
  finite sum (fast_two_sum: |a| >= |b|); e = 0 where the sum overflows.
- two_product: p + e = a b exactly, p = fl(a b), for finite a, b with p finite and
  |a b| >= 2^-969 (or a b = 0); below that, p + e within 2^-1075 of a b; e = 0 on overflow.
- dd_add, dd_mul, dd_div, dd_sum, dd_polynomial: within the error bounds their docstrings
  state, each derived in a comment at its test; float_expansion: within u |last part|.

The double-double tests keep every hi part within [2^-300, 2^300] in magnitude (or 0), so
nothing overflows and an underflowed low-order product (at most 2^-1075 off) stays far below
every bound (>= 2^-106 * 2^-600). Deterministic: derandomized, like the project's vae-ci
hypothesis profile.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from vae_spec.spec._eft import (
    dd_add,
    dd_div,
    dd_mul,
    dd_polynomial,
    dd_sum,
    fast_two_sum,
    float_expansion,
    two_product,
    two_sum,
)

U = Fraction(1, 2**53)  # unit roundoff of float64
MAX = float(np.finfo(np.float64).max)
TINY = 2.0**-1074  # the smallest subnormal

deterministic = settings(derandomize=True, deadline=None, database=None, max_examples=400)

FINITE = st.floats(allow_nan=False, allow_infinity=False)


def exact(value) -> Fraction:
    return Fraction(float(value))


def pair_value(pair) -> Fraction:
    return exact(pair[0]) + exact(pair[1])


def call(function, *args):
    with np.errstate(all="ignore"):
        return function(*(np.float64(a) if isinstance(a, float) else a for a in args))


def is_normalized(pair) -> bool:
    """hi = fl(hi + lo), i.e. |lo| <= ulp(hi)/2."""
    hi, lo = float(pair[0]), float(pair[1])
    return hi + lo == hi


# --- two_sum, fast_two_sum ----------------------------------------------------------------------


@deterministic
@given(FINITE, FINITE)
@example(MAX, -MAX)
@example(MAX, MAX)  # overflows: e must be 0
@example(MAX, math.ulp(MAX) / 2)  # a tie, rounded to even
@example(1.0, 2.0**-53)
@example(TINY, -TINY)
@example(1e308, -1e308 * (1 - 2.0**-52))
def test_two_sum_is_exact(a, b):
    s, e = call(two_sum, a, b)
    with np.errstate(over="ignore"):
        assert float(s) == float(np.float64(a) + np.float64(b))
    if not math.isfinite(float(s)):
        assert float(e) == 0.0
        return
    assert exact(s) + exact(e) == exact(a) + exact(b)
    assert is_normalized((s, e))


@deterministic
@given(FINITE, FINITE)
@example(1.0, 2.0**-53)
@example(0.0, 3.0)
def test_fast_two_sum_is_exact_when_a_dominates(a, b):
    assume(abs(a) >= abs(b) or a == 0.0)
    assume(math.isfinite(a + b))
    s, e = call(fast_two_sum, a, b)
    assert float(s) == a + b
    assert exact(s) + exact(e) == exact(a) + exact(b)


# --- two_product ----------------------------------------------------------------------------------


@deterministic
@given(FINITE, FINITE)
@example(1.2345678901234567 * 2.0**1000, 0.3)  # 134217729 a overflows: split as a mantissa
@example(MAX, 0.5)
@example(MAX, -MAX)  # overflows: e must be 0
@example(TINY, 2.0**100)  # a subnormal operand, the product normal
@example(1e-300, 1e-300)  # the product underflows to 0
@example(2.0**-500, 1.5 * 2.0**-469)  # |a b| just above 2^-969
@example(3.0 * 2.0**-520, 5.0 * 2.0**-520)  # |a b| subnormal
def test_two_product_is_exact_in_its_domain(a, b):
    # Dekker's product (on mantissas) is exact when the error's lowest bit, at
    # ulp(a b) 2^-53 >= 2^(E_a + E_b - 104), lies on the float64 grid: E_a + E_b >= -970, which
    # |a b| >= 2^-969 ensures. Below, p = fl(a b) (error <= 2^-1075) and e rounds to the
    # subnormal grid (or to 0 where a b is subnormal), so p + e is within 2^-1075.
    p, e = call(two_product, a, b)
    with np.errstate(over="ignore", under="ignore"):
        assert float(p) == float(np.float64(a) * np.float64(b))
    if not math.isfinite(float(p)):
        assert float(e) == 0.0
        return
    product = exact(a) * exact(b)
    if product == 0 or abs(product) >= Fraction(2) ** -969:
        assert exact(p) + exact(e) == product
        assert is_normalized((p, e))
    else:
        assert abs(exact(p) + exact(e) - product) <= Fraction(2) ** -1075


# --- double-double arithmetic ----------------------------------------------------------------------

MANTISSAS = st.floats(1.0, 2.0, exclude_max=True)


@st.composite
def his(draw):
    """A float64 in +-[2^-300, 2^300), or 0."""
    if draw(st.integers(0, 19)) == 0:
        return 0.0
    sign = draw(st.sampled_from([-1.0, 1.0]))
    return sign * math.ldexp(draw(MANTISSAS), draw(st.integers(-300, 299)))


@st.composite
def double_doubles(draw, hi=None):
    """A normalized double-double (hi, lo): |lo| <= ulp(hi)/2, so |lo| <= u |hi|."""
    hi = draw(his()) if hi is None else hi
    if hi == 0.0:
        return (0.0, 0.0)
    return (hi, draw(st.floats(-1.0, 1.0)) * (math.ulp(hi) / 2))


@st.composite
def near_negatives(draw, a):
    """-a moved by a few ulps (or exactly -a): for cancellation in a + b."""
    hi = a[0]
    if hi == 0.0:
        return draw(double_doubles())
    b_hi = -(hi + draw(st.integers(-4, 4)) * math.ulp(hi))
    return draw(double_doubles(hi=b_hi))


@st.composite
def addends(draw):
    a = draw(double_doubles())
    b = draw(st.one_of(double_doubles(), near_negatives(a)))
    return a, b


@deterministic
@given(addends())
def test_dd_add_error_bound(operands):
    # s + e = a_hi + b_hi exactly (TwoSum), |e| <= u |a_hi + b_hi|; t = fl(a_lo + b_lo) =
    # (a_lo + b_lo)(1 + d1); v = fl(e + t) = (e + t)(1 + d2); FastTwoSum(s, v) is exact, so
    #   result - (a + b) = d1 (a_lo + b_lo) + d2 (e + t),
    # with |a_lo + b_lo| <= u S, S = |a_hi| + |b_hi|, and |e + t| <= u S + (1 + u) u S:
    #   |error| <= u^2 S + u (2 + u) u S = (3 + u) u^2 S.
    a, b = operands
    result = call(dd_add, a, b)
    bound = (3 + U) * U**2 * (abs(exact(a[0])) + abs(exact(b[0])))
    assert abs(pair_value(result) - (pair_value(a) + pair_value(b))) <= bound
    assert is_normalized(result)


@deterministic
@given(double_doubles(), double_doubles())
def test_dd_mul_error_bound(a, b):
    # p + e = a_hi b_hi exactly, |e| <= u |a_hi b_hi| =: u P; c = fl(fl(a_hi b_lo) + fl(a_lo b_hi))
    # is within (2u + u^2)(|a_hi b_lo| + |a_lo b_hi|) <= (4 + 2u) u^2 P of the cross terms and
    # |c| <= 2u (1 + u)^2 P; v = fl(e + c) adds u (|e| + |c|) <= (3 + 4u + 2u^2) u^2 P; the
    # dropped a_lo b_lo is <= u^2 P; FastTwoSum(p, v) is exact. In all:
    #   |error| <= (8 + 6u + 2u^2) u^2 P <= (8 + 8u) u^2 |a_hi b_hi|.
    result = call(dd_mul, a, b)
    bound = (8 + 8 * U) * U**2 * abs(exact(a[0]) * exact(b[0]))
    assert abs(pair_value(result) - pair_value(a) * pair_value(b)) <= bound
    assert is_normalized(result)


@deterministic
@given(double_doubles(), his().filter(lambda b: b != 0.0))
def test_dd_div_error_bound(a, b):
    # q = fl(a_hi / b); r = a_hi - q b is a float64 and is computed exactly ((a_hi - p) is
    # exact by Sterbenz, p + e = q b by TwoProduct); |r| <= u |a_hi| and |a_lo| <= u |a_hi|.
    # (a_hi + a_lo)/b = q + (r + a_lo)/b, and fl(fl(r + a_lo)/b) errs by at most
    # (2u + u^2) |r + a_lo| / |b| <= (4 + 2u) u^2 |a_hi / b|; FastTwoSum(q, .) is exact.
    result = call(dd_div, a, b)
    bound = (4 + 2 * U) * U**2 * abs(exact(a[0]) / exact(b))
    assert abs(pair_value(result) - pair_value(a) / exact(b)) <= bound
    assert is_normalized(result)


@st.composite
def piece_lists(draw):
    """1 to 12 pieces, some cancelling others exactly or nearly."""
    base = draw(st.lists(his(), min_size=1, max_size=8))
    negated = [-x * draw(st.sampled_from([1.0, 1.0 + 2.0**-52, 1.0 - 2.0**-53]))
               for x in draw(st.lists(st.sampled_from(base), max_size=4))]
    return draw(st.permutations(base + negated))


def gamma(k: int) -> Fraction:
    return k * U / (1 - k * U)


@deterministic
@given(piece_lists())
def test_dd_sum_error_bound(pieces):
    # Ogita, Rump and Oishi (2005), Sum2: the TwoSums are exact, so sum p_i = total + sum q_i,
    # with sum |q_i| <= gamma_{n-1} sum |p_i|; the q_i are added in float64 with error
    # <= gamma_{n-2} sum |q_i|; the last TwoSum is exact. So
    #   |hi + lo - sum p_i| <= gamma_{n-2} gamma_{n-1} sum |p_i| <= gamma_{n-1}^2 sum |p_i|.
    result = call(dd_sum, [np.float64(p) for p in pieces])
    n = len(pieces)
    bound = gamma(n - 1) ** 2 * sum(abs(exact(p)) for p in pieces)
    assert abs(pair_value(result) - sum(exact(p) for p in pieces)) <= bound
    assert is_normalized(result)


@st.composite
def positive_series(draw):
    coefficients = [float_expansion(Fraction(1, k))
                    for k in draw(st.lists(st.integers(1, 10**6), min_size=1, max_size=30))]
    x_hi = math.ldexp(draw(MANTISSAS), draw(st.integers(-300, -2)))  # in (0, 1/2)
    return coefficients, draw(double_doubles(hi=x_hi))


@deterministic
@given(positive_series())
def test_dd_polynomial_error_bound_for_positive_terms(case):
    # Horner with x >= 0 and c_n >= 0: every step acc <- c + x acc adds non-negative values,
    # so relative errors add: dd_mul contributes (8 + 8u) u^2 of |x_hi acc_hi| <= (1 + 3u) x acc
    # and dd_add (3 + u) u^2 of c_hi + m_hi <= (1 + 2u)(c + m); with the starting coefficient
    # exact, n coefficients give a relative error <= (n - 1)(11 + 100u) u^2 (1 + O(n u^2)),
    # below 12 (n - 1) u^2.
    coefficients, x = case
    result = call(dd_polynomial, (np.float64(x[0]), np.float64(x[1])), coefficients)
    x_exact = pair_value(x)
    value = sum(pair_value(c) * x_exact**n for n, c in enumerate(coefficients))
    bound = 12 * (len(coefficients) - 1) * U**2 * value
    assert abs(pair_value(result) - value) <= bound


@deterministic
@given(st.integers(1, 2**400), st.integers(1, 2**400), st.integers(1, 4))
def test_float_expansion_error_bound(numerator, denominator, parts):
    # Each part is the correctly rounded remainder, so the last remainder is <= ulp(p_last)/2
    # <= u |p_last|.
    value = Fraction(numerator, denominator)
    assume(Fraction(2) ** -200 <= value <= Fraction(2) ** 200)
    expansion = float_expansion(value, parts)
    assert len(expansion) == parts
    rest = value - sum(Fraction(p) for p in expansion)
    assert abs(rest) <= U * abs(Fraction(expansion[-1]))
