"""Buggy VAE losses in JAX: each departs from the claim it is declared with in one known way.

The claims and the finding codes each must produce are in :mod:`vae_spec.selftest.corpus`.
Inputs carry the batch first; the helpers below are the correct parts a mutant leaves alone.
jax arrays are immutable, so class 16 (an input modified in place) has no mutant here.
"""

import jax
import jax.numpy as jnp


def _rows(a):
    """(B, ...) -> (B, n): one row per example."""
    return a.reshape(a.shape[0], -1)


def _bce(x_recon, x):
    """Per-example Bernoulli NLL on probabilities, summed over data."""
    return -jnp.sum(_rows(x * jnp.log(x_recon) + (1 - x) * jnp.log1p(-x_recon)), axis=1)


def _bce_logits(logits, x):
    """Per-example Bernoulli NLL on logits: sum_k [softplus(l) - x l]."""
    return jnp.sum(_rows(jax.nn.softplus(logits) - x * logits), axis=1)


def _kl(mu, logvar):
    """Per-example KL(N(mu, exp(logvar)) || N(0, I)) = 1/2 sum_j [mu^2 + exp(lv) - 1 - lv]."""
    return 0.5 * jnp.sum(_rows(mu**2 + jnp.exp(logvar) - 1 - logvar), axis=1)


def kl_latent_mean(x_recon, x, mu, logvar):
    """1: the KL averaged over every element (batch and latent) instead of summed over latent."""
    kl = -0.5 * jnp.mean(1 + logvar - mu**2 - jnp.exp(logvar))
    return jnp.mean(_bce(x_recon, x)) + kl


def kl_scaled_0_01(x_recon, x, mu, logvar):
    """2: the KL multiplied by a hidden 0.01."""
    return jnp.mean(_bce(x_recon, x) + 0.01 * _kl(mu, logvar))


def kl_batch_sum(x_recon, x, mu, logvar):
    """3: the KL summed over the batch while the reconstruction is averaged over it."""
    kl = -0.5 * jnp.sum(1 + logvar - mu**2 - jnp.exp(logvar))
    return jnp.mean(_bce(x_recon, x)) + kl


def recon_data_mean(x_recon, x, mu, logvar):
    """4: the reconstruction averaged over data elements while the KL is summed over latent."""
    reconstruction = -jnp.mean(_rows(x * jnp.log(x_recon) + (1 - x) * jnp.log1p(-x_recon)), axis=1)
    return jnp.mean(reconstruction + _kl(mu, logvar))


def logvar_read_as_logstd(mu, logvar):
    """5: sigma^2 = exp(2 logvar): the log-variance used as a log-std."""
    return jnp.mean(0.5 * jnp.sum(_rows(mu**2 + jnp.exp(2 * logvar) - 1 - 2 * logvar), axis=1))


def kl_missing_half(mu, logvar):
    """7: the KL without its factor 1/2."""
    return jnp.mean(jnp.sum(_rows(mu**2 + jnp.exp(logvar) - 1 - logvar), axis=1))


def kl_sign_flipped(x_recon, x, mu, logvar):
    """8: the KL subtracted from the reconstruction loss."""
    return jnp.mean(_bce(x_recon, x) - _kl(mu, logvar))


def double_sigmoid(x_recon, x, mu, logvar):
    """9: logits squashed by a sigmoid, then given to the logits form (a double sigmoid)."""
    return jnp.mean(_bce_logits(jax.nn.sigmoid(x_recon), x) + _kl(mu, logvar))


def kl_sum_over_batch_axis(x_recon, x, mu, logvar):
    """11: the KL summed over axis 0 (the batch) instead of the latent axis."""
    kl = 0.5 * jnp.sum(mu**2 + jnp.exp(logvar) - 1 - logvar, axis=0)
    return jnp.mean(_bce(x_recon, x)) + jnp.mean(kl)


def broadcast_b1_against_b(x_recon, x, mu, logvar):
    """12: a (B, 1) reconstruction (keepdims=True) plus a (B,) KL broadcasts to (B, B) before the sum."""
    reconstruction = -jnp.sum(_rows(x * jnp.log(x_recon) + (1 - x) * jnp.log1p(-x_recon)), axis=1, keepdims=True)
    return jnp.sum(reconstruction + _kl(mu, logvar))


def detached_logvar(x_recon, x, mu, logvar):
    """14: stop_gradient on logvar inside the KL: the value is right, the gradient is not."""
    return jnp.mean(_bce(x_recon, x) + _kl(mu, jax.lax.stop_gradient(logvar)))


def detached_mu(x_recon, x, mu, logvar):
    """14: stop_gradient on mu inside the KL: the KL never pulls mu toward 0."""
    return jnp.mean(_bce(x_recon, x) + _kl(jax.lax.stop_gradient(mu), logvar))


def clamped_logvar(x_recon, x, mu, logvar):
    """14: logvar clipped to [-2.5, 2.5] "for stability": zero gradient outside, inside the typical range."""
    return jnp.mean(_bce(x_recon, x) + _kl(mu, jnp.clip(logvar, -2.5, 2.5)))


def fixed_prior(x_recon, x, mu, logvar, prior_mu, prior_logvar):
    """17: the KL against N(0, I) although a learned prior is passed in."""
    return jnp.mean(_bce(x_recon, x) + _kl(mu, logvar))


def clamped_probs_for_logits(x_recon, x, mu, logvar):
    """19: sigmoid probabilities clipped to [1e-7, 1 - 1e-7] where the exact logits form is claimed."""
    probs = jnp.clip(jax.nn.sigmoid(x_recon), 1e-7, 1 - 1e-7)
    return jnp.mean(_bce(probs, x) + _kl(mu, logvar))


def per_example_for_scalar(x_recon, x, mu, logvar):
    """20: the per-example losses returned where the batch mean is declared."""
    return _bce(x_recon, x) + _kl(mu, logvar)


def scalar_for_per_example(x_recon, x, mu, logvar):
    """20: the batch mean returned where per-example losses are declared."""
    return jnp.mean(_bce(x_recon, x) + _kl(mu, logvar))
