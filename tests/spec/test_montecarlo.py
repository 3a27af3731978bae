"""Monte Carlo and RQMC estimators: unbiased, honest error bars, stated power, clear errors.

Every sampled assertion is seeded. "False-failure probability" is the probability, under the
estimator's own error model ((mean - truth) / stderr ~ t with replicates - 1 dof), that a
correct estimator fails the assertion for a fresh seed; the fixed seed makes each run identical.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from scipy.stats import qmc

from vae_spec.montecarlo import (
    Estimate,
    detectable_shift,
    kl_estimate,
    mc_expectation,
    rqmc_expectation,
)

FALSE_FAILURE = 1e-6


def squared_norm(z):
    """E |Z|^2 = dim for Z ~ N(0, I_dim)."""
    return np.sum(z * z, axis=1)


def exponential_of(a):
    """f(z) = exp(a . z), with E f(Z) = exp(|a|^2 / 2) (the normal moment generating function)."""
    a = np.asarray(a, dtype=np.float64)
    return (lambda z: np.exp(z @ a)), math.exp(0.5 * float(a @ a))


@pytest.mark.parametrize("estimator", ["mc", "rqmc"])
@pytest.mark.parametrize("integrand", ["squared_norm", "exponential"])
def test_estimate_covers_known_expectation(estimator, integrand):
    # Truth inside interval(1e-6): fails for a correct estimator with probability 1e-6.
    dim = 3
    if integrand == "squared_norm":
        f, truth = squared_norm, float(dim)
    else:
        f, truth = exponential_of([0.5, -0.3, 0.2])
    if estimator == "mc":
        estimate = mc_expectation(f, dim, n=2**14, seed=11)
    else:
        estimate = rqmc_expectation(f, dim, n=2**10, replicates=16, seed=11)
    assert abs(estimate.mean - truth) <= estimate.interval(FALSE_FAILURE)
    # The check has power: it detects a relative error of 10% (MC, 2^14 draws) or 3% (RQMC,
    # same count) with probability 1 - 1e-6. Measured: about 6% and 1%; RQMC's stderr
    # estimate (15 dof) exceeds 3 times its true value with probability 2e-21.
    detectable = {"mc": 0.1, "rqmc": 0.03}[estimator]
    assert detectable_shift(estimate, FALSE_FAILURE, 1 - FALSE_FAILURE) < detectable * truth


def test_mc_stderr_matches_the_known_variance():
    # For f(z) = z^2 (dim 1), Var f = 2, so the true standard error is sqrt(2 / n). The sample
    # variance s^2 has mean 2 and variance (mu_4 - sigma^4) / n with mu_4 = E (z^2 - 1)^4 =
    # 105 - 4*15 + 6*3 - 4 + 1 = 60 and sigma^4 = 4 (CLT for s^2). So |s^2 - 2| <=
    # z_{1-a/2} sqrt(56 / n) fails with probability a = 1e-6. At n = 2^18 it detects s^2 off
    # by 10% (stderr off by 5%) with probability 1 - 1e-6: (z_{1-a/2} + z_{1-1e-6})
    # sqrt(56 / 2^18) = 0.141 < 0.2.
    n = 2**18
    estimate = mc_expectation(lambda z: z[:, 0] ** 2, 1, n=n, seed=5)
    sample_variance = estimate.stderr**2 * n
    assert abs(sample_variance - 2.0) <= stats.norm.isf(FALSE_FAILURE / 2) * math.sqrt(56 / n)
    assert estimate.n == n and estimate.replicates == n


def test_rqmc_coverage_frequency():
    # 300 independent small RQMC estimates (8 replicates of 64 points) of E|Z|^2 in dim 2: the
    # nominal 80% interval misses with probability 0.2 each, so the miss count is
    # Binomial(300, 0.2). The acceptance range below has probability >= 1 - 1e-6. A stderr
    # wrong by a factor 2 makes the miss rate 0.50 (too small) or 0.025 (too large): the count
    # then leaves the range with probability > 1 - 2e-9 (binomial tails, computed with scipy).
    trials, p_miss = 300, 0.2
    misses = 0
    for seed in range(trials):
        estimate = rqmc_expectation(squared_norm, 2, n=64, replicates=8, seed=seed)
        misses += abs(estimate.mean - 2.0) > estimate.interval(p_miss)
    low = stats.binom.ppf(FALSE_FAILURE / 2, trials, p_miss)
    high = stats.binom.isf(FALSE_FAILURE / 2, trials, p_miss)
    assert low <= misses <= high


def test_rqmc_beats_mc_on_a_smooth_integrand():
    # Same total count (2^14 evaluations). For a smooth integrand scrambled Sobol' variance
    # falls almost like n^-3 against n^-1; here RQMC's stderr is about 20 times below MC's
    # (measured over seeds: 17 to 31). MC's stderr estimate has 2^14 - 1 dof (within 5% of the
    # truth); RQMC's has 15, so for a correct estimator the ratio falls below 5 only if
    # chi2_15 / 15 > 16 (probability < 1e-30). An RQMC no better than MC would pass only if
    # chi2_15 / 15 < 1 / 25 (probability 7e-9).
    f, _ = exponential_of([0.4, 0.4])
    mc = mc_expectation(f, 2, n=2**14, seed=3)
    rqmc = rqmc_expectation(f, 2, n=2**10, replicates=16, seed=3)
    assert rqmc.n == mc.n
    assert rqmc.stderr * 5 < mc.stderr


def test_rqmc_draws_stay_finite_at_the_corner_of_the_net(monkeypatch):
    # Scrambled Sobol' points lie on the grid k / 2^30, 0 included, where the normal quantile
    # is -inf. With every net point forced to 0 the draws must stay finite and spread
    # uniformly over the first grid cell: their normal CDF in (0, 2^-30], reaching below
    # 1/4 and above 3/4 of the cell (128 uniform values per coordinate miss either quarter
    # with probability 2 (3/4)^128 < 1e-15).
    monkeypatch.setattr(qmc.Sobol, "random", lambda self, n: np.zeros((n, self.d)))
    seen = []

    def record(z):
        seen.append(z)
        return np.zeros(len(z))

    rqmc_expectation(record, 2, n=64, replicates=2, seed=0)
    draws = np.concatenate(seen)
    assert np.isfinite(draws).all()
    cdf = stats.norm.cdf(draws)
    # norm.cdf(norm.ppf(u)) returns u to a few ulps: 1e-9 relative slack is ample.
    assert (cdf > 0).all() and (cdf <= 2.0**-30 * (1 + 1e-9)).all()
    cell = cdf * 2.0**30
    assert (cell.min(axis=0) < 0.25).all() and (cell.max(axis=0) > 0.75).all()


def test_detectable_shift_is_detected():
    # Shift the integrand by the stated detectable shift delta (power 1 - 1e-6). With the same
    # seed the shifted estimate is m + delta with the same stderr s, so it is detected exactly
    # when |m + delta - truth| > t s, which holds whenever |m - truth| / s < delta / s - t.
    # A miss therefore needs |T| >= delta / s - t with T ~ t(dof): that probability is
    # computed and asserted <= 1e-6 below.
    dim = 3
    estimate = rqmc_expectation(squared_norm, dim, n=512, replicates=16, seed=21)
    delta = detectable_shift(estimate, FALSE_FAILURE, 1 - FALSE_FAILURE)
    critical = stats.t.isf(FALSE_FAILURE / 2, estimate.dof)
    miss_probability = 2 * stats.t.sf(delta / estimate.stderr - critical, estimate.dof)
    assert miss_probability <= FALSE_FAILURE
    shifted = rqmc_expectation(lambda z: squared_norm(z) + delta, dim, n=512, replicates=16,
                               seed=21)
    assert abs(shifted.mean - dim) > shifted.interval(FALSE_FAILURE)
    # And the unshifted estimate passes (false-failure 1e-6), so the shift made the difference.
    assert abs(estimate.mean - dim) <= estimate.interval(FALSE_FAILURE)


def test_detectable_shift_statistics():
    alpha, power, stderr = 1e-6, 0.999, 0.25
    normal = detectable_shift(stderr, alpha, power)
    # Known stderr: (z_{1-a/2} + z_power) * se, quantiles from scipy's normal distribution.
    assert normal == pytest.approx((4.891638475698 + 3.090232306168) * stderr, rel=1e-10)
    # The noncentral-t solution tends to the normal one as the dof grow (relative gap
    # O(1/dof): 1e-3 leaves a wide margin at dof 1e5) and exceeds it at few dof.
    many = Estimate(mean=0.0, stderr=stderr, n=10**5, replicates=10**5)
    assert detectable_shift(many, alpha, power) == pytest.approx(normal, rel=1e-3)
    few = Estimate(mean=0.0, stderr=stderr, n=16 * 1024, replicates=16)
    shift = detectable_shift(few, alpha, power)
    assert shift > normal
    # At the returned shift the test rejects on the right side with the requested probability
    # (noncentral t, dof 15; brentq's tolerance is 1e-12 in delta).
    critical = stats.t.isf(alpha / 2, 15)
    assert stats.nct.sf(critical, 15, shift / stderr) == pytest.approx(power, abs=1e-9)


def test_interval_uses_t_quantiles():
    estimate = Estimate(mean=1.0, stderr=0.5, n=64, replicates=4)
    # t_{1 - 0.05/2} with 3 dof = 3.182446305284 (standard t table value).
    assert estimate.interval(0.05) == pytest.approx(3.182446305284 * 0.5, rel=1e-10)


def test_kl_estimate_matches_closed_form():
    # KL(N(mu, diag s^2) || N(0, I)) = 1/2 sum_j (mu_j^2 + s_j^2 - 1 - log s_j^2).
    mu = np.array([0.3, -1.2, 2.0, 0.0])
    logvar = np.array([-0.5, 0.7, -2.0, 0.1])
    truth = 0.5 * float(np.sum(mu**2 + np.exp(logvar) - 1 - logvar))
    for method, n in (("rqmc", 2**14), ("mc", 2**16)):
        estimate = kl_estimate(mu, logvar, n=n, method=method, seed=7)
        assert estimate.n == n
        # Inside interval(1e-6): false-failure 1e-6 per method.
        assert abs(estimate.mean - truth) <= estimate.interval(FALSE_FAILURE)
        # Power: a 5% relative error is detected with probability 1 - 1e-6 (measured:
        # 2.2% for MC at 2^16 draws, 0.2% to 0.3% for RQMC at 2^14).
        assert detectable_shift(estimate, FALSE_FAILURE, 1 - FALSE_FAILURE) < 0.05 * truth


@pytest.mark.parametrize("n", [3, 100, 1000])
def test_rqmc_rejects_n_not_a_power_of_two(n):
    with pytest.raises(ValueError, match="^n: .*power of 2"):
        rqmc_expectation(squared_norm, 2, n=n, replicates=4, seed=0)


@pytest.mark.parametrize("replicates", [0, 1])
def test_rqmc_rejects_fewer_than_two_replicates(replicates):
    with pytest.raises(ValueError, match="^replicates: "):
        rqmc_expectation(squared_norm, 2, n=64, replicates=replicates, seed=0)


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: mc_expectation(squared_norm, 2, n=1, seed=0), "n"),
        (lambda: mc_expectation(squared_norm, 0, n=16, seed=0), "dim"),
        (lambda: mc_expectation(squared_norm, 2, n=16.0, seed=0), "n"),
        (lambda: mc_expectation(lambda z: z, 2, n=16, seed=0), "f"),
        (lambda: mc_expectation(lambda z: np.full(len(z), np.inf), 1, n=16, seed=0), "f"),
        (lambda: Estimate(mean=0.0, stderr=1.0, n=4, replicates=1), "replicates"),
        (lambda: Estimate(mean=0.0, stderr=-1.0, n=4, replicates=4), "stderr"),
        (lambda: Estimate(0.0, 1.0, 4, 4).interval(1.5), "false_failure"),
        (lambda: detectable_shift(0.1, 0.0, 0.9), "false_failure"),
        (lambda: detectable_shift(0.1, 1e-6, 1.0), "power"),
        (lambda: detectable_shift(0.1, 1e-6, 0.2), "power"),
        (lambda: detectable_shift(-0.1, 1e-6, 0.9), "stderr_or_estimate"),
        (lambda: kl_estimate([0.0], [0.0, 1.0], n=64), "logvar"),
        (lambda: kl_estimate([[0.0]], [[0.0]], n=64), "mu"),
        (lambda: kl_estimate([0.0], [0.0], n=64, method="qmc"), "method"),
        (lambda: kl_estimate([0.0], [0.0], n=100, replicates=16), "n"),
        (lambda: kl_estimate([np.nan], [0.0], n=64), "mu"),
    ],
)
def test_bad_input_names_the_argument(call, argument):
    with pytest.raises(ValueError, match=f"^{argument}: "):
        call()
