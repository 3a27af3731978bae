"""Correct VAE losses written once for every framework: each computes exactly the claim it declares.

Per element (lv = logvar): KL = 1/2 (mu^2 + exp(lv) - 1 - lv); Bernoulli NLL on probabilities
-(x log p + (1 - x) log(1 - p)), on logits softplus(l) - x l. Per-example sums, then the
declared batch reduction. ``o`` is the framework's :class:`~vae_spec.selftest.ops.Ops`, whose
BCE is the framework's own where it has one (torch's F.binary_cross_entropy, TensorFlow's
sigmoid_cross_entropy_with_logits).
"""

from __future__ import annotations

import math

from .registry import CORE, FRAMEWORKS, correct
from .terms import bce, bce_logits, kl


@correct(frameworks=FRAMEWORKS)
def textbook(o, x_recon, x, mu, logvar):
    """Textbook KL and Bernoulli on probabilities, batch mean."""
    return o.mean(bce(o, x_recon, x) + kl(o, mu, logvar))


@correct(frameworks=FRAMEWORKS, likelihood="bernoulli-logits")
def stable_logits(o, x_recon, x, mu, logvar):
    """Bernoulli on logits, KL via expm1 (no 1 - 1 cancellation near the prior)."""
    divergence = 0.5 * o.sum(o.rows(mu * mu + o.expm1(logvar) - logvar), axis=1)
    return o.mean(bce_logits(o, x_recon, x) + divergence)


@correct(frameworks=CORE + ("jax",), dtypes=("float16",), latent_shape=(32,))
def float16_upcast(o, x_recon, x, mu, logvar):
    """Float16 inputs computed in float32, as a mixed-precision policy computes losses."""
    x_recon, x, mu, logvar = (o.to_float32(a) for a in (x_recon, x, mu, logvar))
    return o.mean(bce(o, x_recon, x) + kl(o, mu, logvar))


@correct(frameworks=FRAMEWORKS)
def logstd_posterior(o, x_recon, x, mu, logstd):
    """Log-std encoder, declared: KL = 1/2 sum(mu^2 + exp(2 ls) - 1 - 2 ls)."""
    divergence = 0.5 * o.sum(o.rows(mu * mu + o.exp(2 * logstd) - 1 - 2 * logstd), axis=1)
    return o.mean(bce(o, x_recon, x) + divergence)


@correct(frameworks=CORE)
def std_posterior(o, x_recon, x, mu, std):
    """Std encoder, declared: KL = 1/2 sum(mu^2 + s^2 - 1 - 2 log s)."""
    divergence = 0.5 * o.sum(o.rows(mu * mu + std * std - 1 - 2 * o.log(std)), axis=1)
    return o.mean(bce(o, x_recon, x) + divergence)


@correct(frameworks=CORE)
def var_posterior(o, x_recon, x, mu, var):
    """Variance encoder, declared: KL = 1/2 sum(mu^2 + v - 1 - log v)."""
    divergence = 0.5 * o.sum(o.rows(mu * mu + var - 1 - o.log(var)), axis=1)
    return o.mean(bce(o, x_recon, x) + divergence)


@correct(frameworks=FRAMEWORKS, convention={"batch": "sum"})
def batch_sum(o, x_recon, x, mu, logvar):
    """Everything summed, batch='sum' declared (PyTorch's classic example)."""
    reconstruction = o.sum(o.bce(x_recon, x))
    divergence = -0.5 * o.sum(1 + logvar - mu * mu - o.exp(logvar))
    return reconstruction + divergence


@correct(frameworks=FRAMEWORKS, convention={"beta": 4.0})
def beta_declared(o, x_recon, x, mu, logvar):
    """Beta = 4 on the KL, declared."""
    return o.mean(bce(o, x_recon, x) + 4.0 * kl(o, mu, logvar))


@correct(frameworks=CORE, likelihood="gaussian", convention={"constants": False})
def gaussian_constants_dropped(o, x_recon, x, mu, logvar):
    """Unit-variance Gaussian without its constants, declared: 1/2 sum (x - m)^2."""
    error = x - x_recon
    return o.mean(0.5 * o.sum(o.rows(error * error), axis=1) + kl(o, mu, logvar))


@correct(frameworks=CORE, likelihood="gaussian-learned")
def gaussian_learned(o, x_recon, x, mu, logvar, dec_logvar):
    """Gaussian with a learned decoder log-variance s: 1/2 [(x - m)^2 exp(-s) + s + log 2 pi]."""
    error = x - x_recon
    nll = 0.5 * (error * error * o.exp(-dec_logvar) + dec_logvar + math.log(2 * math.pi))
    return o.mean(o.sum(o.rows(nll), axis=1) + kl(o, mu, logvar))


@correct(frameworks=CORE + ("jax",))
def learned_prior(o, x_recon, x, mu, logvar, prior_mu, prior_logvar):
    """KL against a learned diagonal prior: 1/2 sum(exp(lv - lp) + (mu - mp)^2 exp(-lp) - 1 - lv + lp)."""
    offset = mu - prior_mu
    divergence = 0.5 * o.sum(o.rows(o.exp(logvar - prior_logvar) + offset * offset * o.exp(-prior_logvar)
                                    - 1 - logvar + prior_logvar), axis=1)
    return o.mean(bce(o, x_recon, x) + divergence)


@correct(frameworks=FRAMEWORKS, convention={"batch": "none"})
def per_example(o, x_recon, x, mu, logvar):
    """One loss per example, batch='none' (as Keras losses return)."""
    return bce(o, x_recon, x) + kl(o, mu, logvar)


@correct(frameworks=CORE, term="kl")
def kl_term(o, mu, logvar):
    """The KL term alone, averaged over the batch."""
    return o.mean(kl(o, mu, logvar))
