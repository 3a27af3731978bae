"""Properties of the Gaussian spec that need no reference values: non-negativity, exact zeros,
additivity, invariances, agreement between parameterizations and between the KL functions,
and refusal of bad input with a ValueError that names the argument.

Tolerances come from the spec's documented errors: KL values within 0.5 ulp + 2^-90 relative
when normal (0.5 ulp <= u |value|, u = 2^-53) and within one subnormal ulp (2^-1074) when
subnormal, so within err(v) = u (1 + 2^-36) |v| + 2^-1074; kl_full within
(4 (k + 1) u kappa + 2 u) relative, kappa = || |Lp^-1| |Lp| ||_2.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vae_spec.spec import gaussian

U = 2.0**-53
ERR = U * (1 + 2.0**-36)  # relative error of every normal KL value (0.5 ulp + 2^-90)
SUBNORMAL_ULP = 2.0**-1074


def err(value):
    """The documented error of a KL value (or gradient), normal or subnormal."""
    return ERR * np.abs(value) + SUBNORMAL_ULP


def _finite(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


SHAPES = st.tuples(st.integers(1, 4), st.integers(1, 4))
LOGVARS = st.one_of(_finite(-30, 30), st.sampled_from([0.0, 1e-150, -1e-8, 700.0, -700.0]))
MEANS = st.one_of(_finite(-30, 30), st.sampled_from([0.0, 1e-150, -1e-8, 1e150]))


@st.composite
def pairs(draw, first=MEANS, second=LOGVARS):
    shape = draw(SHAPES)
    return (draw(hnp.arrays(np.float64, shape, elements=first)),
            draw(hnp.arrays(np.float64, shape, elements=second)))


def _skeel_condition(tril):
    return float(np.linalg.norm(np.abs(np.linalg.inv(tril)) @ np.abs(tril), 2))


def full_error(kl, k, tril_p):
    """kl_full's documented bound (kappa computed in float64, hence the 1e-6 slack)."""
    return (4 * (k + 1) * U * _skeel_condition(tril_p) * (1 + 1e-6) + 2 * U) * abs(kl)


@st.composite
def trils(draw, batch, k, low=-1.0, high=1.0):
    lower = np.tril(draw(hnp.arrays(np.float64, (batch, k, k), elements=_finite(low, high))), -1)
    diagonal = np.exp(draw(hnp.arrays(np.float64, (batch, k), elements=_finite(low, high))))
    return lower + np.einsum("bi,ij->bij", diagonal, np.eye(k))


# --- non-negativity and exact zeros --------------------------------------------------------------


@settings(max_examples=50)
@given(pairs(), pairs())
def test_kl_is_non_negative(q, p):
    (mu, logvar), (mu_p, logvar_p) = q, p
    assert np.all(gaussian.kl_standard_normal_elementwise(mu, logvar) >= 0)
    assert np.all(gaussian.kl_standard_normal(mu, logvar) >= 0)
    if mu_p.shape == mu.shape:
        assert np.all(gaussian.kl_diagonal_elementwise(mu, logvar, mu_p, logvar_p) >= 0)


@settings(max_examples=30)
@given(pairs())
def test_kl_is_exactly_zero_when_q_equals_p(q):
    mu, logvar = q
    assert np.all(gaussian.kl_diagonal_elementwise(mu, logvar, mu.copy(), logvar.copy()) == 0)
    assert np.all(gaussian.kl_diagonal(mu, logvar, mu.copy(), logvar.copy()) == 0)
    zeros = np.zeros_like(mu)
    for posterior, scale in (("logvar", 0.0), ("logstd", 0.0), ("std", 1.0), ("var", 1.0)):
        kl = gaussian.kl_standard_normal(zeros, np.full_like(mu, scale), posterior)
        assert np.all(kl == 0)


@settings(max_examples=20)
@given(st.integers(1, 3).flatmap(lambda k: st.tuples(
    st.just(k), trils(2, k), hnp.arrays(np.float64, (2, k), elements=_finite(-3, 3)))))
def test_kl_full_is_non_negative_and_zero_for_identical_distributions(case):
    k, tril, mu = case
    assert np.array_equal(gaussian.kl_full(mu, tril, mu.copy(), tril.copy()), np.zeros(2))
    assert np.all(gaussian.kl_full(mu, tril) >= 0)


# --- additivity over independent dimensions ------------------------------------------------------


@settings(max_examples=40)
@given(pairs(), st.integers(1, 3))
def test_kl_adds_over_independent_dimensions(q, split):
    mu, logvar = q
    split = min(split, mu.shape[1])
    whole = gaussian.kl_standard_normal(mu, logvar)
    first = gaussian.kl_standard_normal(mu[:, :split], logvar[:, :split])
    second = gaussian.kl_standard_normal(mu[:, split:], logvar[:, split:])
    parts = first + second
    # each of the three values errs by <= err(value), the float64 sum of the parts by u
    tolerance = err(whole) + err(first) + err(second) + U * parts
    assert np.all(np.abs(whole - parts) <= tolerance)


@settings(max_examples=20)
@given(st.tuples(st.integers(1, 2), st.integers(1, 2)).flatmap(lambda ks: st.tuples(
    st.just(ks), trils(2, ks[0]), trils(2, ks[1]), trils(2, ks[0]), trils(2, ks[1]),
    hnp.arrays(np.float64, (2, sum(ks)), elements=_finite(-2, 2)),
    hnp.arrays(np.float64, (2, sum(ks)), elements=_finite(-2, 2)))))
def test_kl_full_adds_over_independent_blocks(case):
    (k1, k2), q1, q2, p1, p2, mu_q, mu_p = case
    k = k1 + k2

    def block(a, b):
        out = np.zeros((2, k, k))
        out[:, :k1, :k1], out[:, k1:, k1:] = a, b
        return out

    tril_q, tril_p = block(q1, q2), block(p1, p2)
    whole = gaussian.kl_full(mu_q, tril_q, mu_p, tril_p)
    first = gaussian.kl_full(mu_q[:, :k1], q1, mu_p[:, :k1], p1)
    second = gaussian.kl_full(mu_q[:, k1:], q2, mu_p[:, k1:], p2)
    for b in range(2):
        tolerance = (full_error(whole[b], k, tril_p[b]) + full_error(first[b], k1, p1[b])
                     + full_error(second[b], k2, p2[b]) + U * (first[b] + second[b]))
        assert abs(whole[b] - (first[b] + second[b])) <= tolerance


# --- invariance of the full-covariance KL under a shared affine map ------------------------------


@settings(max_examples=25)
@given(st.integers(1, 3).flatmap(lambda k: st.tuples(
    hnp.arrays(np.float64, (k, k), elements=st.integers(-4, 4).map(float)),
    hnp.arrays(np.float64, k, elements=st.integers(1, 4).map(float)),
    hnp.arrays(np.float64, k, elements=st.integers(-8, 8).map(float)),
    hnp.arrays(np.float64, (2, k, k), elements=st.integers(-8, 8).map(float)),
    hnp.arrays(np.float64, (2, k), elements=st.integers(1, 8).map(float)),
    hnp.arrays(np.float64, (4, k), elements=st.integers(-8, 8).map(float)))))
def test_kl_full_invariant_under_shared_affine_map(case):
    # KL(N(A m_q + c, A Sq A^T) || N(A m_p + c, A Sp A^T)) = KL(q || p) for invertible A. With A
    # lower-triangular (positive diagonal), A Lq and A Lp are the transformed Cholesky factors.
    # Small integer entries keep A L, A m + c exact in float64, so each side errs only by
    # kl_full's documented bound for its own prior factor: the tolerance is their sum.
    a_lower, a_diagonal, shift, lower, diagonal, means = case
    a = np.tril(a_lower, -1) + np.diag(a_diagonal)
    k = a.shape[0]
    tril_q, tril_p = (np.tril(lower[i], -1) + np.diag(diagonal[i]) for i in range(2))
    mu_q, mu_p = means[:2], means[2:]
    original = gaussian.kl_full(mu_q, tril_q[None].repeat(2, 0), mu_p, tril_p[None].repeat(2, 0))
    moved_q, moved_p = a @ tril_q, a @ tril_p
    mapped = gaussian.kl_full(mu_q @ a.T + shift, moved_q[None].repeat(2, 0),
                              mu_p @ a.T + shift, moved_p[None].repeat(2, 0))
    for b in range(2):
        tolerance = full_error(original[b], k, tril_p) + full_error(mapped[b], k, moved_p)
        assert abs(original[b] - mapped[b]) <= tolerance


# --- diagonal special cases ----------------------------------------------------------------------


@settings(max_examples=40)
@given(pairs(MEANS, _finite(-20, 20).map(math.exp)))
def test_kl_full_with_diagonal_factor_equals_kl_standard_normal(q):
    mu, std = q
    tril = np.einsum("bi,ij->bij", std, np.eye(std.shape[1]))
    full = gaussian.kl_full(mu, tril)  # p = N(0, I): kappa = 1
    diagonal = gaussian.kl_standard_normal(mu, std, posterior="std")
    k = mu.shape[1]
    tolerance = (4 * (k + 1) * U + 2 * U) * full + err(diagonal) + SUBNORMAL_ULP
    assert np.all(np.abs(full - diagonal) <= tolerance)


@settings(max_examples=40)
@given(SHAPES.flatmap(lambda shape: st.tuples(*(
    hnp.arrays(np.float64, shape, elements=_finite(-5, 5)) for _ in range(4)))))
def test_kl_full_with_diagonal_factors_equals_kl_diagonal(case):
    mu_q, log_std_q, mu_p, log_std_p = case
    std_q, std_p = np.exp(log_std_q), np.exp(log_std_p)
    k = mu_q.shape[1]
    eye = np.eye(k)
    full = gaussian.kl_full(mu_q, np.einsum("bi,ij->bij", std_q, eye),
                            mu_p, np.einsum("bi,ij->bij", std_p, eye))
    logvar_q = gaussian.scale_to_logvar(std_q, "std")
    logvar_p = gaussian.scale_to_logvar(std_p, "std")
    diagonal = gaussian.kl_diagonal(mu_q, logvar_q, mu_p, logvar_p)
    # kl_diagonal sees lv = fl(2 log std), off by <= ulp(lv) (0.5 ulp + 2^-90 relative); to
    # first order that moves the KL by sum |d KL / d lv| ulp(lv) (second order: below u^2).
    grads = gaussian.kl_diagonal_grad(mu_q, logvar_q, mu_p, logvar_p)
    moved = np.sum(np.abs(grads["logvar_q"]) * np.spacing(np.abs(logvar_q))
                   + np.abs(grads["logvar_p"]) * np.spacing(np.abs(logvar_p)), axis=1)
    # kl_full's kappa is 1 for a diagonal factor
    tolerance = (4 * (k + 1) * U + 2 * U) * full + err(diagonal) + 1.01 * moved
    assert np.all(np.abs(full - diagonal) <= tolerance)


@settings(max_examples=40)
@given(pairs())
def test_kl_diagonal_against_standard_normal_equals_kl_standard_normal(q):
    mu, logvar = q
    zeros = np.zeros_like(mu)
    for reduce in ("elementwise", "per example"):
        if reduce == "elementwise":
            a = gaussian.kl_diagonal_elementwise(mu, logvar, zeros, zeros)
            b = gaussian.kl_standard_normal_elementwise(mu, logvar)
        else:
            a = gaussian.kl_diagonal(mu, logvar, 0.0, 0.0)  # a scalar prior broadcasts
            b = gaussian.kl_standard_normal(mu, logvar)
        assert np.all(np.abs(a - b) <= err(a) + err(b))


# --- the four parameterizations describe one sigma -----------------------------------------------


@settings(max_examples=40)
@given(pairs())
def test_logvar_and_logstd_agree(q):
    mu, logvar = q
    logstd = logvar / 2  # exact: lv = 2 ls
    a = gaussian.kl_standard_normal(mu, logvar, "logvar")
    b = gaussian.kl_standard_normal(mu, logstd, "logstd")
    assert np.all(np.abs(a - b) <= err(a) + err(b))
    da, db = (gaussian.kl_standard_normal_grad(mu, logvar, "logvar")[1],
              gaussian.kl_standard_normal_grad(mu, logstd, "logstd")[1])
    assert np.all(np.abs(2 * da - db) <= 2 * err(da) + err(db))  # chain rule, 2 da exact


@settings(max_examples=40)
@given(pairs(MEANS, _finite(-30, 30)))
def test_std_and_var_agree(q):
    mu, log_std = q
    # std with a 26-bit significand, so var = std^2 is exact
    mantissa, exponent = np.frexp(np.exp(log_std))
    std = np.ldexp(np.round(mantissa * 2.0**26) / 2.0**26, exponent)
    var = std * std
    a = gaussian.kl_standard_normal(mu, std, "std")
    b = gaussian.kl_standard_normal(mu, var, "var")
    assert np.all(np.abs(a - b) <= err(a) + err(b))
    d_std, d_var = (gaussian.kl_standard_normal_grad(mu, std, "std")[1],
                    gaussian.kl_standard_normal_grad(mu, var, "var")[1])
    # chain rule d/dstd = 2 std d/dvar; 2 std d_var adds one rounding
    assert np.all(np.abs(d_std - 2 * std * d_var) <= err(d_std) + 2 * std * err(d_var)
                  + U * np.abs(2 * std * d_var))


@settings(max_examples=40)
@given(pairs(MEANS, _finite(-30, 30).map(math.exp)))
def test_std_and_logvar_agree(q):
    mu, std = q
    logvar = gaussian.scale_to_logvar(std, "std")
    a = gaussian.kl_standard_normal_elementwise(mu, std, "std")
    b = gaussian.kl_standard_normal_elementwise(mu, logvar, "logvar")
    # lv = fl(2 log std) is off by <= ulp(lv); to first order the KL moves by |dKL/dlv| ulp(lv)
    slope = np.abs(gaussian.kl_standard_normal_grad(mu, logvar, "logvar")[1])
    tolerance = err(a) + err(b) + 1.01 * slope * np.spacing(np.abs(logvar))
    assert np.all(np.abs(a - b) <= tolerance)


# --- bad input -----------------------------------------------------------------------------------

GOOD = np.array([[0.5, -0.25]])
TRIL = np.array([[[1.0, 0.0], [0.5, 2.0]]])


def _bad_cases():
    """(call, argument name the message must start with)."""
    sn = gaussian.kl_standard_normal
    cases = [
        (lambda: sn(GOOD, np.array([[0.5, 0.1, 0.2]])), "logvar"),
        (lambda: sn(GOOD, -GOOD, "std"), "std"),
        (lambda: sn(GOOD, np.zeros_like(GOOD), "var"), "var"),
        (lambda: sn(np.array([[np.nan, 0.0]]), GOOD), "mu"),
        (lambda: sn(GOOD, np.array([[np.inf, 0.0]])), "logvar"),
        (lambda: sn(np.array([[1, 2]]), GOOD), "mu"),
        (lambda: sn(GOOD, GOOD + 0j), "logvar"),
        (lambda: sn(0.5, 0.5), "logvar"),
        (lambda: sn(GOOD, GOOD, "sigma"), "posterior"),
        (lambda: gaussian.kl_standard_normal_elementwise(GOOD, np.array([True, False])),
         "logvar"),
        (lambda: gaussian.kl_standard_normal_grad(GOOD, -GOOD, "var"), "var"),
        (lambda: gaussian.kl_standard_normal_magnitude(np.float64(0.5), GOOD), "mu"),
        (lambda: gaussian.scale_to_logvar(-GOOD, "std"), "std"),
        (lambda: gaussian.kl_diagonal(GOOD, GOOD, GOOD[:, :1].repeat(3, 1), GOOD), "mu_p"),
        (lambda: gaussian.kl_diagonal(GOOD, GOOD, GOOD, np.array([[np.nan, 1.0]])), "logvar_p"),
        (lambda: gaussian.kl_diagonal_elementwise(GOOD, GOOD[:, :1], GOOD, GOOD), "logvar_q"),
        (lambda: gaussian.kl_diagonal_grad(GOOD.astype(np.int32), GOOD, GOOD, GOOD), "mu_q"),
        (lambda: gaussian.kl_diagonal_magnitude(GOOD, GOOD, GOOD + 1j, GOOD), "mu_p"),
        (lambda: gaussian.kl_full(GOOD, TRIL.transpose(0, 2, 1)), "tril_q"),
        (lambda: gaussian.kl_full(GOOD, -TRIL), "tril_q"),
        (lambda: gaussian.kl_full(GOOD[0], TRIL), "mu_q"),
        (lambda: gaussian.kl_full(GOOD, TRIL[:, :1, :1]), "tril_q"),
        (lambda: gaussian.kl_full(GOOD, TRIL, GOOD, np.array([[[1.0, 0.0], [np.nan, 1.0]]])),
         "tril_p"),
        (lambda: gaussian.kl_full(GOOD, TRIL, np.array([[1.0, 2.0, 3.0]])), "mu_p"),
        (lambda: gaussian.kl_full(GOOD, TRIL, None, np.array([[[1e-300, 0.0], [1e300, 1e-300]]])),
         "tril_p"),
        (lambda: gaussian.gaussian_log_density(GOOD, GOOD, np.array([[1.0, 2.0, 3.0]])),
         "logvar"),
        (lambda: gaussian.gaussian_log_density_elementwise(0.5, GOOD, GOOD), "x"),
        (lambda: gaussian.gaussian_log_density(GOOD, np.array([[np.nan, 0.0]]), GOOD), "mu"),
        (lambda: gaussian.gaussian_entropy(np.array([[1, 2]])), "logvar"),
        (lambda: gaussian.gaussian_entropy_elementwise(np.array([[-np.inf]])), "logvar"),
    ]
    return cases


@pytest.mark.parametrize("call, name", _bad_cases())
def test_bad_input_raises_value_error_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"^{re.escape(name)}\b"):
        call()
