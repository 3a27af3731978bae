"""Correct VAE losses in TensorFlow: each computes exactly the claim it is declared with.

Per element (lv = logvar): KL = 1/2 (mu^2 + exp(lv) - 1 - lv); Bernoulli NLL on probabilities
-(x log p + (1 - x) log(1 - p)), on logits softplus(l) - x l. Per-example sums, then the
declared batch reduction (see :mod:`vae_spec.selftest.corpus` for each claim).
"""

import math

import tensorflow as tf


def _rows(t):
    """(B, ...) -> (B, n): one row per example."""
    return tf.reshape(t, (tf.shape(t)[0], -1))


def _bce(x_recon, x):
    return -tf.reduce_sum(_rows(x * tf.math.log(x_recon) + (1 - x) * tf.math.log1p(-x_recon)), axis=1)


def _kl(mu, logvar):
    return -0.5 * tf.reduce_sum(_rows(1 + logvar - tf.square(mu) - tf.exp(logvar)), axis=1)


def textbook(x_recon, x, mu, logvar):
    """Bernoulli on probabilities plus the textbook KL -1/2 sum(1 + lv - mu^2 - exp(lv)), batch mean."""
    return tf.reduce_mean(_bce(x_recon, x) + _kl(mu, logvar))


def stable_logits(x_recon, x, mu, logvar):
    """sigmoid_cross_entropy_with_logits, and the KL via expm1 (no 1 - 1 cancellation near the prior)."""
    nll = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=x_recon)
    kl = 0.5 * tf.reduce_sum(_rows(tf.square(mu) + tf.math.expm1(logvar) - logvar), axis=1)
    return tf.reduce_mean(tf.reduce_sum(_rows(nll), axis=1) + kl)


def float16_upcast(x_recon, x, mu, logvar):
    """float16 inputs computed in float32 (as a mixed-precision policy does for losses)."""
    x_recon, x, mu, logvar = (tf.cast(t, tf.float32) for t in (x_recon, x, mu, logvar))
    return tf.reduce_mean(_bce(x_recon, x) + _kl(mu, logvar))


def logstd_posterior(x_recon, x, mu, logstd):
    """The encoder gives log sigma: KL = 1/2 sum(mu^2 + exp(2 ls) - 1 - 2 ls)."""
    kl = 0.5 * tf.reduce_sum(_rows(tf.square(mu) + tf.exp(2 * logstd) - 1 - 2 * logstd), axis=1)
    return tf.reduce_mean(_bce(x_recon, x) + kl)


def std_posterior(x_recon, x, mu, std):
    """The encoder gives sigma: KL = 1/2 sum(mu^2 + s^2 - 1 - 2 log s)."""
    kl = 0.5 * tf.reduce_sum(_rows(tf.square(mu) + tf.square(std) - 1 - 2 * tf.math.log(std)), axis=1)
    return tf.reduce_mean(_bce(x_recon, x) + kl)


def var_posterior(x_recon, x, mu, var):
    """The encoder gives sigma^2: KL = 1/2 sum(mu^2 + v - 1 - log v)."""
    kl = 0.5 * tf.reduce_sum(_rows(tf.square(mu) + var - 1 - tf.math.log(var)), axis=1)
    return tf.reduce_mean(_bce(x_recon, x) + kl)


def batch_sum(x_recon, x, mu, logvar):
    """Everything summed, the batch included (declared batch='sum')."""
    bce = -tf.reduce_sum(x * tf.math.log(x_recon) + (1 - x) * tf.math.log1p(-x_recon))
    kl = -0.5 * tf.reduce_sum(1 + logvar - tf.square(mu) - tf.exp(logvar))
    return bce + kl


def beta_declared(x_recon, x, mu, logvar):
    """beta = 4 on the KL, declared as Convention(beta=4)."""
    return tf.reduce_mean(_bce(x_recon, x) + 4.0 * _kl(mu, logvar))


def gaussian_constants_dropped(x_recon, x, mu, logvar):
    """Unit-variance Gaussian NLL without 1/2 log(2 pi): 1/2 sum (x - m)^2 (declared constants=False)."""
    reconstruction = 0.5 * tf.reduce_sum(_rows(tf.square(x - x_recon)), axis=1)
    return tf.reduce_mean(reconstruction + _kl(mu, logvar))


def gaussian_learned(x_recon, x, mu, logvar, dec_logvar):
    """Gaussian NLL with a learned log-variance: 1/2 [(x - m)^2 exp(-s) + s + log 2 pi]."""
    nll = 0.5 * (tf.square(x - x_recon) * tf.exp(-dec_logvar) + dec_logvar + math.log(2 * math.pi))
    return tf.reduce_mean(tf.reduce_sum(_rows(nll), axis=1) + _kl(mu, logvar))


def learned_prior(x_recon, x, mu, logvar, prior_mu, prior_logvar):
    """KL against a learned diagonal prior: 1/2 sum(exp(lv - lp) + (mu - mp)^2 exp(-lp) - 1 - lv + lp)."""
    kl = 0.5 * tf.reduce_sum(_rows(tf.exp(logvar - prior_logvar) + tf.square(mu - prior_mu) * tf.exp(-prior_logvar)
                                   - 1 - logvar + prior_logvar), axis=1)
    return tf.reduce_mean(_bce(x_recon, x) + kl)


def per_example(x_recon, x, mu, logvar):
    """One loss per example (declared batch='none'), as Keras losses return."""
    return _bce(x_recon, x) + _kl(mu, logvar)


def kl_term(mu, logvar):
    """The KL term alone, averaged over the batch."""
    return tf.reduce_mean(_kl(mu, logvar))
