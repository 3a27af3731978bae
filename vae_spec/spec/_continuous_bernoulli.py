r"""The continuous Bernoulli decoder likelihood (Loaiza-Ganem & Cunningham 2019).

The density with logit l (lambda = sigmoid(l)) is e^{x l} l / (e^l - 1)
= e^{(x-1/2) l} (l/2) / sinh(l/2), so

    log p(x | l) = (x - 1/2) l - g(l/2),   g(y) = log(sinh(y) / y),

the Bernoulli term plus log C. Near lambda = 1/2 g and artanh come from power series with
positive coefficients summed in double-double arithmetic, so every piece there is exact to
2^-60; elsewhere log1p and exp err (bounds in the likelihoods module's docstring).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from . import _bernoulli
from ._eft import dd_add, dd_mul, dd_polynomial, dd_sum, float_expansion, two_product, two_sum
from ._scaled import select_pieces

_SERIES_LOGIT = 6.0  # |l| below which g(l/2) comes from its series
# logit(0.501): implementations use a Taylor series of log C within 1e-3 of lambda = 1/2.
_TAYLOR_LOGIT = math.log(0.501 / 0.499)


def _log_series(a):
    """Coefficients b of log(sum a_k z^k), a_0 = 1, from b' = a'/a (exact rationals)."""
    b = [Fraction(0)] * len(a)
    for k in range(1, len(a)):
        b[k] = (k * a[k] - sum(j * b[j] * a[k - j] for j in range(1, k))) / k
    return b


def _expansions(fractions):
    return [float_expansion(c) for c in fractions]


# s(y) = sinh(y)/y - 1 = tau * sum_j tau^j / (2j+3)!, tau = y^2; 16 terms: relative
# truncation < 1e-20 for tau <= 9.
_SINH_SERIES = _expansions(Fraction(1, math.factorial(2 * j + 3)) for j in range(16))
# u(t) = artanh(t)/t - 1 = tau * sum_j tau^j / (2j+3), tau = t^2; 30 terms: < 1e-19 for tau <= 1/4.
_ATANH_SERIES = _expansions(Fraction(1, 2 * j + 3) for j in range(30))
# G(t) = -1/2 log(1 - t^2) - log(artanh(t)/t) = tau * sum_j gamma_{j+1} tau^j, all gamma > 0
# (1/6, 19/180, 443/5670, ...; gamma_30 ~ 0.011): < 1e-19 for tau <= 1/4.
_G_SERIES = _expansions(
    Fraction(1, 2 * k) - log_a
    for k, log_a in enumerate(_log_series([Fraction(1, 2 * k + 1) for k in range(31)]))
    if k >= 1
)
# L(y) = coth y - 1/y = y N(tau) / (1 + s(y)), N = sum_j (2j+2) tau^j / (2j+3)!
# = 1/3 + tau * sum_j (2j+4) tau^j / (2j+5)!; 16 terms for tau <= 9.
_THIRD = float_expansion(Fraction(1, 3))
_COTH_SERIES = _expansions(Fraction(2 * j + 4, math.factorial(2 * j + 5)) for j in range(16))


def _series_of_square(coefficients, v):
    """tau * sum_j c_j tau^j for tau = v^2 (exact pair), in double-double arithmetic."""
    tau = two_product(v, v)
    return dd_mul(tau, dd_polynomial(tau, coefficients))


def _log1p_pair(pair):
    """log1p(hi + lo) = log1p(hi) + lo / (1 + hi) to first order in lo."""
    hi, lo = pair
    return [np.log1p(hi), lo / (1.0 + hi)]


def _coth_minus_reciprocal(y):
    """L(y) = coth y - 1/y: y N(y^2) / (1 + s(y)) for |y| <= 3, N = 1/3 + tau sum_j (2j+4)
    tau^j / (2j+5)! and s the sinh series, both in pair arithmetic (within 6U after the last
    roundings); else sign(y) (1 + 2/expm1(2|y|) - 1/|y|)."""
    a = np.abs(y)
    small = np.minimum(a, 3.0)
    n_hi, n_lo = _series_of_square(_COTH_SERIES, small)
    s_hi, s_lo = _series_of_square(_SINH_SERIES, small)
    series = small * (((n_hi + _THIRD[0]) + (n_lo + _THIRD[1])) / ((1.0 + s_hi) + s_lo))
    large = 1.0 + 2.0 / np.expm1(2.0 * a) - 1.0 / np.maximum(a, 3.0)
    return np.sign(y) * np.where(a <= 3.0, series, large)


def _logits_pieces(x, logit, logit_lo=None):
    """(x - 1/2) l - g(l/2), g(y) = log(sinh(y)/y), for l = logit (+ logit_lo).

    g(y) = log1p(s), s = sum_{k>=1} y^2k / (2k+1)! (positive terms) for |l| <= 6;
    g(y) = |y| - log|l| + log1p(-e^{-|l|}) beyond, where log|l| < g. A low part logit_lo
    enters to first order: d/dl [(x - 1/2) l - g(l/2)] = x - 1/2 - L(l/2)/2.
    """
    xm, xm_lo = two_sum(x, -0.5)
    hi, lo = two_product(xm, logit)
    a = np.abs(logit)
    near = a <= _SERIES_LOGIT
    s_hi, s_lo = _log1p_pair(_series_of_square(_SINH_SERIES, 0.5 * np.minimum(a, _SERIES_LOGIT)))
    pieces = [hi, lo, xm_lo * logit,
              np.where(near, -s_hi, -0.5 * a),
              np.where(near, -s_lo, np.log(np.maximum(a, _SERIES_LOGIT))),
              np.where(near, 0.0, -np.log1p(-np.exp(-a)))]
    if logit_lo is not None:
        pieces.append((xm - 0.5 * _coth_minus_reciprocal(0.5 * logit)) * logit_lo)
    return pieces


def _logit_pair(lam):
    """log(lambda / (1 - lambda)) = hi + lo.

    |t| <= 1/2 (t = 1 - 2 lambda, exact there): -2 artanh(t), artanh(t) = t + t u(t^2),
    u = sum_{k>=1} t^2k / (2k+1) in pair arithmetic. Beyond: log lambda - log1p(-lambda), the
    difference exact, each log within eps_f; |l| > 1.09 there and the logs' sizes add to at
    most 1.53 |l|.
    """
    t = 1.0 - 2.0 * lam
    near = np.abs(t) <= 0.5
    tn = np.clip(t, -0.5, 0.5)
    a_hi, a_lo = dd_add((tn, 0.0), dd_mul((tn, 0.0), _series_of_square(_ATANH_SERIES, tn)))
    f_hi, f_lo = two_sum(np.log(lam), -np.log1p(-lam))
    return np.where(near, -2.0 * a_hi, f_hi), np.where(near, -2.0 * a_lo, f_lo)


def _probs_pieces(x, lam):
    """x log lambda + (1-x) log(1-lambda) + log C(lambda), with t = 1 - 2 lambda.

    |t| <= 1/2: (1 - 2x) artanh(t) - G(t), G(t) = -1/2 log(1 - t^2) - log(artanh(t)/t): the
    logit form below with l = -2 artanh(t); G has positive Taylor coefficients, so every piece
    is exact or a pair-arithmetic series. |t| > 1/2: the logit form with l = log lambda -
    log(1 - lambda) as an exact difference of the two rounded logs.
    """
    logit_hi, logit_lo = _logit_pair(lam)
    near = np.abs(1.0 - 2.0 * lam) <= 0.5
    t = np.clip(1.0 - 2.0 * lam, -0.5, 0.5)  # exact for lambda in [1/4, 3/4]
    one_minus_2x = two_sum(1.0, -2.0 * x)
    artanh = (-0.5 * logit_hi, -0.5 * logit_lo)  # artanh(t) = -logit / 2 exactly
    g_hi, g_lo = _series_of_square(_G_SERIES, t)
    near_pieces = [*dd_mul(one_minus_2x, artanh), -g_hi, -g_lo]
    far_pieces = _logits_pieces(x, logit_hi, logit_lo)
    return select_pieces(near, near_pieces, far_pieces)


def pieces(lik, x, recon):
    """Float arrays whose exact sum is the log-likelihood, element-wise."""
    if lik.parameterization == "probs":
        return _probs_pieces(x, recon)
    return _logits_pieces(x, recon)


def magnitude(lik, x, recon):
    """The Bernoulli M + |log C| + (|log lambda| + |log(1-lambda)|) / max(|l|, l0)
    (likelihoods.log_likelihood_magnitude)."""
    neg_log_p, neg_log_q = _bernoulli.neg_logs(lik, recon)
    log_c = dd_sum(pieces(lik, np.zeros_like(recon), recon))[0] + neg_log_q  # log p(0 | .) - log(1-p)
    return (_bernoulli.magnitude(lik, x, recon) + np.abs(log_c)
            + (neg_log_p + neg_log_q) / np.maximum(np.abs(neg_log_q - neg_log_p), _TAYLOR_LOGIT))


def grad(lik, x, recon):
    """logits: x - E[x] = x - 1/2 - L(l/2) / 2; probs: the same over lambda (1 - lambda)."""
    logit = recon if lik.parameterization == "logits" else _logit_pair(recon)[0]
    score = (x - 0.5) - 0.5 * _coth_minus_reciprocal(0.5 * logit)
    if lik.parameterization == "probs":
        score = score / (recon * (1.0 - recon))
    return {"x_recon": score}
