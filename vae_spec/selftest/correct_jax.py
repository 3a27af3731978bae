"""Correct VAE losses in JAX: each computes exactly the claim it is declared with.

Per element (lv = logvar): KL = 1/2 (mu^2 + exp(lv) - 1 - lv); Bernoulli NLL on probabilities
-(x log p + (1 - x) log(1 - p)), on logits softplus(l) - x l. Per-example sums, then the
declared batch reduction (see :mod:`vae_spec.selftest.corpus` for each claim).
"""

import jax
import jax.numpy as jnp


def _rows(a):
    """(B, ...) -> (B, n): one row per example."""
    return a.reshape(a.shape[0], -1)


def _bce(x_recon, x):
    return -jnp.sum(_rows(x * jnp.log(x_recon) + (1 - x) * jnp.log1p(-x_recon)), axis=1)


def _kl(mu, logvar):
    return -0.5 * jnp.sum(_rows(1 + logvar - mu**2 - jnp.exp(logvar)), axis=1)


def textbook(x_recon, x, mu, logvar):
    """Bernoulli on probabilities plus the textbook KL -1/2 sum(1 + lv - mu^2 - exp(lv)), batch mean."""
    return jnp.mean(_bce(x_recon, x) + _kl(mu, logvar))


def stable_logits(x_recon, x, mu, logvar):
    """Bernoulli on logits via softplus, KL via expm1 (no 1 - 1 cancellation near the prior)."""
    reconstruction = jnp.sum(_rows(jax.nn.softplus(x_recon) - x * x_recon), axis=1)
    kl = 0.5 * jnp.sum(_rows(mu**2 + jnp.expm1(logvar) - logvar), axis=1)
    return jnp.mean(reconstruction + kl)


def float16_upcast(x_recon, x, mu, logvar):
    """float16 inputs computed in float32 (as a mixed-precision policy does for losses)."""
    x_recon, x, mu, logvar = (a.astype(jnp.float32) for a in (x_recon, x, mu, logvar))
    return jnp.mean(_bce(x_recon, x) + _kl(mu, logvar))


def logstd_posterior(x_recon, x, mu, logstd):
    """The encoder gives log sigma: KL = 1/2 sum(mu^2 + exp(2 ls) - 1 - 2 ls)."""
    kl = 0.5 * jnp.sum(_rows(mu**2 + jnp.exp(2 * logstd) - 1 - 2 * logstd), axis=1)
    return jnp.mean(_bce(x_recon, x) + kl)


def batch_sum(x_recon, x, mu, logvar):
    """Everything summed, the batch included (declared batch='sum')."""
    bce = -jnp.sum(x * jnp.log(x_recon) + (1 - x) * jnp.log1p(-x_recon))
    kl = -0.5 * jnp.sum(1 + logvar - mu**2 - jnp.exp(logvar))
    return bce + kl


def beta_declared(x_recon, x, mu, logvar):
    """beta = 4 on the KL, declared as Convention(beta=4)."""
    return jnp.mean(_bce(x_recon, x) + 4.0 * _kl(mu, logvar))


def learned_prior(x_recon, x, mu, logvar, prior_mu, prior_logvar):
    """KL against a learned diagonal prior: 1/2 sum(exp(lv - lp) + (mu - mp)^2 exp(-lp) - 1 - lv + lp)."""
    kl = 0.5 * jnp.sum(_rows(jnp.exp(logvar - prior_logvar) + (mu - prior_mu) ** 2 * jnp.exp(-prior_logvar)
                             - 1 - logvar + prior_logvar), axis=1)
    return jnp.mean(_bce(x_recon, x) + kl)


def per_example(x_recon, x, mu, logvar):
    """One loss per example (declared batch='none')."""
    return _bce(x_recon, x) + _kl(mu, logvar)
