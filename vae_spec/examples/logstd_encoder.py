"""A JAX loss whose encoder outputs log-standard-deviations; its KL uses them correctly."""

import jax
import jax.numpy as jnp


def vae_loss(x_recon, x, mu, logstd):
    """Bernoulli on logits plus KL(N(mu, exp(2 logstd)) || N(0, I)), averaged over the batch."""
    batch = x.shape[0]
    logits = x_recon.reshape(batch, -1)
    target = x.reshape(batch, -1)
    reconstruction = jnp.sum(jax.nn.softplus(logits) - target * logits, axis=1)
    mu = mu.reshape(batch, -1)
    logstd = logstd.reshape(batch, -1)
    kl = 0.5 * jnp.sum(mu**2 + jnp.exp(2 * logstd) - 1 - 2 * logstd, axis=1)
    return jnp.mean(reconstruction + kl)
