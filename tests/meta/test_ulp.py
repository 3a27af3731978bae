"""The ulp distance used by every accuracy test."""

import math

import mpmath
import pytest

from tests.ulp import ulp_error


def test_exact_value_scores_zero():
    assert ulp_error(0.1, mpmath.mpf(0.1)) == 0.0


def test_one_ulp_apart_scores_one():
    assert ulp_error(math.nextafter(1.0, 2.0), mpmath.mpf(1)) == 1.0


def test_correctly_rounded_scores_at_most_half():
    exact = mpmath.mpf(1) / 3
    assert ulp_error(1 / 3, exact) <= 0.5


def test_matching_infinities_score_zero():
    assert ulp_error(math.inf, mpmath.inf) == 0.0


@pytest.mark.parametrize("computed", [math.inf, math.nan])
def test_non_finite_disagreement_is_infinite(computed):
    assert ulp_error(computed, mpmath.mpf(1)) == math.inf
