"""The spec's ELBO and IWAE on a model whose evidence and posterior are known exactly.

Model: p(z) = N(0, I_d), p(x|z) = N(W z + b, s^2 I_D). Then p(x) = N(b, W W^T + s^2 I) and
p(z|x) = N(m*, S*) with S* = (I + W^T W / s^2)^-1, m* = S* W^T (x - b) / s^2. W has orthogonal
columns, so W^T W and the posterior covariance are diagonal and a mean-field q can be exact.
For q = N(m, diag sigma^2):
  E_q log p(x|z) = log N(x; W m + b, s^2 I) - tr(W diag(sigma^2) W^T) / (2 s^2)
  ELBO(q) = E_q log p(x|z) - KL(q || p(z)) = log p(x) - KL(q || p(z|x)) <= log p(x).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from vae_spec import spec
from vae_spec.montecarlo import detectable_shift, rqmc_expectation
from vae_spec.spec import Convention

U = 2.0**-53  # float64 unit roundoff
FALSE_FAILURE = 1e-6
DATA, LATENT = 5, 2
NOISE_VAR = 0.5
LIKELIHOOD = f"gaussian:var={NOISE_VAR}"
PER_EXAMPLE = Convention(batch="none")


def _model():
    rng = np.random.default_rng(20240611)
    basis, _ = np.linalg.qr(rng.standard_normal((DATA, LATENT)))  # orthonormal columns
    weights = basis * np.array([1.5, 0.8])  # W = Q diag(c): W^T W = diag(c^2)
    bias = rng.standard_normal(DATA)
    z_true = rng.standard_normal(LATENT)
    x = weights @ z_true + bias + math.sqrt(NOISE_VAR) * rng.standard_normal(DATA)
    return weights, bias, x


W, BIAS, X = _model()
COVARIANCE = W @ W.T + NOISE_VAR * np.eye(DATA)
LOG_EVIDENCE = float(stats.multivariate_normal(mean=BIAS, cov=COVARIANCE).logpdf(X))
POSTERIOR_VAR = 1.0 / (1.0 + np.sum(W * W, axis=0) / NOISE_VAR)  # diagonal of S*
POSTERIOR_MEAN = POSTERIOR_VAR * (W.T @ (X - BIAS)) / NOISE_VAR


def _evidence_error_bound() -> float:
    """Rounding bound for scipy's logpdf (eigendecomposition of C, then a quadratic form and
    a log-determinant): a backward-stable eigh perturbs C by about D u |C|, moving the
    quadratic form r^T C^-1 r by about D u kappa(C) times itself and each log eigenvalue by
    D u kappa(C); 8x covers the remaining O(u) operations."""
    eigenvalues = np.linalg.eigvalsh(COVARIANCE)
    residual = X - BIAS
    quadratic = float(residual @ np.linalg.solve(COVARIANCE, residual))
    condition = eigenvalues.max() / eigenvalues.min()
    return 8 * DATA * U * condition * (quadratic + np.sum(np.abs(np.log(eigenvalues)))
                                       + DATA * math.log(2 * math.pi))


def expected_log_likelihood(mu, logvar) -> float:
    """E_q log p(x|z) in closed form, from the spec's log-likelihood at the mean."""
    log_lik_at_mean = spec.log_likelihood(X[None], (W @ mu + BIAS)[None], LIKELIHOOD)[0]
    return float(log_lik_at_mean) - trace_term(logvar)


def trace_term(logvar) -> float:
    """tr(W diag(sigma^2) W^T) / (2 s^2) = sum_j c_j^2 sigma_j^2 / (2 s^2)."""
    return float(np.sum(np.sum(W * W, axis=0) * np.exp(logvar))) / (2 * NOISE_VAR)


def spec_elbo(mu, logvar) -> tuple[float, float]:
    """ELBO(q) through the spec (negative_elbo at the mean decoder output, minus the trace
    term) and the sum of its terms' magnitudes (the scale of its rounding error)."""
    args = (X[None], (W @ mu + BIAS)[None], mu[None], logvar[None], LIKELIHOOD, PER_EXAMPLE)
    value = float(spec.elbo(*args)[0]) - trace_term(logvar)
    terms = spec.loss_terms(*args)
    magnitude = float(terms.reconstruction_magnitude[0] + terms.kl_magnitude[0])
    return value, magnitude + trace_term(logvar)


def textbook_kl(mu_q, var_q, mu_p, var_p) -> float:
    """KL(N(mu_q, diag var_q) || N(mu_p, diag var_p)), written out independently of the spec."""
    return float(np.sum(_textbook_kl_summands(mu_q, var_q, mu_p, var_p)))


def textbook_kl_error_bound(mu_q, var_q, mu_p, var_p) -> float:
    """Rounding bound for textbook_kl: each of its 4 d summands is within 4 u of itself (at
    most 4 roundings, log's included) and numpy adds them (4 d u of their sum of |summands|):
    (4 + 4 d) u sum |summands|."""
    summands = _textbook_kl_summands(mu_q, var_q, mu_p, var_p)
    return (4 + summands.size) * U * float(np.sum(np.abs(summands)))


def _textbook_kl_summands(mu_q, var_q, mu_p, var_p) -> np.ndarray:
    """1/2 [var_q/var_p, (mu_q - mu_p)^2/var_p, -1, -log(var_q/var_p)] per latent dim."""
    ratio = var_q / var_p
    return 0.5 * np.stack([ratio, (mu_q - mu_p) ** 2 / var_p, -np.ones_like(ratio),
                           -np.log(ratio)])


def test_elbo_equals_evidence_at_the_exact_posterior():
    logvar = np.log(POSTERIOR_VAR)
    value, magnitude = spec_elbo(POSTERIOR_MEAN, logvar)
    # The spec's terms are each within 8 u of their magnitude (the design's kappa u M with
    # kappa = 8 for a handful of summands); the trace term and the final subtraction add a
    # few u of the same magnitudes; scipy's logpdf is within _evidence_error_bound().
    tolerance = 8 * U * magnitude + _evidence_error_bound()
    assert abs(value - LOG_EVIDENCE) <= tolerance
    # Not vacuous: the tolerance is far below the size of either term.
    assert tolerance < 1e-9 * abs(LOG_EVIDENCE)


@settings(max_examples=60)
@given(
    shift=st.lists(st.floats(-3, 3), min_size=LATENT, max_size=LATENT),
    log_ratio=st.lists(st.floats(-4, 4), min_size=LATENT, max_size=LATENT),
)
def test_elbo_gap_is_kl_to_the_posterior(shift, log_ratio):
    # ELBO(q) = log p(x) - KL(q || p(z|x)) for every q: the bound holds, and its gap is the
    # KL to the exact posterior (textbook formula, not the spec's).
    mu = POSTERIOR_MEAN + np.array(shift)
    var = POSTERIOR_VAR * np.exp(log_ratio)
    value, magnitude = spec_elbo(mu, np.log(var))
    gap = textbook_kl(mu, var, POSTERIOR_MEAN, POSTERIOR_VAR)
    # As above, plus the textbook KL's rounding and that of the subtraction log p(x) - ELBO.
    tolerance = (8 * U * magnitude + _evidence_error_bound()
                 + textbook_kl_error_bound(mu, var, POSTERIOR_MEAN, POSTERIOR_VAR)
                 + U * (abs(LOG_EVIDENCE) + abs(value)))
    assert value <= LOG_EVIDENCE + tolerance
    assert abs((LOG_EVIDENCE - value) - gap) <= tolerance


@pytest.mark.parametrize("offset, log_ratio", [((0.0, 0.0), (0.0, 0.0)),
                                               ((0.7, -1.1), (0.9, -0.6))])
def test_expected_log_likelihood_matches_rqmc(offset, log_ratio):
    mu = POSTERIOR_MEAN + np.array(offset)
    logvar = np.log(POSTERIOR_VAR) + np.array(log_ratio)
    sigma = np.exp(0.5 * logvar)

    def log_likelihood(eps):
        z = mu + sigma * eps
        x = np.broadcast_to(X, (len(eps), DATA))
        return spec.log_likelihood(x, z @ W.T + BIAS, LIKELIHOOD)

    estimate = rqmc_expectation(log_likelihood, LATENT, n=1024, replicates=16, seed=3)
    truth = expected_log_likelihood(mu, logvar)
    # False-failure 1e-6 (t with 15 dof for the replicate means).
    assert abs(estimate.mean - truth) <= estimate.interval(FALSE_FAILURE)
    # It catches, with probability 1 - 1e-6, an error of 2% of the trace term (the part of the
    # closed form that the spec's log-likelihood at the mean does not give). Measured: 0.8% to
    # 1% (5e-3 to 1.1e-2 nats).
    assert detectable_shift(estimate, FALSE_FAILURE, 1 - FALSE_FAILURE) < 0.02 * trace_term(logvar)


def test_mc_negative_elbo_averages_to_the_analytic_elbo():
    # E_z~q mc_negative_elbo(x, W z + b, z) = -ELBO(q) = -(log p(x) - KL(q || p(z|x))), the
    # right side computed without the spec. The decoder output depends on z here, so this
    # exercises the Monte Carlo ELBO exactly as a VAE computes it.
    mu = POSTERIOR_MEAN + np.array([0.4, -0.3])
    logvar = np.log(POSTERIOR_VAR) + np.array([0.5, -0.4])
    sigma = np.exp(0.5 * logvar)

    def mc_loss(eps):
        z = mu + sigma * eps
        n = len(eps)
        return spec.mc_negative_elbo(np.broadcast_to(X, (n, DATA)), z @ W.T + BIAS, z,
                                     np.broadcast_to(mu, (n, LATENT)),
                                     np.broadcast_to(logvar, (n, LATENT)), LIKELIHOOD,
                                     PER_EXAMPLE)

    estimate = rqmc_expectation(mc_loss, LATENT, n=1024, replicates=16, seed=4)
    truth = -(LOG_EVIDENCE - textbook_kl(mu, np.exp(logvar), POSTERIOR_MEAN, POSTERIOR_VAR))
    # False-failure 1e-6; detects 0.1% of the value with probability 1 - 1e-6.
    assert abs(estimate.mean - truth) <= estimate.interval(FALSE_FAILURE)
    assert detectable_shift(estimate, FALSE_FAILURE, 1 - FALSE_FAILURE) < 1e-3 * abs(truth)


def test_iwae_increases_toward_the_evidence():
    """E IWAE_K is nondecreasing in K and at most log p(x) (Burda et al. 2016, Theorem 1).

    R = 4000 independent replicates (the batch axis) of K = 64 draws from q; IWAE_K uses the
    first K draws, so the differences IWAE_4K - IWAE_K are paired per replicate and iid over
    replicates. q is wider than the posterior (so the importance weights have finite
    variance) and off-center: its ELBO is about 2.2 nats below log p(x).
    """
    replicates, most = 4000, 64
    mu = POSTERIOR_MEAN + np.array([0.8, -0.5])
    logvar = np.log(POSTERIOR_VAR) + np.array([0.6, 0.4])
    rng = np.random.default_rng(99)
    z = mu + np.exp(0.5 * logvar) * rng.standard_normal((replicates, most, LATENT))
    log_weights = spec.iwae_log_weights(
        np.broadcast_to(X, (replicates, DATA)), z @ W.T + BIAS, z,
        np.broadcast_to(mu, (replicates, LATENT)), np.broadcast_to(logvar, (replicates, LATENT)),
        LIKELIHOOD)
    sizes = (1, 4, 16, 64)
    bounds = {k: spec.iwae_bound(log_weights[:, :k]) for k in sizes}
    one_sided = stats.t.isf(FALSE_FAILURE, replicates - 1)  # 4.76

    def mean_and_stderr(values):
        return float(np.mean(values)), float(np.std(values, ddof=1) / math.sqrt(replicates))

    # Upper bound: E IWAE_K <= log p(x), so "mean > log p(x) + t se" has probability <= 1e-6
    # for each K (one-sided t test; 4 tests, false-failure <= 4e-6 in all).
    for k in sizes:
        mean, stderr = mean_and_stderr(bounds[k])
        assert mean <= LOG_EVIDENCE + one_sided * stderr
    # Increase: each paired mean difference must exceed t se (one-sided, 1e-6). Measured over
    # seeds, the standardized increases are about 38, 25 and 13-15 for 1->4, 4->16, 16->64,
    # so a correct spec fails only if a mean of 4000 iid differences falls more than 8
    # standard errors below its expectation (normal tail: < 1e-15). A wrong sign of
    # log q - log p or a wrong log K makes IWAE_K decrease or overshoot log p(x) by nats.
    for small, large in zip(sizes, sizes[1:]):
        mean, stderr = mean_and_stderr(bounds[large] - bounds[small])
        assert mean > one_sided * stderr
    # Toward log p(x): the gap at K = 64 is below a quarter of the ELBO gap (K = 1). Measured:
    # gaps 2.15-2.23 and 0.031-0.041 nats with standard errors 0.044 and 0.0046; failing needs
    # an error of about 100 standard errors.
    gap_one = LOG_EVIDENCE - np.mean(bounds[1])
    gap_most = LOG_EVIDENCE - np.mean(bounds[64])
    assert gap_most < 0.25 * gap_one
    # K = 1 averages to the ELBO (closed form): false-failure 1e-6, two-sided t.
    elbo = LOG_EVIDENCE - textbook_kl(mu, np.exp(logvar), POSTERIOR_MEAN, POSTERIOR_VAR)
    mean, stderr = mean_and_stderr(bounds[1])
    assert abs(mean - elbo) <= stats.t.isf(FALSE_FAILURE / 2, replicates - 1) * stderr
