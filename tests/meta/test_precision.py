"""The judgement of a result that misses its bound (vae_spec.checks._precision): a wrong formula
is an error in every dtype, the rounding of a correct form is a pass or a precision warning.

Results are built as the spec's value plus an error of a chosen multiple of the derived bound,
so each verdict is tested on both sides of the line that decides it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from vae_spec import tolerance
from vae_spec.checks._engine import SKIP, Failure
from vae_spec.checks._precision import ERROR, PASS, PRECISION, judge, rejudge_relation
from vae_spec.frameworks import get_adapter

WANT = np.array([1.25, -0.5])
MAGNITUDE = np.array([2.0, 1.0])
N = 8


def ctx(dtypes=("float32", "float64")):
    return SimpleNamespace(adapter=get_adapter("numpy"), dtypes=dtypes)


def off_by(multiple, dtype):
    """WANT plus ``multiple`` times the bound of ``dtype`` on the first element."""
    limit = tolerance.bound(MAGNITUDE, dtype, N)
    return WANT + np.array([multiple * limit[0], 0.0])


def test_float64_within_its_bound_passes():
    assert judge(ctx(), "float64", off_by(0.5, "float64"), WANT, MAGNITUDE, N)[0] == PASS


def test_float64_within_the_float32_bound_is_precision():
    assert judge(ctx(), "float64", off_by(0.5, "float32"), WANT, MAGNITUDE, N)[0] == PRECISION


def test_float64_beyond_the_float32_bound_is_an_error():
    assert judge(ctx(), "float64", off_by(2.0, "float32"), WANT, MAGNITUDE, N)[0] == ERROR


@pytest.mark.parametrize(("multiple", "verdict"), [
    (0.5, PASS),  # within the bound
    (tolerance.COMPOSITE_CHAIN * 0.9, PASS),  # within the composite allowance of its own float64
    (tolerance.COMPOSITE_CHAIN * 2.0, PRECISION),  # beyond: rounding of this expression
])
def test_low_precision_against_a_right_float64_result(multiple, verdict):
    got = off_by(multiple, "float32")
    assert judge(ctx(), "float32", got, WANT, MAGNITUDE, N, lambda: WANT.copy())[0] == verdict


def test_low_precision_with_a_wrong_float64_result_is_an_error():
    wrong = WANT * 1.01  # a formula error: a fixed fraction of the term
    assert judge(ctx(), "float32", wrong, WANT, MAGNITUDE, N, lambda: wrong.copy())[0] == ERROR


@pytest.mark.parametrize(("multiple", "verdict"), [
    (tolerance.COMPOSITE_CHAIN * 0.9, PASS), (tolerance.COMPOSITE_CHAIN * 2.0, ERROR),
])
def test_low_precision_without_float64_uses_the_allowance_against_the_spec(multiple, verdict):
    got = off_by(multiple, "float32")
    assert judge(ctx(("float32",)), "float32", got, WANT, MAGNITUDE, N, lambda: None)[0] == verdict


def _relation(errors: dict):
    """A relation whose error in each dtype is given, against a bound of 1."""
    def relation(dtype):
        error = errors[dtype]
        if error is SKIP:
            return SKIP
        return None if error <= 1.0 else Failure("broken", error=error, bound=1.0, margin=error)
    return relation


def test_a_relation_broken_in_float64_too_stands():
    failure = rejudge_relation(ctx(), "float32", _relation({"float32": 10.0, "float64": 5.0}))
    assert failure.severity == "error"


def test_a_relation_that_holds_in_float64_is_rounding():
    holds = {"float64": 0.0}
    assert rejudge_relation(ctx(), "float32", _relation({"float32": 3.0, **holds})) is None
    warning = rejudge_relation(ctx(), "float32", _relation({"float32": 10.0, **holds}))
    assert warning.code == "precision" and warning.severity == "warning"


def test_a_relation_that_cannot_be_evaluated_in_float64_stands():
    failure = rejudge_relation(ctx(), "float32", _relation({"float32": 10.0, "float64": SKIP}))
    assert failure.severity == "error"
