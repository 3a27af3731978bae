"""The log-likelihoods, their per-example sums and their gradients against a 1400-bit mpmath
oracle (tests/spec/oracle_likelihoods.py), within the error bounds the spec states.

Every comparison allows half an ulp of the exact value (the final rounding) plus the stated
bound (oracle_likelihoods.value_bound and friends, each derived there) plus UNDERFLOW (low
parts of pieces that fall below the normal range). Hypothesis steers each search toward the
largest error relative to that allowance and toward the largest error in ulps.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import example, given, settings, target
from hypothesis import strategies as st

from tests.spec import oracle_likelihoods as oracle
from tests.ulp import ulp_error
from vae_spec.spec.likelihoods import (
    log_likelihood,
    log_likelihood_elementwise,
    log_likelihood_grad,
)

FLOAT_MAX = float(np.finfo(np.float64).max)
BELOW_QUARTER = math.nextafter(0.25, 0.0)
ABOVE_THREE_QUARTERS = math.nextafter(0.75, 1.0)
ONE_MINUS_ULP = 1.0 - 2.0 ** -53


def check(computed, exact, bound, label):
    """Assert |computed - exact| <= ulp(exact)/2 + bound + UNDERFLOW (an exact value beyond
    the float64 range must come out infinite, or the largest float, with its sign); return
    (error / allowed, error in ulps) for ``aim``."""
    computed = float(computed)
    if mpmath.isinf(exact) or abs(exact) > FLOAT_MAX:
        assert abs(computed) >= FLOAT_MAX and (computed > 0) == (exact > 0), (computed, exact)
        return 0.0, 0.0
    error = abs(mpmath.mpf(computed) - exact)
    allowed = mpmath.mpf(math.ulp(float(exact))) / 2 + bound + oracle.UNDERFLOW
    ulps = ulp_error(computed, exact)
    assert error <= allowed, (
        f"{label}: computed {computed!r}, exact {mpmath.nstr(exact, 20)}, error "
        f"{float(error):.3g} > allowed {float(allowed):.3g} ({ulps:.2f} ulp)"
    )
    return float(error / allowed), min(ulps, 1e6)


def aim(label, *results):
    """Steer hypothesis toward the largest error / allowance and the largest ulp error."""
    target(max(r[0] for r in results), label=f"{label}: error / allowed")
    target(max(r[1] for r in results), label=f"{label}: ulp")


def one(values):
    return np.array([float(values)])


# ------------------------------------------------------------------------------ strategies

def _signed(magnitudes):
    return st.tuples(magnitudes, st.booleans()).map(lambda m: -m[0] if m[1] else m[0])


targets = st.one_of(
    st.sampled_from([0.0, 1.0, 0.5, 0.25, 0.75, ONE_MINUS_ULP, 2.0 ** -1074, 1e-300]),
    st.floats(0, 1),
    st.floats(0, 37).map(lambda a: 1.0 - math.exp(-a)),  # near 1
    st.floats(-745, 0).map(math.exp),  # near 0
)
probabilities = st.one_of(
    st.floats(0, 1),
    st.floats(-745, 0).map(math.exp),  # near 0, to the smallest subnormal
    st.floats(-37, 0).map(lambda a: 1.0 - math.exp(a)),  # near 1, to 1 - 2^-53
    _signed(st.floats(-16, -0.31).map(lambda k: 10.0 ** k)).map(lambda d: 0.5 + d),  # near 1/2
    st.sampled_from([0.0, 1.0, 5e-324, 1e-300, ONE_MINUS_ULP, 0.25, 0.75, BELOW_QUARTER,
                     ABOVE_THREE_QUARTERS, 0.5]),
)
open_probabilities = probabilities.map(lambda p: min(max(p, 5e-324), ONE_MINUS_ULP))
logits = st.one_of(
    st.floats(-745, 745),
    _signed(st.floats(-16, 1.5).map(lambda k: 10.0 ** k)),  # near 0
    _signed(st.floats(5, 7)),  # around the series switch at |l| = 6
    st.sampled_from([0.0, 6.0, -6.0, math.nextafter(6.0, 7.0), 709.0, -745.0, 36.7]),
)
locations = st.one_of(
    st.floats(-3, 3),
    _signed(st.floats(-300, 307.9).map(lambda k: 10.0 ** k)),
    st.sampled_from([0.0, 1.0, -1.0, 0.5]),
)
location_pairs = st.one_of(
    st.tuples(locations, locations),
    # nearly equal: the difference cancels
    st.tuples(locations, st.floats(-1e-6, 1e-6)).map(lambda v: (v[0], v[0] * (1 + v[1]))),
    locations.map(lambda v: (v, v)),
)
fixed_parameters = st.one_of(
    st.floats(-300, 300).map(lambda k: 10.0 ** k),
    st.sampled_from([1.0, 0.5, 2.0, 1 / (2 * math.pi), 5e-324, 1.7e308, 0.159154943]),
)
log_parameters = st.one_of(
    st.floats(-30, 30),
    st.floats(-720, 720),
    # the Gaussian's -1/2 log(2 pi) and the Laplace's -log 2 cancel the learned term here
    st.floats(-1e-6, 1e-6).map(lambda e: -math.log(2 * math.pi) + e),
    st.floats(-1e-6, 1e-6).map(lambda e: -math.log(2.0) + e),
)
BERNOULLI = ["bernoulli-probs", "bernoulli-logits", "continuous-bernoulli-probs",
             "continuous-bernoulli-logits"]


def bernoulli_inputs(family):
    if family == "bernoulli-probs":
        return probabilities
    if family == "continuous-bernoulli-probs":
        return open_probabilities
    return logits


# -------------------------------------------------------------- elementary function accuracy

def test_elementary_functions_are_accurate():
    """The bounds rest on numpy's log, log1p, exp, expm1 erring by at most EPS_F = 1.5 U
    (3/4 ulp) relative; a platform whose numpy is less accurate fails here first."""
    rng = np.random.default_rng(20261126)
    cases = {
        np.log: (np.exp(rng.uniform(-744, 709, 1500)), mpmath.log),
        np.log1p: (np.concatenate([np.exp(rng.uniform(-745, 0, 750)),
                                   -np.exp(rng.uniform(-745, -1e-9, 750))]), mpmath.log1p),
        np.exp: (np.concatenate([rng.uniform(-708, 709, 750), rng.uniform(-0.35, 0.35, 750)]),
                 mpmath.exp),
        np.expm1: (rng.uniform(-40, 709, 1500), mpmath.expm1),
    }
    for function, (inputs, reference) in cases.items():
        outputs = function(inputs)
        for value, output in zip(inputs.tolist(), outputs.tolist()):
            exact = reference(mpmath.mpf(value))
            assert abs(mpmath.mpf(output) - exact) <= oracle.EPS_F * abs(exact), (
                function.__name__, value)


# ------------------------------------------------------------------------- Bernoulli families

@pytest.mark.parametrize("family", BERNOULLI)
@settings(max_examples=150)
@given(data=st.data())
def test_bernoulli_family_value(family, data):
    x = data.draw(targets, label="x")
    recon = data.draw(bernoulli_inputs(family), label="x_recon")
    computed = log_likelihood_elementwise(one(x), one(recon), family)[0]
    aim(family, check(computed, oracle.log_likelihood(family, x, recon),
                      oracle.value_bound(family, x, recon), family))


ADVERSARIAL = {
    "bernoulli-probs": [
        (1.0, 5e-324), (0.0, ONE_MINUS_ULP), (1e-300, 1e-300), (ONE_MINUS_ULP, ONE_MINUS_ULP),
        (0.5, 1e-300), (0.0, 0.0), (1.0, 1.0), (0.3, 0.0), (1.0, 0.0), (0.0, 1.0),
    ],
    "bernoulli-logits": [
        (1.0, 700.0), (1.0, 745.0), (0.0, -745.0), (ONE_MINUS_ULP, 36.7), (ONE_MINUS_ULP, 700.0),
        (1.0 - 1e-10, 23.0), (0.5, 0.0), (1e-300, -700.0), (0.0, 745.0), (1.0, -745.0),
    ],
    "continuous-bernoulli-probs": [
        (0.5, 0.5 + 1e-12), (0.3, 0.5 - 1e-12), (1.0, 0.5 + 2.0 ** -53), (0.0, 5e-324),
        (1.0, 1e-300), (0.0, ONE_MINUS_ULP), (1.0, ONE_MINUS_ULP), (0.5, BELOW_QUARTER),
        (0.5, 0.25), (0.5, ABOVE_THREE_QUARTERS), (0.9, 0.75), (0.5, 0.5),
    ],
    "continuous-bernoulli-logits": [
        (0.5, 1e-12), (0.0, -1e-12), (1.0, 700.0), (0.0, 745.0), (ONE_MINUS_ULP, 36.0),
        (0.5, 6.0), (0.5, math.nextafter(6.0, 7.0)), (0.5, -6.0), (0.8, 26.77), (0.5, 0.0),
    ],
}


@pytest.mark.parametrize("family, x, recon", [
    (family, x, recon) for family, points in ADVERSARIAL.items() for x, recon in points])
def test_bernoulli_family_adversarial(family, x, recon):
    """Targets near 1 with large logits, probabilities at and within 1e-300 of 0 and 1,
    lambda within 1e-12 of 1/2, the switches between evaluation regions."""
    computed = log_likelihood_elementwise(one(x), one(recon), family)[0]
    check(computed, oracle.log_likelihood(family, x, recon),
          oracle.value_bound(family, x, recon), family)


@pytest.mark.parametrize("x, logit", [
    (1.0 - 1.3 * 2.0 ** -21, 1.2345678901234567 * 2.0 ** 1000),
    (1.7 * 2.0 ** -21, -1.6180339887498949 * 2.0 ** 1000),
    (0.7, -FLOAT_MAX), (ONE_MINUS_ULP, 1.5 * 2.0 ** 997),
])
def test_continuous_bernoulli_logits_beyond_2_to_997(x, logit):
    """|l| >= 2^997, where Veltkamp's split of l itself overflows: (x - 1/2) l must still be an
    exact pair, or x near 0 or 1 loses everything the cancellation against |l|/2 leaves. The
    oracle's sigmoid rounds to 1 here, so the exact value comes from the logit form
    (x - 1/2) l - g(l/2), g(y) = log(sinh(y) / y)."""
    family = "continuous-bernoulli-logits"
    with mpmath.workprec(oracle.PRECISION):
        exact = (mpmath.mpf(x) - mpmath.mpf(1) / 2) * logit - oracle._g(mpmath.mpf(logit) / 2)
    computed = log_likelihood_elementwise(one(x), one(logit), family)[0]
    check(computed, exact, oracle.value_bound(family, x, logit), family)


@pytest.mark.parametrize("family", BERNOULLI)
@settings(max_examples=60)
@given(data=st.data())
def test_bernoulli_family_per_example(family, data):
    """Per-example sums of six elements: the pieces are summed exactly and rounded once, so
    the allowance is half an ulp of the sum plus the elements' bounds."""
    pairs = data.draw(st.lists(st.tuples(targets, bernoulli_inputs(family)), min_size=6,
                               max_size=6))
    x = np.array([p[0] for p in pairs]).reshape(2, 3)
    recon = np.array([p[1] for p in pairs]).reshape(2, 3)
    computed = log_likelihood(x, recon, family)
    results = []
    for b in range(2):
        exact = mpmath.fsum(oracle.log_likelihood(family, *pairs[3 * b + k]) for k in range(3))
        bound = mpmath.fsum(oracle.value_bound(family, *pairs[3 * b + k]) for k in range(3))
        results.append(check(computed[b], exact, bound, f"{family} per example"))
    aim(f"{family} per example", *results)


@pytest.mark.parametrize("family", BERNOULLI)
@settings(max_examples=100)
@given(x=targets, data=st.data())
def test_bernoulli_family_gradient(family, x, data):
    recon = data.draw(bernoulli_inputs(family), label="x_recon")
    computed = log_likelihood_grad(one(x), one(recon), family)["x_recon"][0]
    if family == "bernoulli-probs" and recon in (0.0, 1.0):
        # the one-sided derivatives at p = 0 and 1, where x/p - (1-x)/(1-p) has a 0/0
        expected = {(True, 0.0): -1.0, (False, 0.0): math.inf,
                    (True, 1.0): 1.0, (False, 1.0): -math.inf}[(x == recon, recon)]
        assert computed == expected
        return
    aim(f"{family} gradient", check(computed, oracle.gradient(family, x, recon),
                                    oracle.gradient_bound(family, x, recon), f"{family} gradient"))


# ----------------------------------------------------------------- Gaussian and Laplace

@pytest.mark.parametrize("family", ["gaussian", "laplace"])
@settings(max_examples=150)
@given(pair=location_pairs, parameter=fixed_parameters, constants=st.booleans())
@example(pair=(1.0, 1.0), parameter=1 / (2 * math.pi), constants=True)
@example(pair=(1e200, 0.0), parameter=1e300, constants=True)
@example(pair=(1e-200, 0.0), parameter=5e-324, constants=True)
@example(pair=(0.3, 0.30000000000000004), parameter=0.5, constants=True)
def test_fixed_location_scale(family, pair, parameter, constants):
    x, mean = pair
    key = "var" if family == "gaussian" else "scale"
    name = f"{family}:{key}={parameter!r}"
    computed = log_likelihood_elementwise(one(x), one(mean), name, constants=constants)[0]
    exact = oracle.log_likelihood(family, x, mean, parameter)
    if not constants:
        exact -= oracle.log_likelihood(family, mean, mean, parameter)  # the constant alone
    aim(family, check(computed, exact, oracle.value_bound(family, x, mean, scale=parameter), name))
    grad = log_likelihood_grad(one(x), one(mean), name)["x_recon"][0]
    aim(f"{family} gradient", check(grad, oracle.gradient(family, x, mean, parameter),
                                    oracle.gradient_bound(family, x, mean, scale=parameter),
                                    f"{name} gradient"))


@pytest.mark.parametrize("family", ["gaussian", "laplace"])
@settings(max_examples=150)
@given(pair=location_pairs, log_parameter=log_parameters)
@example(pair=(0.0, 0.0), log_parameter=-math.log(2 * math.pi))
@example(pair=(1e-10, 0.0), log_parameter=-720.0)
@example(pair=(1e200, 0.0), log_parameter=720.0)
@example(pair=(1.0, 0.0), log_parameter=0.0)
def test_learned_location_scale(family, pair, log_parameter):
    x, mean = pair
    key = "dec_logvar" if family == "gaussian" else "dec_logscale"
    name = f"{family}-learned"
    with mpmath.workprec(oracle.PRECISION):
        parameter = mpmath.exp(mpmath.mpf(log_parameter))
    computed = log_likelihood_elementwise(one(x), one(mean), name,
                                          **{key: one(log_parameter)})[0]
    aim(name, check(computed, oracle.log_likelihood(family, x, mean, parameter),
                    oracle.value_bound(family, x, mean, log_scale=log_parameter), name))
    grad = log_likelihood_grad(one(x), one(mean), name, **{key: one(log_parameter)})
    aim(f"{name} gradient", check(
        grad["x_recon"][0], oracle.gradient(family, x, mean, parameter),
        oracle.gradient_bound(family, x, mean, log_scale=log_parameter), f"{name} gradient"))
    aim(f"{name} d/d{key}", check(
        grad[key][0], oracle.scale_gradient(family, x, mean, log_parameter),
        oracle.scale_gradient_bound(family, x, mean, log_parameter), f"{name} d/d{key}"))


@pytest.mark.parametrize("name", ["gaussian:var=0.1591549", "laplace:scale=0.5",
                                  "gaussian-learned", "laplace-learned"])
@settings(max_examples=40)
@given(pairs=st.lists(location_pairs, min_size=6, max_size=6),
       log_parameters=st.lists(st.floats(-5, 5), min_size=2, max_size=2))
def test_location_scale_per_example(name, pairs, log_parameters):
    """Six elements in two examples, the learned parameter shared per example (shape
    (2, 1), broadcast): half an ulp of the sum plus the elements' bounds."""
    family = name.split(":")[0].split("-")[0]
    x = np.array([p[0] for p in pairs]).reshape(2, 3)
    mean = np.array([p[1] for p in pairs]).reshape(2, 3)
    learned = name.endswith("learned")
    key = "dec_logvar" if family == "gaussian" else "dec_logscale"
    params = {key: np.array(log_parameters).reshape(2, 1)} if learned else {}
    fixed = None if learned else float(name.split("=")[1])
    computed = log_likelihood(x, mean, name, **params)
    results = []
    for b in range(2):
        if learned:
            with mpmath.workprec(oracle.PRECISION):
                parameter = mpmath.exp(mpmath.mpf(log_parameters[b]))
        exact = mpmath.fsum(oracle.log_likelihood(family, *pairs[3 * b + k],
                                                  parameter if learned else fixed)
                            for k in range(3))
        bound = mpmath.fsum(
            oracle.value_bound(family, *pairs[3 * b + k],
                               log_scale=log_parameters[b] if learned else None, scale=fixed)
            for k in range(3))
        results.append(check(computed[b], exact, bound, f"{name} per example"))
    aim(f"{name} per example", *results)
