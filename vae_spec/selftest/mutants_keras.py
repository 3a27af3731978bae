"""Buggy VAE losses in Keras 3 (keras.ops, any backend): each departs from its claim in one way.

The claims and the finding codes each must produce are in :mod:`vae_spec.selftest.corpus`.
Inputs carry the batch first; the helpers below are the correct parts a mutant leaves alone.
keras.ops has no in-place operations, so class 16 has no mutant here.
"""

import keras
from keras import ops


def _rows(t):
    """(B, ...) -> (B, n): one row per example."""
    return ops.reshape(t, (ops.shape(t)[0], -1))


def _bce(x_recon, x):
    """Per-example Bernoulli NLL on probabilities, summed over data."""
    return -ops.sum(_rows(x * ops.log(x_recon) + (1 - x) * ops.log1p(-x_recon)), axis=1)


def _bce_logits(logits, x):
    """Per-example Bernoulli NLL on logits: sum_k [softplus(l) - x l]."""
    return ops.sum(_rows(ops.softplus(logits) - x * logits), axis=1)


def _kl(mu, logvar):
    """Per-example KL(N(mu, exp(logvar)) || N(0, I)) = -1/2 sum_j [1 + lv - mu^2 - exp(lv)]."""
    return -0.5 * ops.sum(_rows(1 + logvar - ops.square(mu) - ops.exp(logvar)), axis=1)


def kl_latent_mean(x_recon, x, mu, logvar):
    """1: the KL averaged over every element (batch and latent) instead of summed over latent."""
    kl = -0.5 * ops.mean(1 + logvar - ops.square(mu) - ops.exp(logvar))
    return ops.mean(_bce(x_recon, x)) + kl


def kl_scaled_0_01(x_recon, x, mu, logvar):
    """2: the KL multiplied by a hidden 0.01."""
    return ops.mean(_bce(x_recon, x) + 0.01 * _kl(mu, logvar))


def kl_batch_sum(x_recon, x, mu, logvar):
    """3: the KL summed over the batch while the reconstruction is averaged over it."""
    kl = -0.5 * ops.sum(1 + logvar - ops.square(mu) - ops.exp(logvar))
    return ops.mean(_bce(x_recon, x)) + kl


def recon_data_mean(x_recon, x, mu, logvar):
    """4: keras.losses.binary_crossentropy, which averages over the last axis, plus a summed KL."""
    reconstruction = keras.losses.binary_crossentropy(_rows(x), _rows(x_recon))
    return ops.mean(reconstruction + _kl(mu, logvar))


def logvar_read_as_logstd(mu, logvar):
    """5: sigma^2 = exp(2 logvar): the log-variance used as a log-std."""
    return ops.mean(0.5 * ops.sum(_rows(ops.square(mu) + ops.exp(2 * logvar) - 1 - 2 * logvar), axis=1))


def kl_missing_half(mu, logvar):
    """7: the KL without its factor 1/2."""
    return ops.mean(-ops.sum(_rows(1 + logvar - ops.square(mu) - ops.exp(logvar)), axis=1))


def kl_sign_flipped(x_recon, x, mu, logvar):
    """8: the KL subtracted from the reconstruction loss."""
    return ops.mean(_bce(x_recon, x) - _kl(mu, logvar))


def double_sigmoid(x_recon, x, mu, logvar):
    """9: logits squashed by a sigmoid, then given to the logits form (a double sigmoid)."""
    return ops.mean(_bce_logits(ops.sigmoid(x_recon), x) + _kl(mu, logvar))


def kl_sum_over_batch_axis(x_recon, x, mu, logvar):
    """11: the KL summed over axis 0 (the batch) instead of the latent axis."""
    kl = -0.5 * ops.sum(1 + logvar - ops.square(mu) - ops.exp(logvar), axis=0)
    return ops.mean(_bce(x_recon, x)) + ops.mean(kl)


def detached_logvar(x_recon, x, mu, logvar):
    """14: stop_gradient on logvar inside the KL: the value is right, the gradient is not."""
    return ops.mean(_bce(x_recon, x) + _kl(mu, ops.stop_gradient(logvar)))


def clamped_logvar(x_recon, x, mu, logvar):
    """14: logvar clipped to [-2.5, 2.5] "for stability": zero gradient outside, inside the typical range."""
    return ops.mean(_bce(x_recon, x) + _kl(mu, ops.clip(logvar, -2.5, 2.5)))


def fixed_prior(x_recon, x, mu, logvar, prior_mu, prior_logvar):
    """17: the KL against N(0, I) although a learned prior is passed in."""
    return ops.mean(_bce(x_recon, x) + _kl(mu, logvar))


def clamped_probs_for_logits(x_recon, x, mu, logvar):
    """19: sigmoid probabilities clipped to [1e-7, 1 - 1e-7] where the exact logits form is claimed."""
    probs = ops.clip(ops.sigmoid(x_recon), 1e-7, 1 - 1e-7)
    return ops.mean(_bce(probs, x) + _kl(mu, logvar))


def scalar_for_per_example(x_recon, x, mu, logvar):
    """20: the batch mean returned where per-example losses are declared (Keras weights samples by them)."""
    return ops.mean(_bce(x_recon, x) + _kl(mu, logvar))
