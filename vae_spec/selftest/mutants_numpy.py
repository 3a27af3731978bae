"""Buggy VAE losses in numpy: each departs from the claim it is declared with in one known way.

The claims (term, likelihood, convention) and the finding codes each must produce are in
:mod:`vae_spec.selftest.corpus`. Inputs carry the batch first; the helpers below are the
correct parts a mutant leaves alone. numpy has no autodiff, so class 14 (a detached input)
has no numpy mutant.
"""

import math

import numpy as np


def _rows(a):
    """(B, ...) -> (B, n): one row per example."""
    return a.reshape(a.shape[0], -1)


def _bce(x_recon, x):
    """Per-example Bernoulli NLL on probabilities: -sum_k [x log p + (1 - x) log(1 - p)]."""
    return -np.sum(_rows(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)), axis=1)


def _bce_logits(logits, x):
    """Per-example Bernoulli NLL on logits: sum_k [softplus(l) - x l]."""
    return np.sum(_rows(np.logaddexp(0, logits) - x * logits), axis=1)


def _kl(mu, logvar):
    """Per-example KL(N(mu, exp(logvar)) || N(0, I)) = 1/2 sum_j [mu^2 + exp(lv) - 1 - lv]."""
    return 0.5 * np.sum(_rows(mu**2 + np.exp(logvar) - 1 - logvar), axis=1)


def _sigmoid(logits):
    return 1 / (1 + np.exp(-logits))


# -- 1-4: reductions and weights ------------------------------------------------------------------
def kl_latent_mean(x_recon, x, mu, logvar):
    """1: the KL averaged over every element (batch and latent) instead of summed over latent."""
    kl = -0.5 * np.mean(1 + logvar - mu**2 - np.exp(logvar))
    return np.mean(_bce(x_recon, x)) + kl


def kl_scaled_0_01(x_recon, x, mu, logvar):
    """2: the KL multiplied by a hidden 0.01."""
    return np.mean(_bce(x_recon, x) + 0.01 * _kl(mu, logvar))


def kl_scaled_0_1(x_recon, x, mu, logvar):
    """2: the KL multiplied by a hidden 0.1."""
    return np.mean(_bce(x_recon, x) + 0.1 * _kl(mu, logvar))


def kl_scaled_1e_4(x_recon, x, mu, logvar):
    """2: the KL multiplied by a hidden 1e-4."""
    return np.mean(_bce(x_recon, x) + 1e-4 * _kl(mu, logvar))


def kl_batch_sum(x_recon, x, mu, logvar):
    """3: the KL summed over the batch while the reconstruction is averaged over it."""
    kl = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar))
    return np.mean(_bce(x_recon, x)) + kl


def recon_data_mean(x_recon, x, mu, logvar):
    """4: the reconstruction averaged over data elements while the KL is summed over latent."""
    reconstruction = -np.mean(_rows(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)), axis=1)
    return np.mean(reconstruction + _kl(mu, logvar))


# -- 5-8: the KL's formula (declared as the KL term alone) -----------------------------------------
def logvar_read_as_logstd(mu, logvar):
    """5: sigma^2 = exp(2 logvar): the log-variance used as a log-std."""
    return np.mean(0.5 * np.sum(_rows(mu**2 + np.exp(2 * logvar) - 1 - 2 * logvar), axis=1))


def logstd_read_as_logvar(mu, logstd):
    """5: sigma^2 = exp(logstd): the log-std used as a log-variance."""
    return np.mean(0.5 * np.sum(_rows(mu**2 + np.exp(logstd) - 1 - logstd), axis=1))


def std_read_as_var(mu, std):
    """6: the std used where the variance belongs."""
    return np.mean(0.5 * np.sum(_rows(mu**2 + std - 1 - np.log(std)), axis=1))


def var_read_as_std(mu, var):
    """6: the variance used where the std belongs (squared again)."""
    return np.mean(0.5 * np.sum(_rows(mu**2 + var**2 - 1 - 2 * np.log(var)), axis=1))


def kl_missing_half(mu, logvar):
    """7: the KL without its factor 1/2."""
    return np.mean(np.sum(_rows(mu**2 + np.exp(logvar) - 1 - logvar), axis=1))


def kl_extra_half(mu, logvar):
    """7: the KL halved twice."""
    return np.mean(0.5 * 0.5 * np.sum(_rows(mu**2 + np.exp(logvar) - 1 - logvar), axis=1))


def kl_sign_flipped(x_recon, x, mu, logvar):
    """8: the KL subtracted from the reconstruction loss."""
    return np.mean(_bce(x_recon, x) - _kl(mu, logvar))


def kl_negated_twice(x_recon, x, mu, logvar):
    """8: the textbook -1/2 sum(1 + lv - mu^2 - exp(lv)) is already the KL; negating it again flips it."""
    kl = -0.5 * np.sum(_rows(1 + logvar - mu**2 - np.exp(logvar)), axis=1)
    kl = -kl
    return np.mean(_bce(x_recon, x) + kl)


# -- 9-10: the likelihood -------------------------------------------------------------------------
def double_sigmoid(x_recon, x, mu, logvar):
    """9: logits squashed by a sigmoid, then given to the logits form (a double sigmoid)."""
    probs = _sigmoid(x_recon)
    return np.mean(_bce_logits(probs, x) + _kl(mu, logvar))


def logits_form_on_probs(x_recon, x, mu, logvar):
    """9: probabilities given to the logits form."""
    return np.mean(_bce_logits(x_recon, x) + _kl(mu, logvar))


def gaussian_divides_by_sigma(x_recon, x, mu, logvar, dec_logvar):
    """10: the Gaussian NLL divides the squared error by sigma instead of sigma^2."""
    sigma = np.exp(0.5 * dec_logvar)
    nll = (x - x_recon) ** 2 / (2 * sigma) + 0.5 * dec_logvar + 0.5 * math.log(2 * math.pi)
    return np.mean(np.sum(_rows(nll), axis=1) + _kl(mu, logvar))


def gaussian_learned_no_log_term(x_recon, x, mu, logvar, dec_logvar):
    """10: a learned decoder variance without its 1/2 log sigma^2 term."""
    nll = 0.5 * (x - x_recon) ** 2 * np.exp(-dec_logvar) + 0.5 * math.log(2 * math.pi)
    return np.mean(np.sum(_rows(nll), axis=1) + _kl(mu, logvar))


# -- 11-13: axes, broadcasting, hard-coded sizes -----------------------------------------------------
def kl_sum_over_batch_axis(x_recon, x, mu, logvar):
    """11: the KL summed over axis 0 (the batch) instead of the latent axis."""
    kl = 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=0)
    return np.mean(_bce(x_recon, x)) + np.mean(kl)


def broadcast_b1_against_b(x_recon, x, mu, logvar):
    """12: a (B, 1) reconstruction added to a (B,) KL broadcasts to (B, B) before the sum."""
    reconstruction = -np.sum(_rows(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)), axis=1, keepdims=True)
    return np.sum(reconstruction + _kl(mu, logvar))


def hardcoded_batch_size(x_recon, x, mu, logvar):
    """13: the batch sum divided by a hard-coded batch size of 128."""
    return np.sum(_bce(x_recon, x) + _kl(mu, logvar)) / 128


def hardcoded_data_size(x_recon, x, mu, logvar):
    """13: the element-mean reconstruction times a hard-coded data size of 784 (MNIST's)."""
    reconstruction = -np.mean(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)) * 784
    return reconstruction + np.mean(_kl(mu, logvar))


# -- 15: float16 ----------------------------------------------------------------------------------
def float16_logdet_overflow(x_recon, x, mu, logvar):
    """15: log det = log(prod exp(lv)): the product overflows float16 once sum(lv) > 11.1."""
    var = np.exp(logvar)
    logdet = np.log(np.prod(_rows(var), axis=1))
    kl = 0.5 * (np.sum(_rows(mu**2 + var), axis=1) - _rows(mu).shape[1] - logdet)
    return np.mean(_bce(x_recon, x) + kl)


def float16_logstd_underflow(x_recon, x, mu, logvar):
    """15: sum log sigma = log(prod exp(lv / 2)): the product underflows float16 once sum(lv) < -19."""
    std = np.exp(0.5 * logvar)
    sum_log_std = np.log(np.prod(_rows(std), axis=1))
    kl = 0.5 * np.sum(_rows(mu**2 + std**2 - 1), axis=1) - sum_log_std
    return np.mean(_bce(x_recon, x) + kl)


# -- 16-20 ----------------------------------------------------------------------------------------
def logvar_modified_in_place(x_recon, x, mu, logvar):
    """16: exp computed into logvar's own buffer: the caller's logvar now holds the variance."""
    var = np.exp(logvar, out=logvar)
    kl = 0.5 * np.sum(_rows(mu**2 + var - 1 - np.log(var)), axis=1)
    return np.mean(_bce(x_recon, x) + kl)


def fixed_prior(x_recon, x, mu, logvar, prior_mu, prior_logvar):
    """17: the KL against N(0, I) although a learned prior is passed in."""
    return np.mean(_bce(x_recon, x) + _kl(mu, logvar))


def beta_on_reconstruction(x_recon, x, mu, logvar):
    """18: beta = 4 multiplies the reconstruction instead of the KL."""
    return np.mean(4.0 * _bce(x_recon, x) + _kl(mu, logvar))


def clamped_probs_for_logits(x_recon, x, mu, logvar):
    """19: sigmoid probabilities clamped to [1e-7, 1 - 1e-7] where the exact logits form is claimed."""
    probs = np.clip(_sigmoid(x_recon), 1e-7, 1 - 1e-7)
    return np.mean(_bce(probs, x) + _kl(mu, logvar))


def per_example_for_scalar(x_recon, x, mu, logvar):
    """20: the per-example losses returned where the batch mean is declared."""
    return _bce(x_recon, x) + _kl(mu, logvar)


def scalar_for_per_example(x_recon, x, mu, logvar):
    """20: the batch mean returned where per-example losses are declared."""
    return np.mean(_bce(x_recon, x) + _kl(mu, logvar))


# -- more ways VAE losses go wrong ----------------------------------------------------------------
def kl_mu_not_squared(mu, logvar):
    """mu where mu^2 belongs in the KL."""
    return np.mean(0.5 * np.sum(_rows(mu + np.exp(logvar) - 1 - logvar), axis=1))


def kl_log_std_for_log_var(mu, logvar):
    """log sigma where log sigma^2 belongs in the KL."""
    log_std = 0.5 * logvar
    return np.mean(0.5 * np.sum(_rows(mu**2 + np.exp(logvar) - 1 - log_std), axis=1))


def kl_plus_one(mu, logvar):
    """+1 where -1 belongs in the KL."""
    return np.mean(0.5 * np.sum(_rows(mu**2 + np.exp(logvar) + 1 - logvar), axis=1))


def logvar_squared_for_variance(mu, logvar):
    """logvar**2 where exp(logvar) belongs in the KL."""
    return np.mean(0.5 * np.sum(_rows(mu**2 + logvar**2 - 1 - logvar), axis=1))


def reversed_kl(mu, logvar):
    """KL(p || q) instead of KL(q || p): the arguments of the divergence swapped."""
    inverse_var = np.exp(-logvar)
    return np.mean(0.5 * np.sum(_rows(inverse_var + mu**2 * inverse_var - 1 + logvar), axis=1))


def conv_latent_wrong_axis(x_recon, x, mu, logvar):
    """A (C, H, W) latent whose KL is summed over channels only, then averaged over H and W."""
    kl = 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1)
    return np.mean(_bce(x_recon, x)) + np.mean(kl)


def bce_on_logits(x_recon, x, mu, logvar):
    """The probability form of the BCE applied to logits, no sigmoid (log of a negative logit)."""
    return np.mean(_bce(x_recon, x) + _kl(mu, logvar))


def bce_mean_kl_sum(x_recon, x, mu, logvar):
    """BCE averaged over every element (reduction='mean') plus the KL summed over batch and latent."""
    reconstruction = -np.mean(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon))
    kl = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar))
    return reconstruction + kl


def bce_arguments_swapped(x_recon, x, mu, logvar):
    """The BCE's target and prediction swapped: -[p log x + (1 - p) log(1 - x)]."""
    return np.mean(_bce(x, x_recon) + _kl(mu, logvar))


def reconstruction_sign(x_recon, x, mu, logvar):
    """The log-likelihood added where its negative belongs."""
    log_likelihood = np.sum(_rows(x * np.log(x_recon) + (1 - x) * np.log1p(-x_recon)), axis=1)
    return np.mean(log_likelihood + _kl(mu, logvar))
