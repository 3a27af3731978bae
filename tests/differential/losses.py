"""One VAE loss, written once per framework, and the same loss with the KL averaged over latents.

    loss = mean_b [ sum_k (softplus(l_bk) - x_bk l_bk) + 1/2 sum_j (mu_bj^2 + exp(lv_bj) - 1 - lv_bj) ]

is the negative ELBO of a Bernoulli-logits decoder (batch mean). ``kl_latent_mean`` replaces
the sum over j by a mean: the departure ``kl-latent-mean``. softplus(l) = log(1 + e^l) is
written as logaddexp(0, l) where the framework has it: torch.nn.functional.softplus returns
l itself above l = 20, an absolute error of up to e^-20 ~ 2e-9 that the float64 bound (about
1e-14 here) rightly refuses. TensorFlow has no logaddexp and its softplus has no such cut-off.
keras.ops.softplus is the backend's softplus (torch's under torch), and keras.ops.logaddexp is
no way out: under TensorFlow its gradient at l = 0 is 1 instead of 1/2, under torch it computes
in float32; so the keras loss is compared in float32 only (see test_same_verdict.py).
Framework modules are imported only when their losses are asked for.
"""

from __future__ import annotations

ARGS = ("x_recon", "x", "mu", "logvar")
LIKELIHOOD = "bernoulli-logits"


def numpy_losses():
    import numpy as np

    def terms(x_recon, x, mu, logvar):
        data_axes = tuple(range(1, x.ndim))
        latent_axes = tuple(range(1, mu.ndim))
        reconstruction = np.sum(np.logaddexp(0, x_recon) - x * x_recon, axis=data_axes)
        kl = 0.5 * (mu**2 + np.exp(logvar) - 1 - logvar)
        return reconstruction, kl, latent_axes

    def elbo_loss(x_recon, x, mu, logvar):
        reconstruction, kl, latent_axes = terms(x_recon, x, mu, logvar)
        return np.mean(reconstruction + np.sum(kl, axis=latent_axes))

    def kl_latent_mean(x_recon, x, mu, logvar):
        reconstruction, kl, latent_axes = terms(x_recon, x, mu, logvar)
        return np.mean(reconstruction + np.mean(kl, axis=latent_axes))

    return elbo_loss, kl_latent_mean


def torch_losses():
    import torch

    def terms(x_recon, x, mu, logvar):
        data_axes = tuple(range(1, x.ndim))
        latent_axes = tuple(range(1, mu.ndim))
        softplus = torch.logaddexp(torch.zeros_like(x_recon), x_recon)
        reconstruction = torch.sum(softplus - x * x_recon, dim=data_axes)
        kl = 0.5 * (mu**2 + torch.exp(logvar) - 1 - logvar)
        return reconstruction, kl, latent_axes

    def elbo_loss(x_recon, x, mu, logvar):
        reconstruction, kl, latent_axes = terms(x_recon, x, mu, logvar)
        return torch.mean(reconstruction + torch.sum(kl, dim=latent_axes))

    def kl_latent_mean(x_recon, x, mu, logvar):
        reconstruction, kl, latent_axes = terms(x_recon, x, mu, logvar)
        return torch.mean(reconstruction + torch.mean(kl, dim=latent_axes))

    return elbo_loss, kl_latent_mean


def tensorflow_losses():
    import tensorflow as tf

    def terms(x_recon, x, mu, logvar):
        data_axes = list(range(1, len(x.shape)))
        latent_axes = list(range(1, len(mu.shape)))
        reconstruction = tf.reduce_sum(tf.math.softplus(x_recon) - x * x_recon, axis=data_axes)
        kl = 0.5 * (mu**2 + tf.exp(logvar) - 1 - logvar)
        return reconstruction, kl, latent_axes

    def elbo_loss(x_recon, x, mu, logvar):
        reconstruction, kl, latent_axes = terms(x_recon, x, mu, logvar)
        return tf.reduce_mean(reconstruction + tf.reduce_sum(kl, axis=latent_axes))

    def kl_latent_mean(x_recon, x, mu, logvar):
        reconstruction, kl, latent_axes = terms(x_recon, x, mu, logvar)
        return tf.reduce_mean(reconstruction + tf.reduce_mean(kl, axis=latent_axes))

    return elbo_loss, kl_latent_mean


def jax_losses():
    import jax.numpy as jnp

    def terms(x_recon, x, mu, logvar):
        data_axes = tuple(range(1, x.ndim))
        latent_axes = tuple(range(1, mu.ndim))
        reconstruction = jnp.sum(jnp.logaddexp(0, x_recon) - x * x_recon, axis=data_axes)
        kl = 0.5 * (mu**2 + jnp.exp(logvar) - 1 - logvar)
        return reconstruction, kl, latent_axes

    def elbo_loss(x_recon, x, mu, logvar):
        reconstruction, kl, latent_axes = terms(x_recon, x, mu, logvar)
        return jnp.mean(reconstruction + jnp.sum(kl, axis=latent_axes))

    def kl_latent_mean(x_recon, x, mu, logvar):
        reconstruction, kl, latent_axes = terms(x_recon, x, mu, logvar)
        return jnp.mean(reconstruction + jnp.mean(kl, axis=latent_axes))

    return elbo_loss, kl_latent_mean


def keras_losses():
    from keras import ops

    def terms(x_recon, x, mu, logvar):
        data_axes = tuple(range(1, len(x.shape)))
        latent_axes = tuple(range(1, len(mu.shape)))
        reconstruction = ops.sum(ops.softplus(x_recon) - x * x_recon, axis=data_axes)
        kl = 0.5 * (ops.square(mu) + ops.exp(logvar) - 1 - logvar)
        return reconstruction, kl, latent_axes

    def elbo_loss(x_recon, x, mu, logvar):
        reconstruction, kl, latent_axes = terms(x_recon, x, mu, logvar)
        return ops.mean(reconstruction + ops.sum(kl, axis=latent_axes))

    def kl_latent_mean(x_recon, x, mu, logvar):
        reconstruction, kl, latent_axes = terms(x_recon, x, mu, logvar)
        return ops.mean(reconstruction + ops.mean(kl, axis=latent_axes))

    return elbo_loss, kl_latent_mean


LOSSES = {
    "numpy": numpy_losses,
    "torch": torch_losses,
    "tensorflow": tensorflow_losses,
    "jax": jax_losses,
    "keras": keras_losses,
}
