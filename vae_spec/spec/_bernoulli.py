r"""The Bernoulli decoder likelihood on targets x in [0, 1]: pieces, magnitude and gradient.

    probs  p = x_recon:  x log p + (1-x) log(1-p)       (0 log 0 = 0)
    logits l = x_recon:  x l - softplus(l)

1 - x is an exact pair (TwoSum) and the products with the logs exact pairs (TwoProduct), so
only numpy's log, log1p and exp err.
"""

from __future__ import annotations

import numpy as np

from ._eft import two_product, two_sum


def _zero_times(a, b):
    """a * b with 0 * inf = 0 (the 0 log 0 = 0 convention)."""
    return np.where(a == 0, 0.0, a * b)


def _product(a, b):
    """a * b = hi + lo exactly (b may be -inf: lo = 0), with 0 * inf = 0."""
    hi, lo = two_product(a, b)
    zero = a == 0
    return np.where(zero, 0.0, hi), np.where(zero, 0.0, lo)


def _softplus(v):
    """log(1 + e^v) = max(v, 0) + log1p(e^-|v|)."""
    return np.maximum(v, 0.0) + np.log1p(np.exp(-np.abs(v)))


def _probs_pieces(x, log_p, log_q):
    """x log p + (1-x) log q, with 1 - x = omx + omx_lo exact."""
    omx, omx_lo = two_sum(1.0, -x)
    # where log q = -inf, omx > 0 carries it and omx_lo (of either sign) must add nothing
    return [*_product(x, log_p), *_product(omx, log_q),
            np.where(np.isfinite(log_q), omx_lo * log_q, 0.0)]


def _logits_pieces(x, logit):
    """x l - softplus(l) = -(1-x) max(l, 0) + x min(l, 0) - log(1 + e^-|l|): no cancellation.

    Every term is <= 0 (log p = min(l, 0) - log(1 + e^-|l|) and log(1-p) likewise), so large
    logits with targets near 1 lose nothing.
    """
    omx, omx_lo = two_sum(1.0, -x)
    positive, negative = np.maximum(logit, 0.0), np.minimum(logit, 0.0)
    hi, lo = _product(omx, positive)
    return [-np.log1p(np.exp(-np.abs(logit))), -hi, -lo, -omx_lo * positive,
            *_product(x, negative)]


def pieces(lik, x, recon):
    """Float arrays whose exact sum is the log-likelihood, element-wise."""
    if lik.parameterization == "probs":
        return _probs_pieces(x, np.log(recon), np.log1p(-recon))
    return _logits_pieces(x, recon)


def neg_logs(lik, recon):
    """(-log p, -log(1-p)) from the decoder output."""
    if lik.parameterization == "probs":
        return -np.log(recon), -np.log1p(-recon)
    return _softplus(-recon), _softplus(recon)


def magnitude(lik, x, recon):
    """M per element: probs |x log p| + |(1-x) log(1-p)|; logits |x l| + softplus(l)."""
    neg_log_p, neg_log_q = neg_logs(lik, recon)
    if lik.parameterization == "probs":
        return _zero_times(x, neg_log_p) + _zero_times(1.0 - x, neg_log_q)
    return np.abs(x * recon) + neg_log_q


def grad(lik, x, recon):
    """probs: (x - p) / (p (1-p)), the one-sided derivatives at p = 0 and 1; logits:
    x - sigmoid(l), from sigmoid(-|l|) so that nothing cancels for large |l|."""
    if lik.parameterization == "logits":
        e = np.exp(-np.abs(recon))
        tail = e / (1.0 + e)  # sigmoid(-|l|)
        return {"x_recon": np.where(recon >= 0, tail - (1.0 - x), x - tail)}
    p = recon
    g = (x - p) / (p * (1.0 - p))
    g = np.where(p == 0, np.where(x > 0, np.inf, -1.0), g)
    return {"x_recon": np.where(p == 1, np.where(x < 1, -np.inf, 1.0), g)}
