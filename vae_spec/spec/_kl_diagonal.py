r"""KL divergences between diagonal Gaussians, per element and per example.

    KL(N(mu, sigma^2) || N(0, 1))  = 1/2 [ mu^2 + (sigma^2 - 1 - log sigma^2) ]
    KL(N(mq, e^lq) || N(mp, e^lp)) = 1/2 [ (mq - mp)^2 e^-lp + (e^y - 1 - y) ],  y = lq - lp

Both brackets are sums of two non-negative terms, each a scaled value exact to 2^-100, so
the element-wise and per-example results are within 0.5 ulp + 2^-90 relative (module
docstring of ``vae_spec.spec.gaussian``).
"""

from __future__ import annotations

import numpy as np

from . import _exp_log, _validate
from ._eft import two_sum
from ._posterior import posterior_inputs, scale_divergence, scale_magnitude
from ._scaled import Scaled, per_example, square


def _kl_standard_normal_twice(mu, scale, posterior):
    return square(mu) + scale_divergence(scale, posterior)


def kl_standard_normal_elementwise(mu, scale, posterior="logvar"):
    """Per element KL(N(mu, sigma^2) || N(0, 1)) = 1/2 [mu^2 + sigma^2 - 1 - log sigma^2].

    Error <= 0.5 ulp + 2^-90 relative (so <= 2 ulp) wherever the result is a normal float64.
    """
    mu, scale = posterior_inputs(mu, scale, posterior)
    with np.errstate(all="ignore"):
        return _kl_standard_normal_twice(mu, scale, posterior).times_power_of_two(-1).value()


def kl_standard_normal(mu, scale, posterior="logvar"):
    """Per-example KL(N(mu, diag sigma^2) || N(0, I)): the element-wise KL summed over every
    axis but the first, from exact pieces rounded once (<= 0.5 ulp + 2^-90 relative)."""
    mu, scale = posterior_inputs(mu, scale, posterior)
    with np.errstate(all="ignore"):
        return per_example(_kl_standard_normal_twice(mu, scale, posterior)
                           .times_power_of_two(-1))


def kl_standard_normal_magnitude(mu, scale, posterior="logvar"):
    """Per element 1/2 (1 + |log sigma^2| + mu^2 + sigma^2): the sum of the absolute values
    of the textbook summands (<= 0.5 ulp + 2^-90 relative)."""
    mu, scale = posterior_inputs(mu, scale, posterior)
    with np.errstate(all="ignore"):
        return (square(mu) + scale_magnitude(scale, posterior)).times_power_of_two(-1).value()


def kl_standard_normal_grad(mu, scale, posterior="logvar"):
    """(d KL / d mu, d KL / d scale) per element, scale in the posterior's parameterization.

    d mu: mu. d scale: logvar (e^lv - 1)/2; logstd e^(2 ls) - 1; std s - 1/s = (s^2 - 1)/s;
    var (1 - 1/v)/2 = (v - 1)/(2 v). Each within 0.5 ulp + 2^-90 relative.
    """
    mu, scale = posterior_inputs(mu, scale, posterior)
    with np.errstate(all="ignore"):
        if posterior == "logvar":
            d_scale = _exp_log.expm1(scale).times_power_of_two(-1)
        elif posterior == "logstd":
            d_scale = _exp_log.expm1(2.0 * scale)
        elif posterior == "std":
            d_scale = (square(scale) + Scaled.exact(-1.0)).divided_by(scale)
        else:
            d_scale = Scaled.exact(scale, -1.0).divided_by(scale).times_power_of_two(-1)
        return mu.copy(), d_scale.value()


def _difference(a, b):
    """a - b as (hi, lo, s) with a - b = 2^s (hi + lo); s = 1 (halving both) guards overflow
    and is exact unless the other operand is subnormal, an error far below ulp(a - b)."""
    large = np.maximum(np.abs(a), np.abs(b)) >= 2.0**1022
    s = large.astype(np.int32)
    hi, lo = two_sum(np.ldexp(a, -s), np.ldexp(-b, -s))
    return hi, lo, s


def whitened_square(x, mu, logvar):
    """(x - mu)^2 e^-logvar as a scaled value (the difference exact, e^-logvar to 2^-100)."""
    hi, lo, s = _difference(x, mu)
    return square(hi, lo).times_power_of_two(2 * s) * _exp_log.exp(-logvar)


def _diagonal_inputs(mu_q, logvar_q, mu_p, logvar_p):
    mu_q = _validate.finite_batched("mu_q", mu_q)
    logvar_q = _validate.finite_batched("logvar_q", logvar_q)
    _validate.same_shape(mu_q=mu_q, logvar_q=logvar_q)
    mu_p = _validate.finite_broadcast("mu_p", mu_p, mu_q.shape)
    logvar_p = _validate.finite_broadcast("logvar_p", logvar_p, mu_q.shape)
    return mu_q, logvar_q, mu_p, logvar_p


def _kl_diagonal_twice(mu_q, logvar_q, mu_p, logvar_p):
    y_hi, y_lo = two_sum(logvar_q, -logvar_p)  # y = lq - lp exactly (y_lo = 0 if y overflows)
    divergence = _exp_log.exp_minus_one_minus(y_hi, y_lo, Scaled.exact(-logvar_q, logvar_p))
    return whitened_square(mu_q, mu_p, logvar_p) + divergence


def kl_diagonal_elementwise(mu_q, logvar_q, mu_p, logvar_p):
    """Per element KL(N(mq, e^lq) || N(mp, e^lp))
    = 1/2 [ e^(lq - lp) + (mq - mp)^2 e^-lp - 1 - (lq - lp) ].

    mu_p and logvar_p broadcast to mu_q's shape. Computed as 1/2 [(mq - mp)^2 e^-lp + g(y)],
    g(y) = e^y - 1 - y >= 0 with y = lq - lp exact: two non-negative terms, so the result is
    within 0.5 ulp + 2^-90 relative (<= 2 ulp) wherever it is a normal float64.
    """
    mu_q, logvar_q, mu_p, logvar_p = _diagonal_inputs(mu_q, logvar_q, mu_p, logvar_p)
    with np.errstate(all="ignore"):
        return _kl_diagonal_twice(mu_q, logvar_q, mu_p, logvar_p).times_power_of_two(-1).value()


def kl_diagonal(mu_q, logvar_q, mu_p, logvar_p):
    """Per-example KL between diagonal Gaussians, summed over every axis but the first
    (<= 0.5 ulp + 2^-90 relative: every element term is non-negative)."""
    mu_q, logvar_q, mu_p, logvar_p = _diagonal_inputs(mu_q, logvar_q, mu_p, logvar_p)
    with np.errstate(all="ignore"):
        return per_example(_kl_diagonal_twice(mu_q, logvar_q, mu_p, logvar_p)
                           .times_power_of_two(-1))


def kl_diagonal_magnitude(mu_q, logvar_q, mu_p, logvar_p):
    """Per element 1/2 [1 + |lq| + |lp| + e^(lq - lp) + (mq - mp)^2 e^-lp].

    The log-variances count separately (|lq| + |lp|, not |lq - lp|): an implementation that
    adds lp and -lq as separate summands is correct and errs by u (|lq| + |lp|).
    Within 0.5 ulp + 2^-90 relative.
    """
    mu_q, logvar_q, mu_p, logvar_p = _diagonal_inputs(mu_q, logvar_q, mu_p, logvar_p)
    with np.errstate(all="ignore"):
        y_hi, y_lo = two_sum(logvar_q, -logvar_p)
        total = (Scaled.exact(1.0, np.abs(logvar_q), np.abs(logvar_p)) + _exp_log.exp(y_hi, y_lo)
                 + whitened_square(mu_q, mu_p, logvar_p))
        return total.times_power_of_two(-1).value()


def kl_diagonal_grad(mu_q, logvar_q, mu_p, logvar_p):
    """Element-wise derivatives of ``kl_diagonal_elementwise``, keys "mu_q", "logvar_q",
    "mu_p", "logvar_p" (each of mu_q's shape; sum over broadcast axes for a shared prior):

        d mu_q = (mq - mp) e^-lp = -d mu_p,   d logvar_q = (e^y - 1)/2,
        d logvar_p = -[(e^y - 1) + (mq - mp)^2 e^-lp] / 2,   y = lq - lp.

    The first three are within 0.5 ulp + 2^-90 relative. d logvar_p adds two terms that may
    cancel (e^y - 1 < 0): its error is at most 1/2 ulp + 2^-96 (|e^y - 1| + (mq - mp)^2 e^-lp)/2.
    """
    mu_q, logvar_q, mu_p, logvar_p = _diagonal_inputs(mu_q, logvar_q, mu_p, logvar_p)
    with np.errstate(all="ignore"):
        hi, lo, s = _difference(mu_q, mu_p)
        d_mu_q = (Scaled.exact(hi, lo).times_power_of_two(s) * _exp_log.exp(-logvar_p)).value()
        expm1 = _exp_log.expm1(*two_sum(logvar_q, -logvar_p))
        d_logvar_p = -(expm1 + whitened_square(mu_q, mu_p, logvar_p))
        return {
            "mu_q": d_mu_q,
            "logvar_q": expm1.times_power_of_two(-1).value(),
            "mu_p": -d_mu_q,
            "logvar_p": d_logvar_p.times_power_of_two(-1).value(),
        }
