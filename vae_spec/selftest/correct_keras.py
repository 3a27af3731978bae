"""Correct VAE losses in Keras 3 (keras.ops, any backend): each computes exactly its claim.

Per element (lv = logvar): KL = 1/2 (mu^2 + exp(lv) - 1 - lv); Bernoulli NLL on probabilities
-(x log p + (1 - x) log(1 - p)), on logits softplus(l) - x l. Per-example sums, then the
declared batch reduction (see :mod:`vae_spec.selftest.corpus` for each claim).
"""

from keras import ops


def _rows(t):
    """(B, ...) -> (B, n): one row per example."""
    return ops.reshape(t, (ops.shape(t)[0], -1))


def _bce(x_recon, x):
    return -ops.sum(_rows(x * ops.log(x_recon) + (1 - x) * ops.log1p(-x_recon)), axis=1)


def _kl(mu, logvar):
    return -0.5 * ops.sum(_rows(1 + logvar - ops.square(mu) - ops.exp(logvar)), axis=1)


def textbook(x_recon, x, mu, logvar):
    """Bernoulli on probabilities plus the textbook KL -1/2 sum(1 + lv - mu^2 - exp(lv)), batch mean."""
    return ops.mean(_bce(x_recon, x) + _kl(mu, logvar))


def stable_logits(x_recon, x, mu, logvar):
    """Bernoulli on logits via softplus, KL via expm1 (no 1 - 1 cancellation near the prior)."""
    reconstruction = ops.sum(_rows(ops.softplus(x_recon) - x * x_recon), axis=1)
    kl = 0.5 * ops.sum(_rows(ops.square(mu) + ops.expm1(logvar) - logvar), axis=1)
    return ops.mean(reconstruction + kl)


def logstd_posterior(x_recon, x, mu, logstd):
    """The encoder gives log sigma: KL = 1/2 sum(mu^2 + exp(2 ls) - 1 - 2 ls)."""
    kl = 0.5 * ops.sum(_rows(ops.square(mu) + ops.exp(2 * logstd) - 1 - 2 * logstd), axis=1)
    return ops.mean(_bce(x_recon, x) + kl)


def batch_sum(x_recon, x, mu, logvar):
    """Everything summed, the batch included (declared batch='sum')."""
    bce = -ops.sum(x * ops.log(x_recon) + (1 - x) * ops.log1p(-x_recon))
    kl = -0.5 * ops.sum(1 + logvar - ops.square(mu) - ops.exp(logvar))
    return bce + kl


def beta_declared(x_recon, x, mu, logvar):
    """beta = 4 on the KL, declared as Convention(beta=4)."""
    return ops.mean(_bce(x_recon, x) + 4.0 * _kl(mu, logvar))


def per_example(x_recon, x, mu, logvar):
    """One loss per example (declared batch='none'), as Keras losses return."""
    return _bce(x_recon, x) + _kl(mu, logvar)
