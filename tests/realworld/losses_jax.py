"""JAX VAE losses re-expressed from public code (see corpus.py for each entry's claim).

flax, haiku, optax and numpyro are not installed here: where a source calls them, the call
is written as the jax primitive it reduces to (flax's nn.log_sigmoid is jax.nn.log_sigmoid;
optax.sigmoid_binary_cross_entropy is -labels*log_sigmoid(l) - (1-labels)*log_sigmoid(-l);
numpyro's Normal/Bernoulli log_prob are jax.scipy's norm.logpdf / xlogy + xlog1py).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy import special, stats


# google/flax examples/vae/train.py: vmapped per-example KL and BCE-with-logits (written with
# log_sigmoid and log(-expm1(.))), each .mean() over the batch.
@jax.vmap
def _flax_kl_divergence(mean, logvar):
    return -0.5 * jnp.sum(1 + logvar - jnp.square(mean) - jnp.exp(logvar))


@jax.vmap
def _flax_binary_cross_entropy_with_logits(logits, labels):
    logits = jax.nn.log_sigmoid(logits)
    return -jnp.sum(labels * logits + (1. - labels) * jnp.log(-jnp.expm1(logits)))


def flax_vae_loss(recon_x, x, mean, logvar):
    bce_loss = _flax_binary_cross_entropy_with_logits(recon_x, x).mean()
    kld_loss = _flax_kl_divergence(mean, logvar).mean()
    loss = bce_loss + kld_loss
    return loss


# google-deepmind/dm-haiku examples/vae.py: the encoder returns stddev = exp(log_stddev);
# loss_fn takes -mean(log_likelihood - kl_gaussian(mean, stddev**2)). loss_fn(params,
# rng_key, batch) applies the model; written here as a function of its outputs.
def _haiku_binary_cross_entropy(x, logits):
    if x.shape != logits.shape:
        raise ValueError("inputs x and logits must be of the same shape")
    x = jnp.reshape(x, (x.shape[0], -1))
    logits = jnp.reshape(logits, (logits.shape[0], -1))
    return -jnp.sum(x * logits - jnp.logaddexp(0.0, logits), axis=-1)


def _haiku_kl_gaussian(mean, var):
    return 0.5 * jnp.sum(-jnp.log(var) - 1.0 + var + mean**2, axis=-1)


def haiku_vae_loss(image, logits, mean, stddev):
    log_likelihood = -_haiku_binary_cross_entropy(image, logits)
    kl = _haiku_kl_gaussian(mean, stddev**2)
    elbo = log_likelihood - kl
    return -jnp.mean(elbo)


# google/flax examples/nnx_toy_examples/05_vae.py: the encoder stores
# jnp.mean(0.5 * jnp.mean(-log(std**2) - 1 + std**2 + mean**2, axis=-1)) as a Loss variable;
# train_step adds jnp.mean(optax.sigmoid_binary_cross_entropy(logits, x)) + 0.1 * kl_loss.
def _optax_sigmoid_binary_cross_entropy(logits, labels):
    log_p = jax.nn.log_sigmoid(logits)
    log_not_p = jax.nn.log_sigmoid(-logits)
    return -labels * log_p - (1. - labels) * log_not_p


def flax_nnx_vae_loss(logits, x, mean, std):
    kl_loss = jnp.mean(0.5 * jnp.mean(-jnp.log(std**2) - 1.0 + std**2 + mean**2, axis=-1))
    reconstruction_loss = jnp.mean(_optax_sigmoid_binary_cross_entropy(logits, x))
    loss = reconstruction_loss + 0.1 * kl_loss
    return loss


# pyro-ppl/numpyro examples/vae.py: SVI with Trace_ELBO over model (z ~ Normal(0, 1) per
# latent, obs ~ Bernoulli(img_loc) on the flattened batch) and guide (z ~ Normal(z_loc,
# z_std)); the loss for one z from the guide, summed over the batch.
def numpyro_vae_trace_elbo(batch, img_loc, z, z_loc, z_std):
    batch = jnp.reshape(batch, (batch.shape[0], -1))
    img_loc = jnp.reshape(img_loc, (img_loc.shape[0], -1))
    log_pz = jnp.sum(stats.norm.logpdf(z, 0.0, 1.0))
    log_px = jnp.sum(special.xlogy(batch, img_loc) + special.xlog1py(1 - batch, -img_loc))
    log_qz = jnp.sum(stats.norm.logpdf(z, z_loc, z_std))
    return -(log_px + log_pz - log_qz)


# Public GitHub file (jax vae_train_loss with vmapped mse_loss_fn and kl_divergence; the index
# does not name the repository): the squared error .mean() over batch and elements, the KL
# summed per example and .mean() over the batch.
@jax.jit
@jax.vmap
def _kl_divergence(mean, logvar):
    return -0.5 * jnp.sum(1 + logvar - jnp.square(mean) - jnp.exp(logvar))


@jax.jit
@jax.vmap
def _mse_loss_fn(prediction, truth):
    return (prediction - truth) ** 2


@jax.jit
def jax_vae_train_loss(prediction, truth, mean, logvar):
    mse_loss = _mse_loss_fn(prediction, truth).mean()
    kld_loss = _kl_divergence(mean, logvar).mean()
    loss = mse_loss + kld_loss
    return loss
