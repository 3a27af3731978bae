r"""The Gaussian and Laplace decoder likelihoods: pieces, magnitude and gradient.

    Gaussian: -(x - m)^2 / (2V) - 1/2 log(2 pi V),   V fixed or exp(dec_logvar)
    Laplace:  -|x - m| / S - log(2S),                S fixed or exp(dec_logscale)

x - m is an exact pair (TwoSum), its square exact to 2^-106 and the weight 1/(2V) or 1/S a
scaled value (an exact pair for a fixed V or S, exp's accuracy for a learned one), so only
the weight's exponential and the final rounding err; the constants are 106-bit pairs.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ._constants import LN2, LOG_2PI, PI, ln_pair
from ._eft import float_expansion, two_sum
from ._scaled import Scaled, square

# ln 2 split for Cody-Waite reduction: _LN2_HIGH has 32 significant bits, so k * _LN2_HIGH is
# exact for |k| < 2^21.
_LN2_HIGH = math.ldexp(math.floor(math.ldexp(LN2[0], 32)), -32)
_LN2_LOW = float(Fraction(LN2[0]) - Fraction(_LN2_HIGH)) + LN2[1]


def _exp_split(a):
    """exp(a) = m 2^k (m = exp(r), |r| <= ln2/2 + tiny): exp's accuracy with no overflow."""
    a = np.clip(a, -5000.0, 5000.0)  # beyond, every use over/underflows anyway
    k = np.rint(a / LN2[0])
    r = (a - k * _LN2_HIGH) - k * _LN2_LOW
    return np.exp(r), k.astype(np.int64)


def _weight(lik, extra):
    """The Gaussian 1/(2V) or the Laplace 1/S as a scaled value."""
    halve = 1 if lik.family == "gaussian" else 0
    if lik.learned is None:
        mantissa, exponent = math.frexp(lik.variance if lik.family == "gaussian" else lik.scale)
        return Scaled(float_expansion(1 / Fraction(mantissa)), -exponent - halve)
    m, k = _exp_split(-extra)
    return Scaled([m], k - halve)


def _constant(lik):
    """The constant c that constants=False drops (the value holds -c), as a pair."""
    if lik.family == "gaussian":
        hi, lo = LOG_2PI[:2] if lik.learned else ln_pair(2, PI, lik.variance)
        return 0.5 * hi, 0.5 * lo
    return LN2[:2] if lik.learned else ln_pair(2, lik.scale)


def _absolute(d_hi, d_lo):
    """|d_hi + d_lo| as a scaled value."""
    return Scaled.exact(np.abs(d_hi), np.sign(d_hi) * d_lo)


def pieces(lik, x, mean, extra, constants):
    """Float arrays whose exact sum is the log-likelihood, element-wise."""
    d_hi, d_lo = two_sum(x, -mean)
    size = square(d_hi, d_lo) if lik.family == "gaussian" else _absolute(d_hi, d_lo)
    term = (size * _weight(lik, extra)).pair()
    out = [-term[0], -term[1]]
    if lik.learned:
        out.append(-0.5 * extra if lik.family == "gaussian" else -extra)
    if constants:
        out.extend(-c for c in _constant(lik))
    return out


def magnitude(lik, x, recon, extra, constants):
    """M per element (likelihoods.log_likelihood_magnitude): Gaussian (x-m)^2 / (2V) +
    (|x|+|m|) |x-m| / V + 1/2 log(2 pi) + 1/2 |log V|; Laplace |x-m| / S + (|x|+|m|) / S +
    log 2 + |log S|."""
    if lik.family == "gaussian":
        log_var = extra if lik.learned else math.log(lik.variance)
        inverse = np.exp(-log_var)
        d = np.abs(x - recon)
        value = 0.5 * d * d * inverse + (np.abs(x) + np.abs(recon)) * d * inverse
        if lik.learned:
            value = value + 0.5 * np.abs(log_var)
        if constants:
            value = value + (0.5 * math.log(2 * math.pi)
                             + (0.0 if lik.learned else 0.5 * abs(log_var)))
        return value
    log_scale = extra if lik.learned else math.log(lik.scale)
    inverse = np.exp(-log_scale)
    value = (np.abs(x - recon) + np.abs(x) + np.abs(recon)) * inverse
    if lik.learned:
        value = value + np.abs(log_scale)
    if constants:
        value = value + (math.log(2.0) + (0.0 if lik.learned else abs(log_scale)))
    return value


def grad(lik, x, recon, extra):
    """Gaussian: (x-m)/V and d/d dec_logvar = (x-m)^2 exp(-dec_logvar) / 2 - 1/2; Laplace:
    sign(x-m)/S (0 at x = m) and d/d dec_logscale = |x-m| exp(-dec_logscale) - 1."""
    d_hi, d_lo = two_sum(x, -recon)
    weight = _weight(lik, extra)
    if lik.family == "gaussian":
        out = {"x_recon": 2.0 * (Scaled.exact(d_hi, d_lo) * weight).value()}
        if lik.learned:
            out["dec_logvar"] = (square(d_hi, d_lo) * weight + Scaled.exact(-0.5)).value()
        return out
    out = {"x_recon": np.where(d_hi == 0, 0.0, np.sign(d_hi) * weight.value())}
    if lik.learned:
        out["dec_logscale"] = (_absolute(d_hi, d_lo) * weight + Scaled.exact(-1.0)).value()
    return out
