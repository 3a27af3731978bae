"""The log-likelihoods against scipy's independent implementations.

Each tolerance is the spec's stated error (half an ulp plus its bound) plus the error of
scipy's evaluation, counted operation by operation from scipy's formulas: U per rounding,
EPS_F per elementary function (oracle_likelihoods; the C library behind scipy.special is
held to the same 3/4 ulp as numpy's, which the oracle tests check).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from tests.spec.oracle_likelihoods import EPS_F, EPS_WEIGHT, U
from vae_spec.spec.likelihoods import log_likelihood_elementwise

binary = st.sampled_from([0.0, 1.0])
probabilities = st.one_of(
    st.floats(0, 1),
    st.floats(-700, 0).map(math.exp),
    st.floats(-36, 0).map(lambda a: 1.0 - math.exp(a)),
)


def one(value):
    return np.array([float(value)])


@settings(max_examples=200)
@given(x=binary, p=probabilities)
@example(x=1.0, p=1e-300)
@example(x=0.0, p=1.0 - 2.0 ** -53)
def test_bernoulli_probs_matches_scipy(x, p):
    """scipy: log C(1, k) + xlogy(k, p) + xlog1py(1-k, -p), log C(1, k) = 0 exactly; for a
    binary k one log survives, within EPS_F |value|, as is the spec (plus its rounding):
    |spec - scipy| <= ulp/2 + 2 EPS_F |value|."""
    spec = log_likelihood_elementwise(one(x), one(p), "bernoulli-probs")[0]
    reference = stats.bernoulli.logpmf(x, p)
    if math.isinf(reference):
        assert spec == reference
        return
    assert abs(spec - reference) <= math.ulp(reference) / 2 + 2 * EPS_F * abs(reference)


@settings(max_examples=200)
@given(x=binary, logit=st.floats(-40, 3))
def test_bernoulli_logits_matches_scipy(x, logit):
    """scipy at p = expit(l) = 1 / (1 + exp(-l)): p errs by EPS_F + 2U relative, which moves
    log p by as much and log(1-p) by p/(1-p) times as much (<= e^3 for l <= 3); the rest as in
    the probs test."""
    p = special.expit(logit)
    spec = log_likelihood_elementwise(one(x), one(logit), "bernoulli-logits")[0]
    reference = stats.bernoulli.logpmf(x, p)
    p_error = (EPS_F + 2 * U) * (1.0 if x == 1 else p / (1 - p))
    tolerance = math.ulp(reference) / 2 + 2 * EPS_F * abs(reference) + p_error
    assert abs(spec - reference) <= tolerance


def _scipy_location_scale_error(value, scaled, log_scale, scale_error, constant):
    """Error of scipy's logpdf(x, m, s) = f((x-m)/s) - log s, given |y| = |x-m|/s (``scaled``),
    |log s|, the relative error of s and the density's constant |log c|.

    y = (x-m)/s: U (difference) + U (quotient) + scale_error; log s: EPS_F |log s| plus the
    scale's relative error; two additions: U each on partial sums below the total size."""
    size = scaled + log_scale + constant
    return ((2 * U + scale_error) * scaled, EPS_F * log_scale + scale_error + 2 * U * size
            + U * abs(value))


locations = st.floats(-10, 10)


@settings(max_examples=200)
@given(x=locations, mean=locations, variance=st.floats(1e-4, 1e4), learned=st.booleans())
def test_gaussian_matches_scipy(x, mean, variance, learned):
    """scipy.stats.norm.logpdf = -y^2/2 - log(2 pi)/2 - log s with s = sqrt(V) (one rounding)
    or exp(lv/2) (EPS_F); y^2 doubles y's relative error and rounds once more (U); the
    constant log(2 pi)/2 is rounded (U of it). The spec: ulp/2, plus EPS_WEIGHT of the
    quadratic term when learned."""
    if learned:
        log_variance = math.log(variance)
        spec = log_likelihood_elementwise(one(x), one(mean), "gaussian-learned",
                                          dec_logvar=one(log_variance))[0]
        scale, scale_error = np.exp(0.5 * log_variance), EPS_F
    else:
        spec = log_likelihood_elementwise(one(x), one(mean), f"gaussian:var={variance!r}")[0]
        scale, scale_error = np.sqrt(variance), U
    reference = stats.norm.logpdf(x, mean, scale)
    constant = 0.5 * math.log(2 * math.pi)
    scaled = abs(x - mean) / scale
    quadratic = scaled * scaled / 2
    y_error, rest = _scipy_location_scale_error(reference, quadratic, abs(math.log(scale)),
                                                scale_error, constant)
    scipy_error = 2 * y_error + U * quadratic + U * constant + rest
    spec_error = math.ulp(spec) / 2 + (EPS_WEIGHT * quadratic if learned else 0.0)
    assert abs(spec - reference) <= spec_error + scipy_error


@settings(max_examples=200)
@given(x=locations, mean=locations, scale=st.floats(1e-2, 1e4), learned=st.booleans())
def test_laplace_matches_scipy(x, mean, scale, learned):
    """scipy.stats.laplace.logpdf = log(exp(-|y|) / 2) - log s: exp errs by EPS_F relative
    (EPS_F absolute after the log), the log by EPS_F of |y| + log 2; s is exact (fixed) or
    exp(ls) (EPS_F). |y| <= 2e6, so exp(-|y|) may underflow: those draws compare -inf."""
    if learned:
        log_scale = math.log(scale)
        spec = log_likelihood_elementwise(one(x), one(mean), "laplace-learned",
                                          dec_logscale=one(log_scale))[0]
        scale, scale_error = float(np.exp(log_scale)), EPS_F
    else:
        spec = log_likelihood_elementwise(one(x), one(mean), f"laplace:scale={scale!r}")[0]
        scale_error = 0.0
    reference = stats.laplace.logpdf(x, mean, scale)
    scaled = abs(x - mean) / scale
    if scaled > 700:  # scipy's exp(-|y|) underflows; the spec's value stays finite
        assert math.isfinite(spec) and spec < -690
        return
    y_error, rest = _scipy_location_scale_error(reference, scaled, abs(math.log(scale)),
                                                scale_error, math.log(2))
    scipy_error = y_error + EPS_F + EPS_F * (scaled + math.log(2)) + rest
    spec_error = math.ulp(spec) / 2 + (EPS_WEIGHT * scaled if learned else 0.0)
    assert abs(spec - reference) <= spec_error + scipy_error


@pytest.mark.parametrize("lam", [1e-6, 0.01, 0.2, 0.25, 0.4, 0.5 - 1e-9, 0.5, 0.5 + 1e-12,
                                 0.6, 0.75, 0.9, 1 - 1e-6])
def test_continuous_bernoulli_normalizer_matches_quadrature(lam):
    """C(lambda) = 1 / integral_0^1 lambda^x (1-lambda)^(1-x) dx. The spec's log C is its
    log-density at x = 0 minus log(1-lambda); the integrand exp(x log lambda + (1-x)
    log1p(-lambda)) errs by EPS_F (exp) + (EPS_F + 3U) |exponent| relative, with |exponent|
    <= |log lambda| + |log1p(-lambda)| = S, so the integral by that relative amount plus
    quad's reported abserr; the spec's log C by ulp + EPS_F (S + |log C|) (its value bound
    at x = 0, the log1p and the subtraction, each below EPS_F of its size)."""
    log_lam, log_q = math.log(lam), math.log1p(-lam)
    integral, abserr = integrate.quad(lambda x: math.exp(x * log_lam + (1 - x) * log_q), 0, 1,
                                      epsabs=0, epsrel=2e-14, limit=200)
    spec_log_density = log_likelihood_elementwise(one(0.0), one(lam),
                                                  "continuous-bernoulli-probs")[0]
    spec_log_c = spec_log_density - log_q
    size = abs(log_lam) + abs(log_q)
    quadrature_error = abserr / integral + EPS_F + (EPS_F + 3 * U) * size
    spec_error = 2 * math.ulp(spec_log_c) + EPS_F * (size + abs(spec_log_c))
    assert abs(spec_log_c + math.log(integral)) <= quadrature_error + spec_error + U
