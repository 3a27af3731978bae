r"""The posterior's scale in its four parameterizations, and the terms built from sigma^2.

A diagonal Gaussian posterior gives its scale as logvar (log sigma^2), logstd (log sigma), std
(sigma) or var (sigma^2). From any of them this module forms, as scaled values to 2^-100:

    sigma^2 - 1 - log sigma^2  >= 0   (the scale's part of KL(N(mu, sigma^2) || N(0, 1)))
    1 + |log sigma^2| + sigma^2       (the sizes of the textbook summands)

The divergence cancels near sigma = 1; there it is a series (v - 1 - log v =
t^2 (t - log1p t)/t^2, t = v - 1) instead of a difference.
"""

from __future__ import annotations

import numpy as np

from . import _exp_log, _validate
from ._eft import dd_add, dd_div
from ._exp_log import NEAR_ONE, exp_minus_one_minus, log1p_tail
from ._scaled import Scaled, select, square

POSTERIORS = ("logvar", "logstd", "std", "var")


def _scale_input(scale, posterior):
    """The scale as a finite batched array; std and var must be positive."""
    if posterior not in POSTERIORS:
        raise ValueError(f"posterior: {posterior!r} is not one of {', '.join(POSTERIORS)}")
    scale = _validate.finite_batched(posterior, scale)
    if posterior in ("std", "var"):
        _validate.positive(posterior, scale)
    return scale


def posterior_inputs(mu, scale, posterior):
    """mu and the scale, validated, of one shape."""
    scale = _scale_input(scale, posterior)
    mu = _validate.finite_batched("mu", mu)
    _validate.same_shape(mu=mu, **{posterior: scale})
    return mu, scale


def scale_to_logvar(scale, posterior="logvar"):
    """log sigma^2 from a scale in the posterior's parameterization.

    logvar: itself; logstd: 2 logstd (exact); std: 2 log std; var: log var (within 0.5 ulp +
    2^-90 relative). std and var must be positive.
    """
    scale = _scale_input(scale, posterior)
    with np.errstate(all="ignore"):
        if posterior == "logvar":
            return scale.copy()
        if posterior == "logstd":
            return 2.0 * scale
        log = _exp_log.log(scale)
        return (log.times_power_of_two(1) if posterior == "std" else log).value()


def _variance_divergence(v):
    """v - 1 - log v: t^2 (t - log1p t)/t^2 for t = v - 1 near 0 (v - 1 exact there)."""
    t = v - 1.0
    near = square(t) * Scaled(log1p_tail((t, np.zeros_like(t))), 0)
    far = Scaled.exact(v, -1.0) + -_exp_log.log(v)
    return select(np.abs(t) <= NEAR_ONE, near, far)


def std_ratio_divergence(a, b):
    """s^2 - 1 - log s^2 for s = a / b (a, b > 0).

    Near s = 1 with t = (a - b)/b: t^2 + 2 (t - log1p t) = t^2 (1 + 2 (t - log1p t)/t^2);
    elsewhere (a/b)^2 - 1 - 2 log a + 2 log b.
    """
    a_m, a_e = np.frexp(a)
    b_m, b_e = np.frexp(b)
    shift = a_e - b_e
    a_scaled = np.ldexp(a_m, np.minimum(np.maximum(shift, -2), 2))  # a / 2^b_e where a is near b
    t = dd_div((a_scaled - b_m, np.zeros_like(b_m)), b_m)  # numerator exact (Sterbenz)
    tail = log1p_tail(t)
    near = square(*t) * Scaled(dd_add((1.0, 0.0), (2.0 * tail[0], 2.0 * tail[1])), 0)
    ratio = dd_div((a_m, np.zeros_like(a_m)), b_m)
    far = (square(*ratio).times_power_of_two(2 * shift) + Scaled.exact(-1.0)
           + (-_exp_log.log(a)).times_power_of_two(1) + _exp_log.log(b).times_power_of_two(1))
    return select(np.abs(t[0]) <= NEAR_ONE, near, far)


def scale_divergence(scale, posterior):
    """sigma^2 - 1 - log sigma^2 with sigma given by ``scale`` in the posterior's terms."""
    if posterior == "logvar":
        return exp_minus_one_minus(scale, 0.0, Scaled.exact(-scale))
    if posterior == "logstd":
        return exp_minus_one_minus(2.0 * scale, 0.0, Scaled.exact(-scale, -scale))
    if posterior == "std":
        return std_ratio_divergence(scale, np.ones_like(scale))
    return _variance_divergence(scale)


def scale_magnitude(scale, posterior):
    """1 + |log sigma^2| + sigma^2."""
    if posterior == "logvar":
        return Scaled.exact(1.0, np.abs(scale)) + _exp_log.exp(scale)
    if posterior == "logstd":
        return Scaled.exact(1.0, np.abs(scale), np.abs(scale)) + _exp_log.exp(2.0 * scale)
    if posterior == "std":
        return (Scaled.exact(1.0) + _exp_log.log(scale).absolute().times_power_of_two(1)
                + square(scale))
    return Scaled.exact(1.0, scale) + _exp_log.log(scale).absolute()
