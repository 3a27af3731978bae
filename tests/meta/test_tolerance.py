"""The error bound kappa u M + kappa n tiny and the element-wise comparison built on it.

Every constant here is checked against an independent source: numpy's finfo for the IEEE
formats, the bfloat16 format's definition (8 significant bits, float32's exponent range), and
the module's own derivation kappa = 2 (c_f + c_r) + 4 ceil(log2 n).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_spec import tolerance

IEEE = {"float16": np.float16, "float32": np.float32, "float64": np.float64}


# -- the dtype constants ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", sorted(IEEE))
def test_unit_roundoff_is_half_the_machine_epsilon(dtype):
    assert tolerance.UNIT_ROUNDOFF[dtype] == float(np.finfo(IEEE[dtype]).eps) / 2


def test_bfloat16_constants_follow_its_format():
    # 8 significant bits (7 stored) and float32's exponent range
    assert tolerance.UNIT_ROUNDOFF["bfloat16"] == 2.0**-8
    assert tolerance.LARGEST["bfloat16"] == (2 - 2.0**-7) * 2.0**127
    assert tolerance.UNDERFLOW["bfloat16"] == float(np.finfo(np.float32).tiny)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_underflow_is_the_smallest_normal_where_subnormals_may_be_flushed(dtype):
    assert tolerance.UNDERFLOW[dtype] == float(np.finfo(IEEE[dtype]).smallest_normal)


def test_float16_underflow_is_its_smallest_subnormal():
    assert tolerance.UNDERFLOW["float16"] == float(np.finfo(np.float16).smallest_subnormal)


@pytest.mark.parametrize("dtype", sorted(IEEE))
def test_largest_is_the_largest_finite_value(dtype):
    assert tolerance.LARGEST[dtype] == float(np.finfo(IEEE[dtype]).max)


# -- kappa -----------------------------------------------------------------------------------
def test_kappa_of_one_summand_is_twice_the_per_element_and_final_operations():
    element_ops = 2 * tolerance.ELEMENTARY_ULPS + tolerance.ARITHMETIC_OPS
    assert tolerance.kappa(1) == 2 * (element_ops + tolerance.FINAL_OPS) == 32


@pytest.mark.parametrize("ulps", [4, 16, 128])
def test_kappa_grows_by_four_per_ulp_of_the_elementary_functions(ulps):
    # c_f = 2 e + 4 enters kappa twice: each ulp of e adds 4
    assert tolerance.kappa(1, ulps) - tolerance.kappa(1, ulps - 1) == 4


@pytest.mark.parametrize("exponent", range(1, 30))
def test_kappa_grows_by_four_per_doubling_of_the_summands(exponent):
    n = 2**exponent
    assert tolerance.kappa(n) - tolerance.kappa(n // 2) == 4


@pytest.mark.parametrize("n", [3, 5, 100, 1000, 10**6 + 1])
def test_kappa_rounds_log2_up(n):
    # ceil(log2 n): between two powers of two kappa takes the upper one's value
    assert tolerance.kappa(n) == tolerance.kappa(2 ** math.ceil(math.log2(n)))


@given(st.integers(1, 10**9), st.integers(1, 10**9))
@settings(max_examples=50)
def test_kappa_is_non_decreasing(a, b):
    low, high = sorted((a, b))
    assert tolerance.kappa(low) <= tolerance.kappa(high)


@pytest.mark.parametrize("n", [0, -3])
def test_kappa_treats_no_summands_as_one(n):
    assert tolerance.kappa(n) == tolerance.kappa(1)


# -- bound -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", sorted(tolerance.UNIT_ROUNDOFF))
@pytest.mark.parametrize("n", [1, 7, 4096])
def test_bound_is_kappa_u_m_plus_the_underflow_term(dtype, n):
    magnitude = np.array([0.0, 1.0, 3.5, 1e6])
    k = tolerance.kappa(n)
    want = k * tolerance.UNIT_ROUNDOFF[dtype] * magnitude + k * n * tolerance.UNDERFLOW[dtype]
    np.testing.assert_array_equal(tolerance.bound(magnitude, dtype, n), want)


@pytest.mark.parametrize("dtype", sorted(tolerance.UNIT_ROUNDOFF))
def test_bound_is_linear_in_the_magnitude(dtype):
    # the underflow term cancels in the difference; doubling M doubles the rest
    n = 64
    floor = tolerance.bound(0.0, dtype, n)
    at_one = tolerance.bound(1.0, dtype, n) - floor
    assert tolerance.bound(2.0, dtype, n) - floor == pytest.approx(2 * at_one, rel=1e-12)
    assert tolerance.bound(-1.0, dtype, n) == tolerance.bound(1.0, dtype, n)  # |M|


@pytest.mark.parametrize(("narrow", "wide"), [("float32", "float64"), ("float16", "float32"),
                                              ("bfloat16", "float32")])
def test_bound_scales_with_the_unit_roundoff(narrow, wide):
    magnitude, n = 10.0, 16

    def scaled(dtype):  # the bound less its underflow term
        return tolerance.bound(magnitude, dtype, n) - tolerance.bound(0.0, dtype, n)

    ratio = scaled(narrow) / scaled(wide)
    expected = tolerance.UNIT_ROUNDOFF[narrow] / tolerance.UNIT_ROUNDOFF[wide]
    assert ratio == pytest.approx(expected, rel=1e-9)


def test_bound_keeps_the_shape_of_the_magnitude():
    assert tolerance.bound(np.ones((2, 3)), "float32", 4).shape == (2, 3)
    assert np.ndim(tolerance.bound(1.0, "float32", 4)) == 0


def test_bound_covers_a_pairwise_float32_sum():
    """numpy's float32 sum of n terms errs by at most ceil(log2 n) u sum|t| (pairwise), within
    the bound for M = sum|t|; measured on 2^16 terms of mixed sign against math.fsum."""
    rng = np.random.default_rng(7)
    terms = rng.standard_normal(2**16).astype(np.float32)
    exact = math.fsum(terms.astype(np.float64))
    computed = float(np.sum(terms))
    magnitude = float(np.sum(np.abs(terms.astype(np.float64))))
    assert abs(computed - exact) <= tolerance.bound(magnitude, "float32", terms.size)


# -- representable ---------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", sorted(IEEE))
def test_representable_accepts_the_largest_value_less_one_rounding(dtype):
    largest = tolerance.LARGEST[dtype]
    below = largest * (1 - tolerance.UNIT_ROUNDOFF[dtype])
    assert tolerance.representable(below, dtype)
    assert not tolerance.representable(largest * (1 + 2 * tolerance.UNIT_ROUNDOFF[dtype]), dtype)


def test_representable_rejects_non_finite_values():
    result = tolerance.representable(np.array([np.inf, -np.inf, np.nan, 1.0]), "float64")
    np.testing.assert_array_equal(result, [False, False, False, True])


def test_representable_knows_float16_overflows_where_float32_does_not():
    assert tolerance.representable(1e5, "float32")
    assert not tolerance.representable(1e5, "float16")


# -- compare ---------------------------------------------------------------------------------
def test_compare_reports_the_element_with_the_largest_margin_not_the_largest_error():
    # element 0 has the larger error but a 100 times larger magnitude, so the smaller margin
    expected = np.zeros((2, 2))
    magnitude = np.array([[100.0, 1.0], [1.0, 1.0]])
    unit = tolerance.bound(1.0, "float64", 8)  # the bound at magnitude 1
    actual = np.array([[50.0, 2.0], [0.5, 0.0]]) * unit
    comparison = tolerance.compare(actual, expected, magnitude, "float64", 8)
    assert comparison.index == (0, 1)
    assert comparison.error == actual[0, 1]
    assert comparison.bound == unit
    assert comparison.margin == pytest.approx(2.0)
    assert not comparison.passed


def test_compare_margin_is_error_over_bound_and_passes_at_most_one():
    limit = float(tolerance.bound(3.0, "float32", 10))
    comparison = tolerance.compare([1.0 + limit], [1.0], [3.0], "float32", 10)
    assert comparison.margin == pytest.approx(comparison.error / comparison.bound)
    assert comparison.margin == pytest.approx(1.0, rel=1e-6)
    inside = tolerance.compare([1.0 + 0.5 * limit], [1.0], [3.0], "float32", 10)
    assert inside.passed and 0.0 < inside.margin < 1.0


def test_compare_of_scalars_has_no_index():
    comparison = tolerance.compare(2.0, 2.0, 2.0, "float64", 1)
    assert comparison.index is None
    assert comparison.error == 0.0 and comparison.margin == 0.0 and comparison.passed


def test_compare_of_empty_arrays_passes():
    comparison = tolerance.compare(np.zeros(0), np.zeros(0), np.zeros(0), "float64", 1)
    assert comparison.passed and comparison.margin == 0.0


@pytest.mark.parametrize("actual", [np.nan, np.inf, -np.inf])
def test_compare_counts_a_non_finite_output_as_an_infinite_margin(actual):
    comparison = tolerance.compare([actual, 1.0], [1.0, 1.0], [1.0, 1.0], "float32", 2)
    assert comparison.margin == np.inf
    assert comparison.index == (0,)
    assert not comparison.passed


@pytest.mark.parametrize("infinity", [np.inf, -np.inf])
def test_compare_accepts_the_same_infinity(infinity):
    comparison = tolerance.compare([infinity], [infinity], [1.0], "float32", 1)
    assert comparison.error == 0.0 and comparison.passed


def test_compare_rejects_the_opposite_infinity():
    comparison = tolerance.compare([-np.inf], [np.inf], [1.0], "float32", 1)
    assert comparison.margin == np.inf and not comparison.passed


def test_compare_accepts_an_exact_zero_with_zero_magnitude():
    # bound > 0 always (the underflow term), and error 0 is margin 0, never 0 / 0
    comparison = tolerance.compare([0.0], [0.0], [0.0], "float64", 1)
    assert comparison.margin == 0.0 and comparison.passed


# -- why tiny is the smallest normal: frameworks flush subnormals ----------------------------
@pytest.mark.framework("tensorflow")
def test_tensorflow_flushes_float32_subnormals_within_the_underflow_term():
    """TensorFlow's CPU kernels run with flush-to-zero: half the smallest normal float32
    comes out 0, an error of 2^-127, within one UNDERFLOW (2^-126) but above the smallest
    subnormal (2^-149) that gradual underflow would allow."""
    import tensorflow as tf

    smallest_normal = float(np.finfo(np.float32).smallest_normal)
    halved = float(tf.constant(smallest_normal, tf.float32) * tf.constant(0.5, tf.float32))
    error = abs(halved - smallest_normal / 2)
    assert error <= tolerance.UNDERFLOW["float32"]
    if halved == 0.0:  # flush-to-zero is on (it is on x86 CPUs)
        assert error > float(np.finfo(np.float32).smallest_subnormal)
