"""Monte Carlo and randomized quasi-Monte Carlo expectations under N(0, I), with error bars.

Both estimators target  mu_f = E[f(Z)],  Z ~ N(0, I_dim),  f mapping an (n, dim) array of draws
to n values.

Plain Monte Carlo: n independent draws Z_i, mean m = (1/n) sum_i f(Z_i), standard error
se = s / sqrt(n) with s the sample standard deviation (ddof=1). By the central limit theorem
(m - mu_f) / se is approximately Student t with n - 1 degrees of freedom (normal for large n).

Randomized QMC: R independent scramblings of a Sobol' net of n = 2^m points in [0, 1)^dim,
mapped to N(0, I) by the inverse normal CDF. Each scrambled point is uniform on [0, 1)^dim, so
each replicate mean m_r is unbiased; the replicates are independent, so with
m = (1/R) sum_r m_r and se = sd(m_1..m_R) / sqrt(R), (m - mu_f) / se is approximately t with
R - 1 degrees of freedom (the replicate means are asymptotically normal for scrambled nets).
The variance of m_r falls like n^-1 for plain MC, almost like n^-3 for smooth integrands on
the unit cube, and in between (about n^-2 for the KL integrand, benchmarks/RESULTS.md) for
integrands that the inverse normal CDF makes unbounded.

A two-sided test "|m - mu| > t_{1-a/2} se" rejects a true mu with probability a (the
false-failure probability). A true shift delta = |E m - mu| is rejected with probability
P(|T'| > t_{1-a/2}), T' noncentral t with noncentrality delta / se; the detectable shift is the
smallest delta for which that probability reaches the requested power. With a known standard
error (normal statistics) it is (z_{1-a/2} + z_power) se.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import optimize, stats
from scipy.stats import qmc

from .spec import _validate

_SOBOL_BITS = 30  # scipy's default: scrambled Sobol' points are integers k / 2^30


@dataclass(frozen=True)
class Estimate:
    """An estimate of an expectation with its standard error.

    ``n`` is the total number of evaluations of the integrand; ``replicates`` the number of
    independent, identically distributed values whose sample standard deviation gave
    ``stderr`` (n for plain Monte Carlo, the number of scramblings for RQMC). The error
    statistic has ``replicates - 1`` degrees of freedom.
    """

    mean: float
    stderr: float
    n: int
    replicates: int

    def __post_init__(self):
        if not (isinstance(self.replicates, (int, np.integer)) and self.replicates >= 2):
            raise ValueError(
                f"replicates: need at least 2 for a standard error, got {self.replicates!r}")
        if not (math.isfinite(self.stderr) and self.stderr >= 0):
            raise ValueError(f"stderr: expected a finite non-negative number, got {self.stderr!r}")

    @property
    def dof(self) -> int:
        """Degrees of freedom of the standardized error (m - mu) / se."""
        return int(self.replicates) - 1

    def interval(self, false_failure: float) -> float:
        """Half-width h with P(|mean - truth| > h) = false_failure: t_{1 - a/2, dof} * stderr."""
        alpha = _probability("false_failure", false_failure)
        return float(stats.t.isf(alpha / 2, self.dof)) * self.stderr


def mc_expectation(f: Callable[[np.ndarray], np.ndarray], dim: int, n: int, seed: int) -> Estimate:
    """Plain Monte Carlo estimate of E f(Z), Z ~ N(0, I_dim), from n independent draws."""
    dim = _positive_int("dim", dim)
    n = _positive_int("n", n)
    if n < 2:
        raise ValueError(f"n: need at least 2 draws for a standard error, got {n}")
    draws = np.random.default_rng(seed).standard_normal((n, dim))
    values = _evaluate(f, draws)
    return Estimate(mean=float(np.mean(values)),
                    stderr=float(np.std(values, ddof=1) / math.sqrt(n)), n=n, replicates=n)


def rqmc_expectation(f: Callable[[np.ndarray], np.ndarray], dim: int, n: int, replicates: int,
                     seed: int) -> Estimate:
    """Randomized QMC estimate of E f(Z), Z ~ N(0, I_dim): ``replicates`` scrambled Sobol' nets
    of n = 2^m points each (n * replicates evaluations in all)."""
    dim = _positive_int("dim", dim)
    n = _positive_int("n", n)
    if n & (n - 1):
        raise ValueError(
            f"n: the number of Sobol' points per replicate must be a power of 2, got {n}")
    if n > 2**_SOBOL_BITS:
        raise ValueError(f"n: at most 2^{_SOBOL_BITS} Sobol' points per replicate, got {n}")
    replicates = _positive_int("replicates", replicates)
    if replicates < 2:
        raise ValueError(f"replicates: need at least 2 for a standard error, got {replicates}")
    means = np.empty(replicates)
    for r, child in enumerate(np.random.SeedSequence(seed).spawn(replicates)):
        rng = np.random.default_rng(child)
        grid = qmc.Sobol(dim, scramble=True, bits=_SOBOL_BITS, rng=rng).random(n)
        # Scrambled points lie on the grid k / 2^30 (0 included); a uniform offset inside the
        # cell makes each point exactly U[0, 1)^dim, so the estimate has no grid bias and
        # norm.ppf never sees 0. The clip guards the rounding of k/2^30 + offset up to 1.
        uniform = grid + rng.random((n, dim)) * 2.0**-_SOBOL_BITS
        uniform = np.clip(uniform, np.finfo(np.float64).tiny, np.nextafter(1.0, 0.0))
        means[r] = np.mean(_evaluate(f, stats.norm.ppf(uniform)))
    return Estimate(mean=float(np.mean(means)),
                    stderr=float(np.std(means, ddof=1) / math.sqrt(replicates)),
                    n=n * replicates, replicates=replicates)


def detectable_shift(stderr_or_estimate, false_failure: float, power: float) -> float:
    """Smallest true shift |E mean - truth| that the two-sided test at ``false_failure``
    rejects with probability >= ``power``.

    Given a standard error (a number, taken as known): (z_{1-a/2} + z_power) * se. Given an
    :class:`Estimate`: the noncentral-t solution with the estimate's degrees of freedom,
    evaluated at its standard error. Both leave out the chance of rejecting on the wrong side,
    so the shift returned is at least the smallest one.
    """
    alpha = _probability("false_failure", false_failure)
    beta = _probability("power", power)
    if beta < 0.5:
        raise ValueError(f"power: expected a probability in [0.5, 1), got {power!r}")
    if isinstance(stderr_or_estimate, Estimate):
        stderr = stderr_or_estimate.stderr
        return _t_noncentrality(stderr_or_estimate.dof, alpha, beta) * stderr
    stderr = _validate.positive_number("stderr_or_estimate", stderr_or_estimate)
    return float(stats.norm.isf(alpha / 2) + stats.norm.ppf(beta)) * stderr


def kl_estimate(mu, logvar, n: int, method: str = "rqmc", replicates: int = 16,
                seed: int = 0) -> Estimate:
    """Estimate of KL(N(mu, diag exp(logvar)) || N(0, I)) = E_q[log q(z) - log p(z)] for one
    example (1-D ``mu`` and ``logvar`` over the latent dims) from n draws in all.

    With z = mu + sigma eps, eps ~ N(0, I): log q(z) - log p(z) = 1/2 sum_j (z_j^2 - eps_j^2 -
    logvar_j). For ``method="rqmc"`` the n draws are ``replicates`` scrambled nets of
    n / replicates points (a power of 2).
    """
    mu = _validate.finite("mu", _validate.as_float_array("mu", mu))
    logvar = _validate.finite("logvar", _validate.as_float_array("logvar", logvar))
    if mu.ndim != 1:
        raise ValueError(f"mu: expected a 1-D array of latent dims, got shape {mu.shape}")
    _validate.same_shape(mu=mu, logvar=logvar)
    n = _positive_int("n", n)
    sigma = np.exp(0.5 * logvar)

    def log_ratio(eps: np.ndarray) -> np.ndarray:
        z = mu + sigma * eps
        return 0.5 * np.sum(z * z - eps * eps - logvar, axis=1)

    if method == "mc":
        return mc_expectation(log_ratio, mu.size, n, seed)
    if method == "rqmc":
        replicates = _positive_int("replicates", replicates)
        if n % replicates:
            raise ValueError(f"n: {n} draws do not split into {replicates} equal replicates")
        return rqmc_expectation(log_ratio, mu.size, n // replicates, replicates, seed)
    raise ValueError(f"method: {method!r} is not one of rqmc, mc")


def _evaluate(f, draws: np.ndarray) -> np.ndarray:
    values = np.asarray(f(draws), dtype=np.float64)
    if values.shape != (draws.shape[0],):
        raise ValueError(f"f: must map an (n, dim) array to shape ({draws.shape[0]},), "
                         f"got shape {values.shape}")
    return _validate.finite("f", values)


def _t_noncentrality(dof: int, alpha: float, power: float) -> float:
    """Noncentrality delta with P(T' > t_{1-a/2, dof}) = power, T' ~ noncentral t(dof, delta).

    The far tail P(T' < -t_{1-a/2}) is left out: it only adds power, so delta is conservative
    (by less than 1e-10 relative for power >= 0.5 and a <= 0.05).
    """
    critical = stats.t.isf(alpha / 2, dof)

    def excess_miss(delta: float) -> float:
        return stats.nct.cdf(critical, dof, delta) - (1 - power)

    upper = 2.0 * (critical + stats.t.ppf(power, dof))
    while excess_miss(upper) > 0:
        upper *= 2.0
    return float(optimize.brentq(excess_miss, 0.0, upper, xtol=1e-12, rtol=1e-12))


def _probability(name: str, value) -> float:
    p = _validate.positive_number(name, value)
    if not p < 1:
        raise ValueError(f"{name}: expected a probability in (0, 1), got {value!r}")
    return p


def _positive_int(name: str, value) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)
