r"""The diagonal Gaussian's log-density and entropy, per element and per example.

    log N(x; mu, e^lv) = -1/2 [ log 2 pi + lv + (x - mu)^2 e^-lv ]
    H(N(mu, e^lv))     =  1/2 [ log 2 pi e + lv ]
"""

from __future__ import annotations

import numpy as np

from . import _validate
from ._constants import LOG_2PI, LOG_2PI_E
from ._kl_diagonal import whitened_square
from ._scaled import Scaled, per_example


def _log_density_inputs(x, mu, logvar):
    x = _validate.finite_batched("x", x)
    return (x, _validate.finite_broadcast("mu", mu, x.shape),
            _validate.finite_broadcast("logvar", logvar, x.shape))


def _log_density(x, mu, logvar):
    return (-(Scaled.exact(*LOG_2PI, logvar) + whitened_square(x, mu, logvar))
            ).times_power_of_two(-1)


def gaussian_log_density_elementwise(x, mu, logvar):
    """Per element log N(x; mu, e^lv) = -1/2 [log 2 pi + lv + (x - mu)^2 e^-lv].

    mu and logvar broadcast to x's shape. The summands are exact to 2^-100 and added once, so
    the error is at most 1/2 ulp + 2^-96 M with M = 1/2 [log 2 pi + |lv| + (x - mu)^2 e^-lv]
    (within 2 ulp unless the summands cancel to below 2^-43 M).
    """
    x, mu, logvar = _log_density_inputs(x, mu, logvar)
    with np.errstate(all="ignore"):
        return _log_density(x, mu, logvar).value()


def gaussian_log_density(x, mu, logvar):
    """Per-example log-density summed over every axis but the first; error at most
    1/2 ulp + 2^-96 sum M (M as for the element-wise form)."""
    x, mu, logvar = _log_density_inputs(x, mu, logvar)
    with np.errstate(all="ignore"):
        return per_example(_log_density(x, mu, logvar))


def _entropy(logvar):
    return Scaled.exact(*LOG_2PI_E, logvar).times_power_of_two(-1)


def gaussian_entropy_elementwise(logvar):
    """Per element H(N(mu, e^lv)) = 1/2 [log(2 pi e) + lv], log(2 pi e) to 2^-160: within
    0.5 ulp + 2^-90 relative (|log(2 pi e) + lv| >= 2^-56 for every float64 lv)."""
    logvar = _validate.finite_batched("logvar", logvar)
    with np.errstate(all="ignore"):
        return _entropy(logvar).value()


def gaussian_entropy(logvar):
    """Per-example entropy summed over every axis but the first, rounded once."""
    logvar = _validate.finite_batched("logvar", logvar)
    with np.errstate(all="ignore"):
        return per_example(_entropy(logvar))
