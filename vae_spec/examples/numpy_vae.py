"""A numpy VAE loss in the numerically stable logits form."""

import numpy as np


def negative_elbo(x, logits, mu, logvar):
    """Bernoulli on logits (x l - softplus(l), stably) plus the KL, averaged over the batch."""
    batch = x.shape[0]
    logits = logits.reshape(batch, -1)
    x = x.reshape(batch, -1)
    softplus = np.maximum(logits, 0) + np.log1p(np.exp(-np.abs(logits)))
    reconstruction = np.sum(softplus - x * logits, axis=1)
    mu = mu.reshape(batch, -1)
    logvar = logvar.reshape(batch, -1)
    kl = 0.5 * np.sum(mu**2 + np.expm1(logvar) - logvar, axis=1)
    return np.mean(reconstruction + kl)
