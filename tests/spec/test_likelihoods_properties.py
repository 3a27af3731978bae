"""Properties of the log-likelihoods: input validation, agreement between parameterizations,
the dropped constants, fixed vs learned scales, normalization, and the magnitude M.

Tolerances come from the spec's stated error bounds (tests/spec/oracle_likelihoods.py): where
two spec values are compared, each contributes half an ulp plus its bound, and a rounded input
contributes its rounding times the derivative.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special

from tests.spec import oracle_likelihoods as oracle
from tests.spec.oracle_likelihoods import EPS_F, TINY, U
from vae_spec.spec.likelihoods import (
    LIKELIHOODS,
    Likelihood,
    log_likelihood,
    log_likelihood_elementwise,
    log_likelihood_grad,
    log_likelihood_magnitude,
    parse_likelihood,
)

FUNCTIONS = [log_likelihood_elementwise, log_likelihood, log_likelihood_magnitude,
             log_likelihood_grad]
GOOD = np.array([[0.2, 0.7]])


def one(value):
    return np.array([float(value)])


def allowed(value, bound):
    """Half an ulp of a spec value plus its stated bound (an mpf), as a float."""
    return math.ulp(float(value)) / 2 + float(bound)


# ------------------------------------------------------------------------------- validation

BAD_INPUTS = [
    # (description, x, x_recon, likelihood, keyword arguments, argument named)
    ("shapes differ", GOOD, np.array([[0.2, 0.7, 0.1]]), "bernoulli-probs", {}, "x_recon"),
    ("x above 1 (Bernoulli)", np.array([[1.5, 0.2]]), GOOD, "bernoulli-logits", {}, "x"),
    ("x below 0 (continuous Bernoulli)", np.array([[-0.1, 0.2]]), GOOD,
     "continuous-bernoulli-logits", {}, "x"),
    ("probability above 1", GOOD, np.array([[0.2, 1.1]]), "bernoulli-probs", {}, "x_recon"),
    ("probability below 0", GOOD, np.array([[-1e-9, 0.5]]), "continuous-bernoulli-probs", {},
     "x_recon"),
    ("continuous Bernoulli probability 0", GOOD, np.array([[0.0, 0.5]]),
     "continuous-bernoulli-probs", {}, "x_recon"),
    ("continuous Bernoulli probability 1", GOOD, np.array([[1.0, 0.5]]),
     "continuous-bernoulli-probs", {}, "x_recon"),
    ("NaN in x", np.array([[math.nan, 0.2]]), GOOD, "gaussian", {}, "x"),
    ("NaN in x_recon", GOOD, np.array([[0.1, math.nan]]), "bernoulli-logits", {}, "x_recon"),
    ("NaN in dec_logvar", GOOD, GOOD, "gaussian-learned",
     {"dec_logvar": np.array([[math.nan, 0.0]])}, "dec_logvar"),
    ("infinite logit", GOOD, np.array([[math.inf, 0.0]]), "bernoulli-logits", {}, "x_recon"),
    ("infinite x", np.array([[math.inf, 0.0]]), GOOD, "laplace", {}, "x"),
    ("integer x", np.array([[0, 1]]), GOOD, "bernoulli-probs", {}, "x"),
    ("complex x_recon", GOOD, GOOD.astype(complex), "gaussian", {}, "x_recon"),
    ("boolean x", np.array([[True, False]]), GOOD, "bernoulli-probs", {}, "x"),
    ("unknown likelihood", GOOD, GOOD, "poisson", {}, "likelihood"),
    ("likelihood not a string", GOOD, GOOD, 3, {}, "likelihood"),
    ("zero variance", GOOD, GOOD, "gaussian:var=0", {}, "likelihood"),
    ("negative scale", GOOD, GOOD, "laplace:scale=-1", {}, "likelihood"),
    ("infinite variance", GOOD, GOOD, "gaussian:var=inf", {}, "likelihood"),
    ("NaN scale", GOOD, GOOD, "laplace:scale=nan", {}, "likelihood"),
    ("unparsable variance", GOOD, GOOD, "gaussian:var=big", {}, "likelihood"),
    ("missing dec_logvar", GOOD, GOOD, "gaussian-learned", {}, "dec_logvar"),
    ("missing dec_logscale", GOOD, GOOD, "laplace-learned", {}, "dec_logscale"),
    ("dec_logvar to a Bernoulli", GOOD, GOOD, "bernoulli-logits",
     {"dec_logvar": np.zeros((1, 2))}, "dec_logvar"),
    ("dec_logvar to a learned Laplace", GOOD, GOOD, "laplace-learned",
     {"dec_logvar": np.zeros((1, 2)), "dec_logscale": np.zeros((1, 2))}, "dec_logvar"),
    ("dec_logscale to a fixed Gaussian", GOOD, GOOD, "gaussian:var=2",
     {"dec_logscale": np.zeros((1, 2))}, "dec_logscale"),
    ("dec_logvar not broadcastable", GOOD, GOOD, "gaussian-learned",
     {"dec_logvar": np.zeros((1, 3))}, "dec_logvar"),
    ("infinite dec_logscale", GOOD, GOOD, "laplace-learned",
     {"dec_logscale": np.array([[0.0, -math.inf]])}, "dec_logscale"),
    ("constants not a bool", GOOD, GOOD, "gaussian", {"constants": "no"}, "constants"),
]


@pytest.mark.parametrize("function", FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("description, x, x_recon, likelihood, kwargs, argument", BAD_INPUTS,
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_raises_value_error_naming_the_argument(function, description, x, x_recon,
                                                         likelihood, kwargs, argument):
    with pytest.raises(ValueError) as raised:
        function(x, x_recon, likelihood, **kwargs)
    assert str(raised.value).startswith(argument), str(raised.value)


def test_unknown_parameter_of_log_likelihood_is_named():
    with pytest.raises(ValueError, match=r"^dec_log_var\b"):
        log_likelihood(GOOD, GOOD, "gaussian-learned", dec_log_var=np.zeros((1, 2)))


def test_per_example_needs_a_batch_axis():
    with pytest.raises(ValueError, match=r"^x\b"):
        log_likelihood(np.float64(0.2), np.float64(0.3), "gaussian")


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError) as raised:
        parse_likelihood("bernoulli")
    assert all(name in str(raised.value) for name in LIKELIHOODS)


def test_impossible_observation_is_minus_infinity_not_nan():
    """p = 0 with x > 0 (and p = 1 with x < 1) is log 0 = -inf, element-wise and summed;
    0 log 0 = 0 keeps x = 0 at p = 0 finite."""
    x = np.array([[0.3, 0.0, 1.0], [0.0, 0.5, 1.0]])
    p = np.array([[0.0, 0.0, 0.4], [1.0, 1.0, 1.0]])
    values = log_likelihood_elementwise(x, p, "bernoulli-probs")
    assert values[0, 0] == values[1, 0] == values[1, 1] == -math.inf
    assert values[0, 1] == 0.0 and values[1, 2] == 0.0
    assert list(log_likelihood(x, p, "bernoulli-probs")) == [-math.inf, -math.inf]


# ------------------------------------------------------------------------------------ names

@pytest.mark.parametrize("name, expected", [
    ("bernoulli-probs", Likelihood("bernoulli-probs", "bernoulli", "probs")),
    ("continuous-bernoulli-logits",
     Likelihood("continuous-bernoulli-logits", "continuous-bernoulli", "logits")),
    ("gaussian", Likelihood("gaussian", "gaussian", "mean", variance=1.0)),
    ("gaussian:var=1", Likelihood("gaussian", "gaussian", "mean", variance=1.0)),
    ("gaussian:var=0.5", Likelihood("gaussian:var=0.5", "gaussian", "mean", variance=0.5)),
    ("gaussian:var=1e-5", Likelihood("gaussian:var=1e-05", "gaussian", "mean", variance=1e-5)),
    ("gaussian-learned", Likelihood("gaussian-learned", "gaussian", "mean",
                                    learned="dec_logvar")),
    ("laplace", Likelihood("laplace", "laplace", "mean", scale=1.0)),
    ("laplace:scale=2", Likelihood("laplace:scale=2.0", "laplace", "mean", scale=2.0)),
    ("laplace-learned", Likelihood("laplace-learned", "laplace", "mean",
                                   learned="dec_logscale")),
])
def test_parse_likelihood(name, expected):
    parsed = parse_likelihood(name)
    assert parsed == expected
    assert parse_likelihood(parsed) is parsed
    assert parse_likelihood(parsed.name) == parsed


def test_every_listed_name_parses():
    for name in LIKELIHOODS:
        parsed = parse_likelihood(name.replace("=V", "=0.25").replace("=S", "=3"))
        assert parsed.family in ("bernoulli", "continuous-bernoulli", "gaussian", "laplace")


def test_a_likelihood_that_contradicts_its_name_is_rejected():
    with pytest.raises(ValueError, match=r"^likelihood\b"):
        parse_likelihood(Likelihood("gaussian", "gaussian", "mean", variance=2.0))


# ----------------------------------------------------------------- parameterizations agree

@pytest.mark.parametrize("family", ["bernoulli", "continuous-bernoulli"])
@settings(max_examples=100)
@given(x=st.floats(0, 1), p=st.floats(1e-300, 1 - 2.0 ** -53))
def test_logits_and_probs_forms_agree(family, x, p):
    """probs form at p vs logits form at l = fl(logit p): l is within U |l| of logit(p), which
    moves the value by |d value / d l| = |x - E[x]| <= 1 times as much; each spec value
    brings half an ulp and its stated bound."""
    with mpmath.workprec(oracle.PRECISION):
        logit = float(mpmath.log(p) - mpmath.log1p(-p))
    from_probs = log_likelihood_elementwise(one(x), one(p), f"{family}-probs")[0]
    from_logits = log_likelihood_elementwise(one(x), one(logit), f"{family}-logits")[0]
    tolerance = (allowed(from_probs, oracle.value_bound(f"{family}-probs", x, p))
                 + allowed(from_logits, oracle.value_bound(f"{family}-logits", x, logit))
                 + U * abs(logit))
    assert abs(from_probs - from_logits) <= tolerance


# ---------------------------------------------------------------------- dropped constants

@pytest.mark.parametrize("name, constant", [
    ("gaussian", lambda: -mpmath.log(2 * mpmath.pi) / 2),
    ("gaussian:var=0.01", lambda: -mpmath.log(2 * mpmath.pi * mpmath.mpf(0.01)) / 2),
    ("gaussian:var=0.1591549", lambda: -mpmath.log(2 * mpmath.pi * mpmath.mpf(0.1591549)) / 2),
    ("gaussian-learned", lambda: -mpmath.log(2 * mpmath.pi) / 2),
    ("laplace:scale=1e-3", lambda: -mpmath.log(2 * mpmath.mpf(1e-3))),
    ("laplace-learned", lambda: -mpmath.log(2)),
    ("bernoulli-logits", lambda: mpmath.mpf(0)),
    ("continuous-bernoulli-probs", lambda: mpmath.mpf(0)),
])
@settings(max_examples=40)
@given(x=st.lists(st.floats(0, 1), min_size=6, max_size=6),
       recon=st.lists(st.floats(0.01, 0.99), min_size=6, max_size=6))
def test_constants_false_differs_by_exactly_the_dropped_constant(name, constant, x, recon):
    """Per example (3 elements each): with and without constants the spec sums the same
    pieces, less the constant's pair (within TINY of c), and rounds once: the two results
    differ from 3c by half an ulp each plus TINY |3c|."""
    x, recon = np.array(x).reshape(2, 3), np.array(recon).reshape(2, 3)
    params = {}
    if name.endswith("learned"):
        params = {"dec_logvar" if name.startswith("gaussian") else "dec_logscale":
                  np.array([[0.3], [-2.0]])}
    with_constants = log_likelihood(x, recon, name, **params)
    without = log_likelihood(x, recon, name, constants=False, **params)
    with mpmath.workprec(oracle.PRECISION):
        dropped = 3 * constant()
        if dropped == 0:
            assert np.array_equal(with_constants, without)
            return
        for b in range(2):
            error = abs(mpmath.mpf(with_constants[b]) - mpmath.mpf(without[b]) - dropped)
            assert error <= ((math.ulp(with_constants[b]) + math.ulp(without[b])) / 2
                             + TINY * abs(dropped))


# ------------------------------------------------------------------ fixed vs learned scales

@settings(max_examples=100)
@given(x=st.floats(-10, 10), mean=st.floats(-10, 10), log_variance=st.floats(-20, 20))
def test_fixed_variance_equals_learned_with_its_log(x, mean, log_variance):
    """gaussian:var=V with V = fl(e^lv) vs gaussian-learned at lv: V is within U of e^lv
    (relative), which moves the value by |d value / d log V| = |q - 1/2| times U, q =
    (x-m)^2 / (2V); each spec value brings half an ulp and its bound."""
    with mpmath.workprec(oracle.PRECISION):
        variance = float(mpmath.exp(log_variance))
    fixed = log_likelihood_elementwise(one(x), one(mean), f"gaussian:var={variance!r}")[0]
    learned = log_likelihood_elementwise(one(x), one(mean), "gaussian-learned",
                                         dec_logvar=one(log_variance))[0]
    quadratic = (x - mean) ** 2 / (2 * variance)
    tolerance = (allowed(fixed, oracle.value_bound("gaussian", x, mean, scale=variance))
                 + allowed(learned, oracle.value_bound("gaussian", x, mean,
                                                       log_scale=log_variance))
                 + U * (abs(quadratic - 0.5) * (1 + 4 * U)))
    assert abs(fixed - learned) <= tolerance


@settings(max_examples=100)
@given(x=st.floats(-10, 10), mean=st.floats(-10, 10), log_scale=st.floats(-20, 20))
def test_fixed_scale_equals_learned_with_its_log(x, mean, log_scale):
    """laplace:scale=S with S = fl(e^ls) vs laplace-learned at ls: |d value / d log S| =
    | |x-m|/S - 1 | times U, plus each value's half ulp and bound."""
    with mpmath.workprec(oracle.PRECISION):
        scale = float(mpmath.exp(log_scale))
    fixed = log_likelihood_elementwise(one(x), one(mean), f"laplace:scale={scale!r}")[0]
    learned = log_likelihood_elementwise(one(x), one(mean), "laplace-learned",
                                         dec_logscale=one(log_scale))[0]
    tolerance = (allowed(fixed, oracle.value_bound("laplace", x, mean, scale=scale))
                 + allowed(learned, oracle.value_bound("laplace", x, mean, log_scale=log_scale))
                 + U * abs(abs(x - mean) / scale - 1) * (1 + 4 * U))
    assert abs(fixed - learned) <= tolerance


def test_shared_learned_parameter_broadcasts():
    """dec_logvar of shape (B, 1) is one variance per example: the same as passing it per
    element; its gradient comes back per element, of x's shape."""
    x = np.array([[0.1, 0.5, 0.9], [0.3, 0.3, 0.3]])
    mean = np.array([[0.2, 0.4, 0.6], [0.0, 1.0, 2.0]])
    shared = np.array([[-1.0], [2.0]])
    per_element = np.repeat(shared, 3, axis=1)
    assert np.array_equal(log_likelihood(x, mean, "gaussian-learned", dec_logvar=shared),
                          log_likelihood(x, mean, "gaussian-learned", dec_logvar=per_element))
    grad = log_likelihood_grad(x, mean, "gaussian-learned", dec_logvar=shared)
    assert grad["dec_logvar"].shape == x.shape


# --------------------------------------------------------------------------- normalization

@pytest.mark.parametrize("logit", [-40.0, -6.0, -1.0, -1e-9, 0.0, 1e-12, 0.5, 3.0, 6.0, 30.0])
def test_continuous_bernoulli_density_integrates_to_one(logit):
    """integral_0^1 exp(log p(x | l)) dx = 1. With size = |l| + 1, which bounds |log p| and
    every piece the spec's bound counts, a log-density errs by at most U size (rounding) +
    EPS_F size (its bound), so the density by that plus exp's EPS_F, relative; the integral,
    1, by as much plus quad's abserr."""
    def density(x):
        return math.exp(log_likelihood_elementwise(one(x), one(logit),
                                                   "continuous-bernoulli-logits")[0])

    integral, abserr = integrate.quad(density, 0, 1, epsabs=0, epsrel=2e-14, limit=200)
    size = abs(logit) + 1
    assert abs(integral - 1) <= abserr + U * size + EPS_F * (size + 1)


@pytest.mark.parametrize("lam", [1e-12, 0.2, 0.5 - 1e-12, 0.5, 0.7, 1 - 1e-9])
def test_continuous_bernoulli_probs_density_integrates_to_one(lam):
    """As above with lambda: size = |logit lambda| + 1 + |log lambda| + |log(1-lambda)| bounds
    |log p| and the sizes in the probs bound (the two logs enter it beyond |1 - 2 lambda| = 1/2)."""
    def density(x):
        return math.exp(log_likelihood_elementwise(one(x), one(lam),
                                                   "continuous-bernoulli-probs")[0])

    integral, abserr = integrate.quad(density, 0, 1, epsabs=0, epsrel=2e-14, limit=200)
    size = abs(special.logit(lam)) + 1 + abs(math.log(lam)) + abs(math.log1p(-lam))
    assert abs(integral - 1) <= abserr + U * size + EPS_F * (size + 1)


# ------------------------------------------------------------------------------ magnitude

NAMES = ["bernoulli-probs", "bernoulli-logits", "continuous-bernoulli-probs",
         "continuous-bernoulli-logits", "gaussian:var=0.3", "gaussian-learned",
         "laplace:scale=0.3", "laplace-learned"]


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=60)
@given(x=st.floats(0, 1), recon=st.floats(-20, 20), log_parameter=st.floats(-10, 10),
       constants=st.booleans())
def test_magnitude_bounds_the_value(name, x, recon, log_parameter, constants):
    """M is a sum of absolute values of summands whose sum is the value, so M >= |value|
    (up to the two computations' roundings, 8U of M)."""
    if name.endswith("probs"):
        recon = special.expit(recon)
        if name.startswith("continuous") and recon in (0.0, 1.0):
            recon = 0.5
    params = {}
    if name.endswith("learned"):
        params = {"dec_logvar" if name.startswith("gaussian") else "dec_logscale":
                  one(log_parameter)}
    value = log_likelihood_elementwise(one(x), one(recon), name, constants=constants,
                                       **params)[0]
    magnitude = log_likelihood_magnitude(one(x), one(recon), name, constants=constants,
                                         **params)[0]
    assert magnitude >= 0
    assert abs(value) <= magnitude * (1 + 8 * U)


def test_per_example_sum_is_the_sum_of_the_elements():
    """log_likelihood adds the element values exactly (the pieces) and rounds once: it is
    within half an ulp of the sum plus half an ulp of each element of math.fsum of the
    rounded element values."""
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, (4, 50))
    logits = rng.normal(0, 5, (4, 50))
    for name in ["bernoulli-logits", "continuous-bernoulli-logits"]:
        elements = log_likelihood_elementwise(x, logits, name)
        per_example = log_likelihood(x, logits, name)
        for b in range(4):
            reference = math.fsum(elements[b])
            slack = (math.ulp(reference) + sum(math.ulp(v) for v in elements[b])) / 2
            assert abs(per_example[b] - reference) <= slack + math.ulp(per_example[b]) / 2
