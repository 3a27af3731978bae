"""Losses called the way public code calls them (imported by ``test_call_signatures``).

A module whose ``loss_function`` reads its own ``beta`` attribute; a loss taking the model's
outputs as a dict and the batch; a loss with a ``beta=`` keyword whose default is not 1. Each is
the batch-mean negative ELBO with a Bernoulli-probs decoder once called as declared.
"""

import numpy as np


def _bce(x_recon, x):
    return -(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)).reshape(len(x), -1).sum(axis=1)


def _kl(mu, logvar):
    return -0.5 * (1 + logvar - mu**2 - np.exp(logvar)).reshape(len(mu), -1).sum(axis=1)


class VAE:
    """A model whose loss reads ``self.beta``."""

    def __init__(self, beta: float = 1.0):
        self.beta = beta

    def loss_function(self, recon_x, x, mu, logvar):
        return np.mean(_bce(recon_x, x) + self.beta * _kl(mu, logvar))


model = VAE(beta=1.0)
beta_vae = VAE(beta=4.0)


def loss_from_dict(outputs, batch):
    """loss(outputs_dict, batch), as Lightning-style training steps call it."""
    return np.mean(_bce(outputs["recon"], batch) + _kl(outputs["mu"], outputs["logvar"]))


def loss_with_beta(recon_x, x, mu, logvar, beta=4.0):
    """A beta-VAE loss whose beta is a keyword (default 4)."""
    return np.mean(_bce(recon_x, x) + beta * _kl(mu, logvar))
