"""NumPy VAE losses re-expressed from public code (see corpus.py for each entry's claim)."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm


# HIPS/autograd examples/variational_autoencoder.py (autograd.numpy / autograd.scipy.stats.norm
# are numpy / scipy.stats.norm with gradients): the MC lower bound given the sampled latents,
# pixels as targets in {-1, 1}, and the training objective -vae_lower_bound / data_dim.
def diag_gaussian_log_density(x, mu, log_std):
    return np.sum(norm.logpdf(x, mu, np.exp(log_std)), axis=-1)


def bernoulli_log_density(targets, unnormalized_logprobs):
    # unnormalized_logprobs are in R
    # Targets must be -1 or 1
    label_probabilities = -np.logaddexp(0, -unnormalized_logprobs * targets)
    return np.sum(label_probabilities, axis=-1)  # Sum across pixels.


def autograd_vae_lower_bound(data, logits, latents, q_means, q_log_stds):
    # the body of vae_lower_bound after the networks ran (they take the parameters)
    q_latents = diag_gaussian_log_density(latents, q_means, q_log_stds)
    p_latents = diag_gaussian_log_density(latents, 0, 0)
    likelihood = bernoulli_log_density(data, logits)
    return np.mean(p_latents + likelihood - q_latents)


def autograd_vae_objective(data, logits, latents, q_means, q_log_stds, data_dim=784):
    return -autograd_vae_lower_bound(data, logits, latents, q_means, q_log_stds) / data_dim


# Thin wrapper (unavoidable): the example binarises images to -1/+1 (binarise()); the
# canonical x is 0/1.
def autograd_vae_objective_01(x, logits, latents, q_means, q_log_stds):
    return autograd_vae_objective(2.0 * x - 1.0, logits, latents, q_means, q_log_stds)


# AkiRusProd/numpy-nn-model nnmodel/modules/vae.py (VAE.fit) and nnmodel/loss_functions.py
# (MSE): the loss the fit loop reports, decoder loss .mean() plus the KL summed over batch
# and latent and divided by batch_size * latent_dim_size.
class MSE():

    def loss(self, y, t):
        return np.power(t - y, 2)


def numpy_nn_model_vae_loss(decoder_outputs, target_batch, mean, log_var):
    batch_size = len(target_batch)  # fit() pads every batch to batch_size
    latent_dim_size = mean.shape[-1]
    decoder_loss = MSE().loss(decoder_outputs, target_batch).mean()
    kl_loss = (
        -0.5
        * np.sum(1 + log_var - np.power(mean, 2) - np.exp(log_var))
        / (batch_size * latent_dim_size)
    )
    return decoder_loss + kl_loss


# AliMehdi512/ilovetools ilovetools/ml/vae.py: reconstruction_loss (BCE with eps=1e-8, np.mean
# over everything), kl_divergence (sum over latents, mean over batch), elbo_loss.
def _ilovetools_reconstruction_loss(x, x_recon):
    eps = 1e-8
    bce = -(x * np.log(x_recon + eps) + (1 - x) * np.log(1 - x_recon + eps))
    return np.mean(bce)


def _ilovetools_kl_divergence(mu, logvar):
    kl = -0.5 * np.sum(1 + logvar - mu**2 - np.exp(logvar), axis=1)
    return np.mean(kl)


def ilovetools_elbo_loss(x, x_recon, mu, logvar, beta=1.0):
    recon = _ilovetools_reconstruction_loss(x, x_recon)
    kl = _ilovetools_kl_divergence(mu, logvar)
    return recon + beta * kl
