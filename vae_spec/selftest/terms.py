"""The correct parts of a VAE loss, per example, that a mutant leaves alone.

Inputs carry the batch first; each term is summed over every other axis (``o.rows``).
"""

from __future__ import annotations


def bce(o, x_recon, x):
    """Bernoulli NLL on probabilities: -sum_k [x log p + (1 - x) log(1 - p)]."""
    return o.sum(o.rows(o.bce(x_recon, x)), axis=1)


def bce_logits(o, logits, x):
    """Bernoulli NLL on logits: sum_k [softplus(l) - x l]."""
    return o.sum(o.rows(o.bce_with_logits(logits, x)), axis=1)


def kl(o, mu, logvar):
    """KL(N(mu, exp(lv)) || N(0, I)) = -1/2 sum_j [1 + lv - mu^2 - exp(lv)]."""
    return -0.5 * o.sum(o.rows(1 + logvar - mu * mu - o.exp(logvar)), axis=1)
