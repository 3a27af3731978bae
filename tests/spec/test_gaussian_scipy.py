"""The Gaussian spec against independent computations with scipy: quadrature, randomized QMC,
plain Monte Carlo, scipy.stats' densities and entropies, and a full-matrix KL formula.

Each tolerance is the sum of the spec's documented error and a bound on the other side's
error, derived next to it. Statistical tests are seeded (so each run is identical); their
stated false-failure probability is over fresh seeds, and each states the smallest relative
error it detects with probability >= 0.999.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import integrate, optimize, special, stats
from scipy.stats import qmc

from vae_spec.spec import gaussian

U = 2.0**-53
SPEC_ULPS = 0.5 + 2.0**-37  # the spec's documented error for KL values, in ulps
DETECTION = 0.999


def _finite(low, high):
    return st.floats(low, high, allow_nan=False, allow_infinity=False)


# --- 1-D KL by quadrature ------------------------------------------------------------------------


def quadrature_kl(mu_q, logvar_q, mu_p, logvar_p):
    """(integral of q log(q/p), bound on |integral - exact KL|) with scipy.stats.norm.logpdf.

    The bound is quad's own error estimate (QUADPACK's conservative Gauss-Kronrod estimate)
    plus the rounding of the integrand: each logpdf performs <= 6 roundings, each at most u
    times S = ((z - m)/s)^2/2 + |log s| + log(2 pi)/2, so |d log q| <= 6 u S_q; exp turns that
    into a relative error of q, which multiplies log q - log p; the difference and the product
    add 2 u. Per point: |d f| <= 8 u q (S_q + S_p)(1 + |log q - log p|), integrated by quad.
    The interval [mu_q - 40 s_q, mu_q + 40 s_q] leaves out q-mass 2 Phi(-40) < 1e-348.
    """
    s_q, s_p = math.exp(logvar_q / 2), math.exp(logvar_p / 2)
    constant = 0.5 * math.log(2 * math.pi)

    def log_densities(z):
        return (stats.norm.logpdf(z, mu_q, s_q), stats.norm.logpdf(z, mu_p, s_p))

    def integrand(z):
        log_q, log_p = log_densities(z)
        return math.exp(log_q) * (log_q - log_p)

    def rounding(z):
        log_q, log_p = log_densities(z)
        size = (((z - mu_q) / s_q) ** 2 / 2 + abs(math.log(s_q)) + constant
                + ((z - mu_p) / s_p) ** 2 / 2 + abs(math.log(s_p)) + constant)
        return 8 * U * math.exp(log_q) * size * (1 + abs(log_q - log_p))

    limits = (mu_q - 40 * s_q, mu_q + 40 * s_q)
    value, error = integrate.quad(integrand, *limits, points=[mu_q], epsabs=0.0, epsrel=1e-13,
                                  limit=200)
    rounding_bound, _ = integrate.quad(rounding, *limits, points=[mu_q], limit=200)
    return value, error + rounding_bound


# KL values at least 0.03: |mu_q - mu_p| >= 0.25, so a relative formula error above the
# tolerance (asserted <= 1e-9 of the KL below) cannot pass.
SEPARATED_MEANS = st.tuples(st.sampled_from([-1.0, 1.0]), _finite(0.25, 3)).map(
    lambda t: t[0] * t[1])


@settings(max_examples=15)
@given(SEPARATED_MEANS, _finite(-3, 3))
def test_kl_standard_normal_matches_quadrature(mu, logvar):
    spec_kl = float(gaussian.kl_standard_normal(np.array([[mu]]), np.array([[logvar]]))[0])
    value, bound = quadrature_kl(mu, logvar, 0.0, 0.0)
    tolerance = bound + SPEC_ULPS * math.ulp(spec_kl)
    assert abs(spec_kl - value) <= tolerance
    assert tolerance <= 1e-9 * spec_kl  # power: detects any relative error above 1e-9


@settings(max_examples=15)
@given(_finite(-3, 3), _finite(-3, 3), _finite(-3, 3), _finite(-3, 3))
def test_kl_diagonal_matches_quadrature(mu_q, logvar_q, mu_p, logvar_p):
    mu_p = mu_q + math.copysign(max(abs(mu_p - mu_q), 0.25), mu_p - mu_q)
    spec_kl = float(gaussian.kl_diagonal(np.array([[mu_q]]), np.array([[logvar_q]]),
                                         np.array([[mu_p]]), np.array([[logvar_p]]))[0])
    value, bound = quadrature_kl(mu_q, logvar_q, mu_p, logvar_p)
    tolerance = bound + SPEC_ULPS * math.ulp(spec_kl)
    assert abs(spec_kl - value) <= tolerance
    assert tolerance <= 1e-9 * spec_kl


# --- KL by sampling: E_q[log q(z) - log p(z)] ----------------------------------------------------

# (mu_q, logvar_q, mu_p, logvar_p); p = None is N(0, I), checked through kl_standard_normal.
SAMPLING_CASES = [
    ([1.5], [-2.0], None, None),
    ([0.5, -1.0, 2.0], [0.3, -1.0, 0.7], None, None),
    ([0.5, -1.0, 2.0], [0.3, -1.0, 0.7], [0.2, 0.1, -0.5], [0.5, -0.2, 0.1]),
]
# Family-wise false-failure probability 1e-6, split evenly over the cases.
CASE_FALSE_FAILURE = 1e-6 / len(SAMPLING_CASES)


def _spec_and_log_ratio(case):
    """The spec's KL and z -> log q(z) - log p(z) (scipy.stats.norm.logpdf summed over dims)."""
    mu_q, logvar_q, mu_p, logvar_p = (None if a is None else np.array(a) for a in case)
    if mu_p is None:
        spec_kl = gaussian.kl_standard_normal(mu_q[None], logvar_q[None])[0]
        mu_p, logvar_p = np.zeros_like(mu_q), np.zeros_like(logvar_q)
    else:
        spec_kl = gaussian.kl_diagonal(mu_q[None], logvar_q[None], mu_p[None], logvar_p[None])[0]
    s_q, s_p = np.exp(logvar_q / 2), np.exp(logvar_p / 2)

    def log_ratio(z):
        return np.sum(stats.norm.logpdf(z, mu_q, s_q) - stats.norm.logpdf(z, mu_p, s_p), axis=-1)

    return float(spec_kl), mu_q, s_q, mu_p, s_p, log_ratio


def _smallest_detected_shift(sd, replicates, critical):
    """Smallest |bias| the t-test detects with probability >= 0.999: the statistic is then
    noncentral t with R - 1 dof and noncentrality |bias| sqrt(R) / sd. The power counts only
    the upper tail (the lower one adds less than 1e-15 here), so it is a lower bound."""
    def power_gap(noncentrality):
        return stats.nct.sf(critical, replicates - 1, noncentrality) - DETECTION

    noncentrality = optimize.brentq(power_gap, 0.0, 4.0 * critical)
    return noncentrality * sd / math.sqrt(replicates)


@pytest.mark.parametrize("case", SAMPLING_CASES)
def test_kl_matches_randomized_qmc(case):
    # R = 16 independent scramblings of a 2^14-point Sobol' net; the replicate means are i.i.d.
    # and, for this smooth integrand, close to normal (scrambled-net CLT, Loh 2003), so
    # (mean - KL) / (sd / sqrt R) ~ t(15): the test fails a correct spec with probability
    # CASE_FALSE_FAILURE (1e-6 / 3 per case). Points are k / 2^30; adding 2^-31 keeps them
    # inside (0, 1), moving the estimate by less than 1e-7 of the KL (the two outer cells).
    spec_kl, mu_q, s_q, _, _, log_ratio = _spec_and_log_ratio(case)
    dim, replicates, points = len(mu_q), 16, 2**14
    rng = np.random.default_rng(20240611)
    means = []
    for _ in range(replicates):
        grid = qmc.Sobol(dim, scramble=True, seed=rng).random(points) + 2.0**-31
        means.append(np.mean(log_ratio(mu_q + s_q * special.ndtri(grid))))
    means = np.array(means)
    sd = float(np.std(means, ddof=1))
    critical = stats.t.ppf(1 - CASE_FALSE_FAILURE / 2, replicates - 1)
    assert abs(float(np.mean(means)) - spec_kl) <= critical * sd / math.sqrt(replicates)
    # power: the smallest bias detected with probability 0.999 (sd taken as measured) is
    # below 5e-4 of the KL (measured: 1.5e-4 to 2.2e-4)
    assert _smallest_detected_shift(sd, replicates, critical) <= 5e-4 * spec_kl


def _log_ratio_variance(mu_q, s_q, mu_p, s_p):
    """Var_q[log q(z) - log p(z)]: per dim the ratio is a u^2 + b u + c in u ~ N(0, 1) with
    a = (s_q^2 / s_p^2 - 1)/2, b = (mu_q - mu_p) s_q / s_p^2, and Var = 2 a^2 + b^2 (Var u^2 = 2,
    Cov(u^2, u) = 0); dimensions are independent."""
    a = (s_q**2 / s_p**2 - 1) / 2
    b = (mu_q - mu_p) * s_q / s_p**2
    return float(np.sum(2 * a**2 + b**2))


@pytest.mark.parametrize("case", SAMPLING_CASES)
def test_kl_matches_plain_monte_carlo(case):
    # Median of K group means of n i.i.d. draws each. By Chebyshev, a group mean is more than
    # 2 sigma / sqrt(n) from the KL with probability <= 1/4; the median is off only if at least
    # K/2 groups are (Hoeffding: probability <= exp(-2 K (1/4)^2) = exp(-K/8)). K = 120 gives
    # exp(-15) < 1e-6 / 3 = CASE_FALSE_FAILURE, with no normality assumption (sigma is the
    # exact standard deviation above). A bias of 4 sigma / sqrt(n) or more is detected with
    # probability >= 1 - 1e-6 / 3 > 0.999.
    spec_kl, mu_q, s_q, mu_p, s_p, log_ratio = _spec_and_log_ratio(case)
    groups, per_group = 120, 2**13
    assert math.exp(-groups / 8) <= CASE_FALSE_FAILURE
    rng = np.random.default_rng(20240612)
    z = mu_q + s_q * rng.standard_normal((groups, per_group, len(mu_q)))
    median = float(np.median(np.mean(log_ratio(z), axis=1)))
    sigma = math.sqrt(_log_ratio_variance(mu_q, s_q, mu_p, s_p))
    threshold = 2 * sigma / math.sqrt(per_group)
    assert abs(median - spec_kl) <= threshold
    assert 2 * threshold <= 0.08 * spec_kl  # detects a relative error of 8% (measured 2% to 5%)


# --- densities and entropies against scipy.stats --------------------------------------------------

DENSITY_SHAPES = st.tuples(st.integers(1, 3), st.integers(1, 4))


@st.composite
def density_arrays(draw):
    shape = draw(DENSITY_SHAPES)
    return tuple(draw(hnp.arrays(np.float64, shape, elements=_finite(-10, 10)))
                 for _ in range(3))


def _density_magnitude(x, mu, logvar):
    """M = 1/2 [log 2 pi + |lv| + (x - mu)^2 e^-lv] per element (float64; 2% slack is ample)."""
    return 0.5 * (math.log(2 * math.pi) + np.abs(logvar) + (x - mu) ** 2 * np.exp(-logvar))


@settings(max_examples=40)
@given(density_arrays())
def test_log_density_matches_scipy_norm(case):
    x, mu, logvar = case
    spec_value = gaussian.gaussian_log_density_elementwise(x, mu, logvar)
    scipy_value = stats.norm.logpdf(x, mu, np.exp(logvar / 2))
    # scipy: s = exp(lv/2) (relative error <= 2u), y = (x - mu)/s (2 more roundings), y^2/2,
    # log s, and two additions: each rounding is at most 2u times a partial sum <= 2 M, so
    # |error| <= 16 u * 2 M; the spec adds 0.5 ulp + 2^-96 M.
    magnitude = _density_magnitude(x, mu, logvar)
    tolerance = 32 * U * magnitude + SPEC_ULPS * np.spacing(np.abs(spec_value))
    assert np.all(np.abs(spec_value - scipy_value) <= tolerance)


@settings(max_examples=30)
@given(density_arrays())
def test_log_density_matches_scipy_multivariate_normal(case):
    x, mu, logvar = case
    spec_value = gaussian.gaussian_log_density(x, mu, logvar)
    magnitude = np.sum(_density_magnitude(x, mu, logvar), axis=1)
    for b in range(x.shape[0]):
        covariance = np.diag(np.exp(logvar[b]))
        scipy_value = stats.multivariate_normal.logpdf(x[b], mu[b], covariance)
        # scipy factors C by eigh: a backward-stable eigendecomposition moves each eigenvalue
        # by <= k u ||C|| (k = dimension), i.e. by k u kappa(C) relative, which moves each log
        # eigenvalue and each term of the quadratic form by that fraction of M; 8x covers the
        # remaining O(u) operations (as for the univariate case, 32 u M).
        k = x.shape[1]
        condition = float(np.exp(logvar[b].max() - logvar[b].min()))
        tolerance = (8 * k * condition + 32) * U * magnitude[b] + math.ulp(abs(spec_value[b]))
        assert abs(spec_value[b] - scipy_value) <= tolerance


@settings(max_examples=30)
@given(hnp.arrays(np.float64, DENSITY_SHAPES, elements=_finite(-50, 50)))
def test_entropy_matches_scipy_norm(logvar):
    spec_value = gaussian.gaussian_entropy_elementwise(logvar)
    scipy_value = stats.norm.entropy(scale=np.exp(logvar / 2))
    # scipy: 0.5 (log 2 pi + 1) + log(s), s = exp(lv/2): log s errs by u |lv|/2 + 2u (from s)
    # + u, the constant by u, the sum by u (|result| <= |lv|/2 + 1.5): <= 4 u (|lv| + 3).
    tolerance = 4 * U * (np.abs(logvar) + 3) + SPEC_ULPS * np.spacing(np.abs(spec_value))
    assert np.all(np.abs(spec_value - scipy_value) <= tolerance)


# --- full-covariance KL against the full-matrix formula ------------------------------------------


@st.composite
def full_covariance_cases(draw):
    batch, k = draw(st.integers(1, 3)), draw(st.integers(1, 4))

    def tril():
        lower = np.tril(draw(hnp.arrays(np.float64, (batch, k, k), elements=_finite(-1, 1))), -1)
        diagonal = np.exp(draw(hnp.arrays(np.float64, (batch, k), elements=_finite(-1, 1))))
        return lower + np.einsum("bi,ij->bij", diagonal, np.eye(k))

    means = [draw(hnp.arrays(np.float64, (batch, k), elements=_finite(-2, 2))) for _ in range(2)]
    return means[0], tril(), means[1], tril()


@settings(max_examples=25)
@given(full_covariance_cases())
def test_kl_full_matches_full_matrix_formula(case):
    mu_q, tril_q, mu_p, tril_p = case
    spec_value = gaussian.kl_full(mu_q, tril_q, mu_p, tril_p)
    k = mu_q.shape[1]
    for b in range(mu_q.shape[0]):
        cov_q, cov_p = tril_q[b] @ tril_q[b].T, tril_p[b] @ tril_p[b].T
        d = mu_q[b] - mu_p[b]
        trace = float(np.trace(np.linalg.solve(cov_p, cov_q)))
        mahalanobis = float(d @ np.linalg.solve(cov_p, d))
        log_det_p, log_det_q = np.linalg.slogdet(cov_p)[1], np.linalg.slogdet(cov_q)[1]
        direct = 0.5 * (trace + mahalanobis - k + log_det_p - log_det_q)
        # Forming S = L L^T, LU-solving with Sp (backward stable, growth factor <= 2 here) and
        # slogdet each perturb the result by <= 4 k u kappa_2(Sp) times the summands'
        # magnitude M; 16 k u kappa M covers the four of them. The spec's bound is
        # (4 (k + 1) u kappa + 2 u) KL with kappa = || |Lp^-1| |Lp| ||_2.
        magnitude = 0.5 * (abs(trace) + abs(mahalanobis) + k + abs(log_det_p) + abs(log_det_q))
        condition = np.linalg.cond(cov_p)
        kappa = np.linalg.norm(np.abs(np.linalg.inv(tril_p[b])) @ np.abs(tril_p[b]), 2)
        tolerance = (16 * k * U * condition * magnitude
                     + (4 * (k + 1) * U * kappa * (1 + 1e-6) + 2 * U) * abs(direct))
        assert abs(spec_value[b] - direct) <= tolerance
        assert tolerance <= 1e-8 * magnitude  # a wrong term (O(1) of M) cannot pass
