"""High-precision references for the Gaussian spec: the textbook summands, added in mpmath.

Each ``*_summands`` function returns the summands of the textbook formula for one element as
mpmath numbers (inputs are float64, so exactly representable). ``evaluate`` adds them at a
working precision that exceeds the bits lost to cancellation by at least 220, so the result is
correct to 200 bits whatever the cancellation (e.g. e^lv - 1 - lv at lv = 1e-150).
"""

from __future__ import annotations

import mpmath

GUARD_BITS = 220
# Largest precision tried before an all-zero sum is taken as exactly zero: the smallest
# non-zero value these formulas take on float64 inputs is above 2^-2200 of their summands.
MAX_BITS = 2600


def evaluate(summands, *args, margin_bits=0):
    """sum(summands(*args)) to 200 bits: the working precision p is raised until the sum is
    at least 2^-(p - 220 - margin_bits) of the sum of |summands| (``margin_bits`` covers
    summands that lose bits themselves, such as linear solves)."""
    prec = 256
    while True:
        with mpmath.workprec(prec):
            terms = summands(*(a if isinstance(a, str) else mpmath.mpf(a) for a in args))
            value = mpmath.fsum(terms)
            size = mpmath.fsum(abs(t) for t in terms)
            guard = GUARD_BITS + margin_bits
            if value == 0:
                if prec > MAX_BITS:
                    return mpmath.mpf(0)
                prec += guard
                continue
            lost = int(mpmath.ceil(mpmath.log(size / abs(value), 2)))
            if lost + guard <= prec:
                return +value
            prec = max(2 * prec, lost + guard + 64)


def sigma_squared_and_log(scale, posterior):
    """(sigma^2, log sigma^2) from a scale in the posterior's parameterization."""
    if posterior == "logvar":
        return mpmath.exp(scale), scale
    if posterior == "logstd":
        return mpmath.exp(2 * scale), 2 * scale
    if posterior == "std":
        return scale**2, 2 * mpmath.log(scale)
    return scale, mpmath.log(scale)


def kl_standard_normal_summands(mu, scale, posterior):
    """1/2 [mu^2 + sigma^2 - 1 - log sigma^2]."""
    variance, log_variance = sigma_squared_and_log(scale, posterior)
    half = mpmath.mpf(1) / 2
    return [half * mu**2, half * variance, -half, -half * log_variance]


def kl_standard_normal_magnitude_summands(mu, scale, posterior):
    return [abs(t) for t in kl_standard_normal_summands(mu, scale, posterior)]


def kl_standard_normal_scale_derivative_summands(mu, scale, posterior):
    """d/d scale of each summand of the KL (the mu^2 and -1 summands do not depend on it)."""
    half = mpmath.mpf(1) / 2
    if posterior == "logvar":
        return [half * mpmath.exp(scale), -half]
    if posterior == "logstd":
        return [mpmath.exp(2 * scale), -mpmath.mpf(1)]
    if posterior == "std":
        return [scale, -1 / scale]
    return [half, -half / scale]


def kl_diagonal_summands(mu_q, logvar_q, mu_p, logvar_p):
    """1/2 [e^(lq - lp) + (mq - mp)^2 e^-lp - 1 - (lq - lp)]."""
    half = mpmath.mpf(1) / 2
    return [half * mpmath.exp(logvar_q - logvar_p),
            half * (mu_q - mu_p) ** 2 * mpmath.exp(-logvar_p),
            -half, -half * logvar_q, half * logvar_p]


def kl_diagonal_magnitude_summands(mu_q, logvar_q, mu_p, logvar_p):
    return [abs(t) for t in kl_diagonal_summands(mu_q, logvar_q, mu_p, logvar_p)]


def kl_diagonal_derivative_summands(mu_q, logvar_q, mu_p, logvar_p):
    """{argument: summands of d KL / d argument}, differentiating each summand."""
    half = mpmath.mpf(1) / 2
    ratio = mpmath.exp(logvar_q - logvar_p)
    mean = (mu_q - mu_p) ** 2 * mpmath.exp(-logvar_p)
    return {
        "mu_q": [(mu_q - mu_p) * mpmath.exp(-logvar_p)],
        "logvar_q": [half * ratio, -half],
        "mu_p": [-(mu_q - mu_p) * mpmath.exp(-logvar_p)],
        "logvar_p": [-half * ratio, -half * mean, half],
    }


def log_density_summands(x, mu, logvar):
    """-1/2 [log 2 pi + lv + (x - mu)^2 e^-lv]."""
    half = mpmath.mpf(1) / 2
    return [-half * mpmath.log(2 * mpmath.pi), -half * logvar,
            -half * (x - mu) ** 2 * mpmath.exp(-logvar)]


def entropy_summands(logvar):
    """1/2 [log(2 pi e) + lv] = 1/2 [1 + log 2 pi + lv]."""
    half = mpmath.mpf(1) / 2
    return [half, half * mpmath.log(2 * mpmath.pi), half * logvar]


def kl_full_summands(mu_q, tril_q, mu_p, tril_p):
    """1/2 [tr(Sp^-1 Sq) + d^T Sp^-1 d - k + log det Sp - log det Sq] from the full matrices
    (nested lists of floats; mpmath's LU solve on Sp = Lp Lp^T)."""
    k = len(mu_q)
    lq, lp = mpmath.matrix(tril_q), mpmath.matrix(tril_p)
    sq, sp = lq * lq.T, lp * lp.T
    d = mpmath.matrix([mpmath.mpf(a) - mpmath.mpf(b) for a, b in zip(mu_q, mu_p)])
    trace = sum(mpmath.lu_solve(sp, sq[:, j])[j] for j in range(k))
    mahalanobis = (d.T * mpmath.lu_solve(sp, d))[0]
    half = mpmath.mpf(1) / 2
    log_det_p = 2 * mpmath.fsum(mpmath.log(lp[i, i]) for i in range(k))
    log_det_q = 2 * mpmath.fsum(mpmath.log(lq[i, i]) for i in range(k))
    return [half * trace, half * mahalanobis, -half * k, half * log_det_p, -half * log_det_q]


def evaluate_full(mu_q, tril_q, mu_p, tril_p, margin_bits):
    """kl_full's reference for one example; arguments are float64 lists."""
    def summands():
        return kl_full_summands(mu_q, tril_q, mu_p, tril_p)

    return evaluate(summands, margin_bits=margin_bits)
