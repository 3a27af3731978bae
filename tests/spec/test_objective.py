"""The objective: conventions, (negative) ELBO, Monte Carlo ELBO given z, IWAE bound.

Tolerances are in units of U = 2^-53 times a magnitude M: the sum of absolute values of the
summands of the textbook formula, which bounds the rounding error of every correct evaluation
(README, Error bounds). KAPPA = 8 covers the spec's per-element error (each element is within a few
ulps of its magnitude: elementary functions <= 1 ulp, then a handful of roundings) plus the
rounding of per-example and batch sums (exact sums rounded once).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vae_spec import spec
from vae_spec.montecarlo import detectable_shift, rqmc_expectation
from vae_spec.spec import Convention

U = 2.0**-53
KAPPA = 8
FALSE_FAILURE = 1e-6

LIKELIHOOD_NAMES = (
    "bernoulli-probs", "bernoulli-logits", "continuous-bernoulli-probs",
    "continuous-bernoulli-logits", "gaussian", "gaussian:var=0.3", "gaussian-learned",
    "laplace", "laplace:scale=2.5", "laplace-learned",
)
POSTERIORS = ("logvar", "logstd", "std", "var")


def from_logvar(logvar, posterior):
    """The posterior scale argument in a parameterization, from log sigma^2."""
    return {"logvar": logvar, "logstd": 0.5 * logvar, "std": np.exp(0.5 * logvar),
            "var": np.exp(logvar)}[posterior]


@st.composite
def problems(draw, likelihoods=LIKELIHOOD_NAMES, batch=(1, 4), posteriors=POSTERIORS,
             prior=True):
    """Inputs for one objective call: data (B, D), latent (B, d), a likelihood, a posterior
    parameterization and optionally a diagonal prior; values from a seeded generator."""
    b = draw(st.integers(*batch))
    data, latent = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    name = draw(st.sampled_from(likelihoods))
    posterior = draw(st.sampled_from(posteriors))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if name.startswith(("bernoulli", "continuous")):
        x = rng.random((b, data))
        if draw(st.booleans()):
            x = np.round(x)  # binary targets
        x_recon = (rng.uniform(0.02, 0.98, (b, data)) if name.endswith("probs")
                   else 3.0 * rng.standard_normal((b, data)))
    else:
        x = 2.0 * rng.standard_normal((b, data))
        x_recon = 2.0 * rng.standard_normal((b, data))
    logvar = 1.5 * rng.standard_normal((b, latent))
    problem = dict(x=x, x_recon=x_recon, mu=1.5 * rng.standard_normal((b, latent)),
                   logvar=from_logvar(logvar, posterior), likelihood=name, posterior=posterior)
    if name == "gaussian-learned":
        problem["dec_logvar"] = 0.8 * rng.standard_normal((b, data))
    if name == "laplace-learned":
        problem["dec_logscale"] = 0.8 * rng.standard_normal((b, data))
    if prior and draw(st.booleans()):
        problem["prior_mu"] = rng.standard_normal(latent)
        problem["prior_logvar"] = rng.standard_normal(latent)
    return problem


conventions = st.builds(
    Convention,
    data=st.sampled_from(["sum", "mean"]), latent=st.sampled_from(["sum", "mean"]),
    batch=st.sampled_from(["mean", "sum", "none"]),
    beta=st.sampled_from([0.0, 0.25, 1.0, 3.0]), scale=st.sampled_from([1.0, 0.5, 784.0]),
    constants=st.booleans(),
)


def call(function, problem, convention=Convention(), **overrides):
    """Call an objective function with a problem's arguments by keyword."""
    args = {**problem, **overrides}
    return function(args.pop("x"), args.pop("x_recon"), args.pop("mu"), args.pop("logvar"),
                    args.pop("likelihood"), convention, **args)


def magnitude(problem, convention=Convention()) -> np.ndarray:
    """Per-example M of scale * (reconstruction + beta * kl) under a convention."""
    terms = call(spec.loss_terms, problem, convention)
    return convention.scale * (terms.reconstruction_magnitude
                               + convention.beta * terms.kl_magnitude)


# --------------------------------------------------------------------------- conventions

@settings(max_examples=40)
@given(problems(), conventions)
def test_negative_elbo_is_minus_elbo(problem, convention):
    # Negation is exact in floating point.
    np.testing.assert_array_equal(call(spec.negative_elbo, problem, convention),
                                  -np.asarray(call(spec.elbo, problem, convention)))


@settings(max_examples=40)
@given(problems(), conventions)
def test_batch_reductions(problem, convention):
    def batch(how):
        return Convention(**{**convention.as_dict(), "batch": how})

    per_example = call(spec.negative_elbo, problem, batch("none"))
    terms = call(spec.loss_terms, problem, convention)
    # "none" is scale * (reconstruction + beta * kl) per example, with the same roundings.
    np.testing.assert_array_equal(
        per_example, convention.scale * (terms.reconstruction + convention.beta * terms.kl))
    summed = call(spec.negative_elbo, problem, batch("sum"))
    mean = call(spec.negative_elbo, problem, batch("mean"))
    # Sum and mean are the correctly rounded batch sum (then / B): exact equalities.
    assert summed == math.fsum(per_example.tolist())
    assert mean == summed / len(per_example)


@settings(max_examples=40)
@given(problems(), st.sampled_from([0.25, 1.0, 3.0]), st.sampled_from([0.5, 1.0, 784.0]))
def test_beta_weights_the_kl_and_scale_weights_both(problem, beta, scale):
    terms = call(spec.loss_terms, problem)
    unweighted = call(spec.negative_elbo, problem, Convention(batch="none", beta=0.0))
    weighted = call(spec.negative_elbo, problem, Convention(batch="none", beta=beta))
    # beta = 0 leaves the reconstruction alone (adding 0 * kl is exact).
    np.testing.assert_array_equal(unweighted, terms.reconstruction)
    # weighted = fl(r + fl(beta k)); its difference from r is beta k up to two roundings of
    # size u |r| + u |beta k|, then the subtraction's own: 4 u (|r| + beta |k|) bounds it.
    bound = 4 * U * (np.abs(terms.reconstruction) + beta * np.abs(terms.kl))
    assert np.all(np.abs((weighted - unweighted) - beta * terms.kl) <= bound)
    # scale multiplies the per-example total once: one rounding, u |value|.
    scaled = call(spec.negative_elbo, problem, Convention(batch="none", beta=beta, scale=scale))
    assert np.all(np.abs(scaled - scale * weighted) <= U * np.abs(scale * weighted))


@settings(max_examples=40)
@given(problems())
def test_data_and_latent_mean_divide_by_the_counts(problem):
    data_size = problem["x"][0].size
    latent_size = problem["mu"][0].size
    summed = call(spec.loss_terms, problem)
    averaged = call(spec.loss_terms, problem, Convention(data="mean", latent="mean"))
    # Each mean is the same correctly rounded sum divided by the count: exact equality.
    np.testing.assert_array_equal(averaged.reconstruction, summed.reconstruction / data_size)
    np.testing.assert_array_equal(averaged.kl, summed.kl / latent_size)
    np.testing.assert_array_equal(averaged.reconstruction_magnitude,
                                  summed.reconstruction_magnitude / data_size)
    np.testing.assert_array_equal(averaged.kl_magnitude, summed.kl_magnitude / latent_size)
    # And the loss uses them: reconstruction / D + kl / d per example.
    loss = call(spec.negative_elbo, problem, Convention(data="mean", latent="mean", batch="none"))
    np.testing.assert_array_equal(loss, averaged.reconstruction + averaged.kl)


@settings(max_examples=40)
@given(problems(likelihoods=("gaussian", "gaussian:var=0.3", "gaussian-learned", "laplace",
                             "laplace:scale=2.5", "laplace-learned", "bernoulli-logits",
                             "continuous-bernoulli-probs")))
def test_dropping_constants_shifts_by_the_constant(problem):
    # The dropped constant per element, from the textbook formula: 1/2 log(2 pi V) (fixed
    # Gaussian), 1/2 log(2 pi) (learned), log(2S) (fixed Laplace), log 2 (learned), 0 else.
    name = problem["likelihood"]
    per_element = {"gaussian": 0.5 * math.log(2 * math.pi),
                   "gaussian:var=0.3": 0.5 * math.log(2 * math.pi * 0.3),
                   "gaussian-learned": 0.5 * math.log(2 * math.pi),
                   "laplace": math.log(2.0), "laplace:scale=2.5": math.log(5.0),
                   "laplace-learned": math.log(2.0)}.get(name, 0.0)
    data_size = problem["x"][0].size
    with_constants = call(spec.negative_elbo, problem, Convention(batch="none"))
    without = call(spec.negative_elbo, problem, Convention(batch="none", constants=False))
    # Each loss is within KAPPA u M of exact (M with constants, the larger); the difference
    # of the two plus the constant's own rounding (u per element, D elements).
    bound = 2 * KAPPA * U * magnitude(problem) + U * data_size * abs(per_element)
    assert np.all(np.abs((with_constants - without) - data_size * per_element) <= bound)


@settings(max_examples=40)
@given(problems(batch=(1, 1), prior=False), st.integers(1, 9), conventions)
def test_identical_rows_under_batch_mean_equal_the_row(problem, copies, convention):
    convention = Convention(**{**convention.as_dict(), "batch": "mean"})
    tiled = {key: (np.repeat(value, copies, axis=0) if isinstance(value, np.ndarray) else value)
             for key, value in problem.items()}
    single = call(spec.negative_elbo, problem, convention)
    repeated = call(spec.negative_elbo, tiled, convention)
    # fl(fl(B v) / B) is within 2 u |v| of v; numpy's vector and scalar loops may round an
    # element differently (by a few ulps of its magnitude), adding KAPPA u M.
    bound = 2 * U * abs(single) + KAPPA * U * magnitude(problem, convention)[0]
    assert abs(repeated - single) <= bound


# ------------------------------------------------------------------ composition and formulas

@settings(max_examples=60)
@given(problems(), conventions)
def test_loss_terms_compose_the_spec_functions(problem, convention):
    params = {k: problem[k] for k in ("dec_logvar", "dec_logscale") if k in problem}
    x, x_recon, mu, scale = (problem[k] for k in ("x", "x_recon", "mu", "logvar"))
    log_lik = spec.log_likelihood(x, x_recon, problem["likelihood"],
                                  constants=convention.constants, **params)
    if "prior_mu" in problem:
        kl = spec.kl_diagonal(mu, spec.scale_to_logvar(scale, problem["posterior"]),
                              np.broadcast_to(problem["prior_mu"], mu.shape),
                              np.broadcast_to(problem["prior_logvar"], mu.shape))
    else:
        kl = spec.kl_standard_normal(mu, scale, posterior=problem["posterior"])
    terms = call(spec.loss_terms, problem, convention)
    data_count = x[0].size if convention.data == "mean" else 1
    latent_count = mu[0].size if convention.latent == "mean" else 1
    # The terms are the spec's per-example functions (divided by the count for a mean): the
    # same values, bit for bit.
    np.testing.assert_array_equal(terms.reconstruction, -log_lik / data_count)
    np.testing.assert_array_equal(terms.kl, kl / latent_count)
    magnitude_lik = spec.log_likelihood_magnitude(x, x_recon, problem["likelihood"],
                                                  constants=convention.constants, **params)
    np.testing.assert_array_equal(
        terms.reconstruction_magnitude,
        spec.reduce_example(magnitude_lik, convention.data))


def test_default_negative_elbo_matches_the_textbook():
    # Default: Bernoulli logits, N(0, I) prior, data/latent sum, batch mean:
    # mean_b [ sum_k (softplus(l) - x l) + 1/2 sum_j (mu^2 + exp(lv) - 1 - lv) ].
    rng = np.random.default_rng(1)
    x = np.round(rng.random((5, 12)))
    logits = 4.0 * rng.standard_normal((5, 12))
    mu = rng.standard_normal((5, 3))
    logvar = 2.0 * rng.standard_normal((5, 3))
    nll = np.logaddexp(0.0, logits) - x * logits
    kl = 0.5 * (mu**2 + np.exp(logvar) - 1.0 - logvar)
    textbook = float(np.mean(np.sum(nll, axis=1) + np.sum(kl, axis=1)))
    # The textbook evaluation's error: each element a few u (KAPPA) of its magnitude, numpy's
    # pairwise sums n u of the sum of magnitudes (n = 12 + 3 + 5 terms added); the spec's is
    # KAPPA u M. Together (KAPPA + 20 + KAPPA) u M.
    m = (np.sum(np.abs(x * logits) + np.logaddexp(0.0, logits))
         + 0.5 * np.sum(mu**2 + np.exp(logvar) + 1.0 + np.abs(logvar))) / 5
    assert abs(spec.negative_elbo(x, logits, mu, logvar) - textbook) <= (2 * KAPPA + 20) * U * m


def test_prior_standard_normal_equals_no_prior():
    # N(0, I) given explicitly is the default prior; KL_diagonal vs KL_standard_normal agree to
    # their error bounds (KAPPA u M each).
    rng = np.random.default_rng(2)
    x = rng.random((3, 4))
    x_recon = rng.standard_normal((3, 4))
    mu, logvar = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    default = spec.loss_terms(x, x_recon, mu, logvar, convention=Convention())
    explicit = spec.loss_terms(x, x_recon, mu, logvar, prior_mu=np.zeros(5),
                               prior_logvar=np.zeros(5))
    assert np.all(np.abs(default.kl - explicit.kl) <= 2 * KAPPA * U * default.kl_magnitude)
    np.testing.assert_array_equal(default.reconstruction, explicit.reconstruction)


# ----------------------------------------------------------------------------- Monte Carlo

MC_KL_CASES = [
    ("logvar", None),
    ("logstd", None),
    ("std", None),
    ("var", None),
    ("logvar", (np.array([0.5, -1.0, 0.0]), np.array([0.3, -0.8, 1.2]))),
]


@pytest.mark.parametrize("posterior, prior", MC_KL_CASES)
def test_mc_kl_averages_to_the_kl(posterior, prior):
    mu = np.array([0.8, -1.3, 0.2])
    logvar = np.array([-0.9, 0.6, 1.4])
    scale = from_logvar(logvar, posterior)
    sigma = np.exp(0.5 * logvar)
    prior_args = {} if prior is None else {"prior_mu": prior[0], "prior_logvar": prior[1]}

    def single_sample_kl(eps):
        n = len(eps)
        return spec.mc_kl(mu + sigma * eps, np.broadcast_to(mu, (n, 3)),
                          np.broadcast_to(scale, (n, 3)), posterior=posterior, **prior_args)

    estimate = rqmc_expectation(single_sample_kl, 3, n=4096, replicates=16, seed=8)
    if prior is None:
        truth = spec.kl_standard_normal(mu[None], scale[None], posterior=posterior)[0]
    else:
        truth = spec.kl_diagonal(mu[None], logvar[None], prior[0][None], prior[1][None])[0]
    # False-failure 1e-6 per case (t, 15 dof); the KL's own rounding (~1e-15) is negligible
    # next to the interval (~1e-3).
    assert abs(estimate.mean - truth) <= estimate.interval(FALSE_FAILURE)
    # It detects a relative error of 1% (say a missing constant of that size) with
    # probability 1 - 1e-6; measured detectable shifts are 0.2% to 0.5% of the KL.
    assert detectable_shift(estimate, FALSE_FAILURE, 1 - FALSE_FAILURE) < 0.01 * truth


@pytest.mark.parametrize("convention", [
    Convention(),
    Convention(latent="mean", data="mean", batch="sum", beta=0.5, scale=2.0),
])
def test_mc_negative_elbo_averages_to_negative_elbo(convention):
    rng = np.random.default_rng(9)
    batch, data, latent = 3, 4, 2
    x = np.round(rng.random((batch, data)))
    x_recon = rng.standard_normal((batch, data))
    mu, logvar = rng.standard_normal((batch, latent)), rng.standard_normal((batch, latent))
    sigma = np.exp(0.5 * logvar)
    per_example = Convention(**{**convention.as_dict(), "batch": "none"})
    reduce = np.mean if convention.batch == "mean" else np.sum

    def mc_loss(eps):
        # n draws of the whole batch at once: row i of the result is the loss of draw i.
        n = len(eps)
        z = (mu + sigma * eps.reshape(n, batch, latent)).reshape(n * batch, latent)
        repeat = lambda a: np.tile(a, (n, 1))  # noqa: E731
        values = spec.mc_negative_elbo(repeat(x), repeat(x_recon), z, repeat(mu), repeat(logvar),
                                       "bernoulli-logits", per_example)
        return reduce(values.reshape(n, batch), axis=1)

    estimate = rqmc_expectation(mc_loss, batch * latent, n=1024, replicates=16, seed=10)
    truth = spec.negative_elbo(x, x_recon, mu, logvar, "bernoulli-logits", convention)
    # False-failure 1e-6 (t, 15 dof); detects 1% of the KL part with probability 1 - 1e-6.
    assert abs(estimate.mean - truth) <= estimate.interval(FALSE_FAILURE)
    kl_part = convention.scale * convention.beta * reduce(
        spec.loss_terms(x, x_recon, mu, logvar, "bernoulli-logits", convention).kl)
    assert detectable_shift(estimate, FALSE_FAILURE, 1 - FALSE_FAILURE) < 0.01 * kl_part
    # The batch reduction of one draw is the exact batch sum (/ B): compare directly.
    z = mu + sigma * rng.standard_normal((batch, latent))
    reduced = spec.mc_negative_elbo(x, x_recon, z, mu, logvar, "bernoulli-logits", convention)
    rows = spec.mc_negative_elbo(x, x_recon, z, mu, logvar, "bernoulli-logits", per_example)
    assert reduced == math.fsum(rows.tolist()) / (batch if convention.batch == "mean" else 1)


@settings(max_examples=60)
@given(problems())
def test_mc_kl_of_the_mean_is_the_log_variance_part(problem):
    # At z = mu: log q - log p = 1/2 sum_j [ (mu - mp)^2 / sp^2 + lp - lv ] (textbook), the
    # quadratic term of q vanishing; checks mc_kl's sign and each parameterization.
    mu = problem["mu"]
    logvar = spec.scale_to_logvar(problem["logvar"], problem["posterior"])
    prior_mu = np.broadcast_to(problem.get("prior_mu", 0.0), mu.shape)
    prior_logvar = np.broadcast_to(problem.get("prior_logvar", 0.0), mu.shape)
    terms = 0.5 * ((mu - prior_mu) ** 2 * np.exp(-prior_logvar) + prior_logvar - logvar)
    expected = np.sum(terms, axis=1)
    got = spec.mc_kl(mu, mu, problem["logvar"], posterior=problem["posterior"],
                     prior_mu=problem.get("prior_mu"), prior_logvar=problem.get("prior_logvar"))
    m = np.sum(np.abs(terms) + 0.5 * np.abs(logvar), axis=1)
    # Both evaluations: a few u per element term (KAPPA) plus numpy's sum (d u M, d <= 4).
    assert np.all(np.abs(got - expected) <= (KAPPA + 4) * U * m)


@settings(max_examples=60)
@given(problems(), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_iwae_log_weights_are_single_sample_mc_elbos(problem, samples, seed):
    # log w_bk is the MC ELBO of example b with sample k: z_bk and the decoder output for it.
    # Sample k's decoder outputs are the batch's rows rolled by k (valid values that differ
    # between samples), so a mix-up of the (b, k) layout shows.
    rng = np.random.default_rng(seed)
    mu, scale, name = problem["mu"], problem["logvar"], problem["likelihood"]
    sigma = np.exp(0.5 * spec.scale_to_logvar(scale, problem["posterior"]))
    z_k = mu[:, None] + sigma[:, None] * rng.standard_normal((len(mu), samples) + mu.shape[1:])
    latent = {k: problem[k] for k in ("posterior", "prior_mu", "prior_logvar") if k in problem}
    decoder_names = [k for k in ("x_recon", "dec_logvar", "dec_logscale") if k in problem]
    decoder_k = {k: np.stack([np.roll(problem[k], s, axis=0) for s in range(samples)], axis=1)
                 for k in decoder_names}
    log_weights = spec.iwae_log_weights(
        problem["x"], decoder_k.pop("x_recon"), z_k, mu, scale, name, **latent, **decoder_k)
    assert log_weights.shape == (len(mu), samples)
    for k in range(samples):
        decoder = {d: np.roll(problem[d], k, axis=0) for d in decoder_names}
        mc_elbo = -spec.mc_negative_elbo(problem["x"], decoder.pop("x_recon"), z_k[:, k], mu,
                                         scale, name, Convention(batch="none"), **latent,
                                         **decoder)
        # Both are log p(x|.) - mc_kl from the same spec functions; numpy may round an element
        # differently in a longer array (vector vs scalar loops): 2 u of (reconstruction M +
        # |mc_kl|) covers that, u |value| the final subtraction.
        terms = spec.loss_terms(problem["x"], np.roll(problem["x_recon"], k, axis=0), mu, scale,
                                name, **latent, **decoder)
        kl_mc = spec.mc_kl(z_k[:, k], mu, scale, **latent)
        bound = 2 * U * (terms.reconstruction_magnitude + np.abs(kl_mc)) + U * np.abs(mc_elbo)
        assert np.all(np.abs(log_weights[:, k] - mc_elbo) <= bound)
    if samples == 1:
        # IWAE_1 is the log-weight itself, exactly (m + (log 1 - log 1)).
        np.testing.assert_array_equal(spec.iwae_bound(log_weights), log_weights[:, 0])


def exact_iwae(row) -> float:
    """log mean exp of the given float log-weights, in 60-digit arithmetic."""
    with mpmath.workdps(60):
        total = mpmath.fsum(mpmath.exp(mpmath.mpf(float(v))) for v in row)
        return float(mpmath.log(total / len(row)))


@pytest.mark.parametrize("offset", [-1e4, -700.0, 0.0, 700.0, 1e4])
def test_iwae_bound_is_stable_far_from_zero(offset):
    # exp overflows beyond 709.8 and underflows below -745: a naive log-mean-exp returns inf
    # or -inf here; the max-shifted one is accurate to its own roundings.
    rng = np.random.default_rng(12)
    log_weights = offset + rng.standard_normal((4, 7))
    result = spec.iwae_bound(log_weights)
    for b, row in enumerate(log_weights):
        exact = exact_iwae(row)
        # Error: the final additions round at u |result|; exp (1 ulp each, summed exactly),
        # log and log K add about 2 u of log S + log K (S <= K = 7); the shifts are exact
        # (Sterbenz). 2 u |result| + 8 u (1 + log 7) bounds it.
        assert abs(result[b] - exact) <= 2 * U * abs(exact) + 8 * U * (1 + math.log(7))


def test_iwae_bound_mixed_scales():
    # One weight dominates by e^20000: the bound is that log-weight minus log K.
    log_weights = np.array([[-1e4, 1e4, -np.inf], [5.0, 5.0, 5.0]])
    result = spec.iwae_bound(log_weights)
    assert result[0] == pytest.approx(1e4 - math.log(3), rel=2 * U)
    assert result[1] == pytest.approx(5.0, rel=4 * U)


@settings(max_examples=100)
@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 9),
       st.sampled_from([1e-3, 1.0, 30.0, 1e3]))
def test_iwae_bound_between_mean_and_max(seed, batch, samples, spread):
    # Jensen: mean_k log w <= log mean_k w <= max_k log w, with equality for K = 1; the spec's
    # error is 2 u |result| + 8 u (1 + log K) (as above).
    log_weights = spread * np.random.default_rng(seed).standard_normal((batch, samples))
    result = spec.iwae_bound(log_weights)
    slack = 2 * U * np.abs(result) + 8 * U * (1 + math.log(samples))
    assert np.all(result >= np.mean(log_weights, axis=1) - slack - samples * U * np.max(
        np.abs(log_weights), axis=1))  # numpy's mean: K u max |log w|
    assert np.all(result <= np.max(log_weights, axis=1) + slack)


# --------------------------------------------------------------------------------- errors

X = np.full((2, 3), 0.5)
X_RECON = np.zeros((2, 3))
MU = np.zeros((2, 4))
LOGVAR = np.zeros((2, 4))


@pytest.mark.parametrize("call_, argument", [
    (lambda: spec.negative_elbo(X, X_RECON[:, :2], MU, LOGVAR), "x_recon"),
    (lambda: spec.negative_elbo(X, X_RECON, MU, LOGVAR[:, :3]), "logvar"),
    (lambda: spec.negative_elbo(X, X_RECON, MU[:1], LOGVAR[:1]), "mu"),
    (lambda: spec.negative_elbo(X, X_RECON, MU, LOGVAR, "gauss"), "likelihood"),
    (lambda: spec.negative_elbo(X, X_RECON, MU, LOGVAR, "bernoulli-logits", "sum"),
     "convention"),
    (lambda: spec.negative_elbo(X, X_RECON, np.full((2, 4), np.nan), LOGVAR), "mu"),
    (lambda: spec.negative_elbo(X, X_RECON, MU, LOGVAR, posterior="sigma"), "posterior"),
    (lambda: spec.negative_elbo(X, X_RECON, MU, LOGVAR, prior_mu=np.zeros(3)), "prior_mu"),
    (lambda: spec.negative_elbo(X, X_RECON, MU, LOGVAR, "gaussian-learned"), "dec_logvar"),
    (lambda: spec.loss_terms(X, X_RECON, MU, LOGVAR, prior_logvar=[np.inf] * 4),
     "prior_logvar"),
    (lambda: spec.elbo(X, X_RECON, MU, 1.0), "logvar"),
    (lambda: spec.mc_kl(np.zeros((2, 3)), MU, LOGVAR), "z"),
    (lambda: spec.mc_kl(MU, MU, LOGVAR[:1]), "logvar"),
    (lambda: spec.mc_kl(np.full((2, 4), np.inf), MU, LOGVAR), "z"),
    (lambda: spec.mc_negative_elbo(X, X_RECON, np.zeros((2, 5)), MU, LOGVAR), "z"),
    (lambda: spec.iwae_log_weights(X, X_RECON, np.zeros((2, 1, 4)), MU, LOGVAR), "x_recon_k"),
    (lambda: spec.iwae_log_weights(X, X_RECON[:, None], np.zeros((2, 2, 4)), MU, LOGVAR),
     "z_k"),
    (lambda: spec.iwae_log_weights(X, X_RECON[:, None], np.zeros((2, 1, 4)), MU[:1],
                                   LOGVAR[:1]), "mu"),
    (lambda: spec.iwae_log_weights(X, X_RECON[:, None], np.zeros((2, 1, 4)), MU, LOGVAR,
                                   "gaussian-learned", dec_logvar=np.zeros((2, 2, 3))),
     "dec_logvar"),
    (lambda: spec.iwae_bound(np.zeros(3)), "log_weights"),
    (lambda: spec.iwae_bound(np.array([[0.0, np.nan]])), "log_weights"),
    (lambda: spec.iwae_bound(np.array([[0.0, np.inf]])), "log_weights"),
    (lambda: spec.reduce_example(X, "max"), "how"),
    (lambda: spec.reduce_batch(np.zeros(3), "avg"), "how"),
    (lambda: spec.reduce_batch(X, "mean"), "per_example"),
])
def test_bad_input_names_the_argument(call_, argument):
    with pytest.raises(ValueError, match=f"^{argument}\\b"):
        call_()


def test_reductions_are_exact():
    # 1e16 + 1 - 1e16 loses the 1 in naive float64 summation; the exact sum keeps it.
    values = np.array([[1e16, 1.0, -1e16]])
    assert spec.reduce_example(values, "sum")[0] == 1.0
    assert spec.reduce_example(values, "mean")[0] == 1.0 / 3.0
    assert spec.reduce_batch(values[0], "sum") == 1.0
    assert spec.reduce_batch(values[0], "mean") == 1.0 / 3.0
    per_example = np.array([1.0, 2.0])
    none = spec.reduce_batch(per_example, "none")
    np.testing.assert_array_equal(none, per_example)
    assert none is not per_example
