"""Buggy VAE losses in PyTorch: each departs from the claim it is declared with in one known way.

The claims and the finding codes each must produce are in :mod:`vae_spec.selftest.corpus`.
Inputs carry the batch first; the helpers below are the correct parts a mutant leaves alone.
"""

import math

import torch
import torch.nn.functional as F


def _rows(t):
    """(B, ...) -> (B, n): one row per example."""
    return t.reshape(t.shape[0], -1)


def _bce(x_recon, x):
    """Per-example Bernoulli NLL on probabilities, summed over data."""
    return F.binary_cross_entropy(_rows(x_recon), _rows(x), reduction="none").sum(dim=1)


def _bce_logits(logits, x):
    """Per-example Bernoulli NLL on logits, summed over data."""
    return F.binary_cross_entropy_with_logits(_rows(logits), _rows(x), reduction="none").sum(dim=1)


def _kl(mu, logvar):
    """Per-example KL(N(mu, exp(logvar)) || N(0, I)) = -1/2 sum_j [1 + lv - mu^2 - exp(lv)]."""
    return -0.5 * torch.sum(_rows(1 + logvar - mu.pow(2) - logvar.exp()), dim=1)


# -- 1-4: reductions and weights ------------------------------------------------------------------
def kl_latent_mean(x_recon, x, mu, logvar):
    """1: the KL averaged over every element (batch and latent) instead of summed over latent."""
    kl = -0.5 * torch.mean(1 + logvar - mu.pow(2) - logvar.exp())
    return _bce(x_recon, x).mean() + kl


def kl_scaled_0_01(x_recon, x, mu, logvar):
    """2: the KL multiplied by a hidden 0.01."""
    return torch.mean(_bce(x_recon, x) + 0.01 * _kl(mu, logvar))


def kl_scaled_0_1(x_recon, x, mu, logvar):
    """2: the KL multiplied by a hidden 0.1."""
    return torch.mean(_bce(x_recon, x) + 0.1 * _kl(mu, logvar))


def kl_scaled_1e_4(x_recon, x, mu, logvar):
    """2: the KL multiplied by a hidden 1e-4."""
    return torch.mean(_bce(x_recon, x) + 1e-4 * _kl(mu, logvar))


def kl_batch_sum(x_recon, x, mu, logvar):
    """3: the KL summed over the batch while the reconstruction is averaged over it."""
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return _bce(x_recon, x).mean() + kl


def recon_data_mean(x_recon, x, mu, logvar):
    """4: the reconstruction averaged over data elements while the KL is summed over latent."""
    reconstruction = F.binary_cross_entropy(_rows(x_recon), _rows(x), reduction="none").mean(dim=1)
    return torch.mean(reconstruction + _kl(mu, logvar))


# -- 5-8: the KL's formula (declared as the KL term alone) -----------------------------------------
def logvar_read_as_logstd(mu, logvar):
    """5: sigma^2 = exp(2 logvar): the log-variance used as a log-std."""
    return torch.mean(0.5 * torch.sum(_rows(mu.pow(2) + torch.exp(2 * logvar) - 1 - 2 * logvar), dim=1))


def logstd_read_as_logvar(mu, logstd):
    """5: sigma^2 = exp(logstd): the log-std used as a log-variance."""
    return torch.mean(0.5 * torch.sum(_rows(mu.pow(2) + logstd.exp() - 1 - logstd), dim=1))


def std_read_as_var(mu, std):
    """6: the std used where the variance belongs."""
    return torch.mean(0.5 * torch.sum(_rows(mu.pow(2) + std - 1 - std.log()), dim=1))


def var_read_as_std(mu, var):
    """6: the variance used where the std belongs (squared again)."""
    return torch.mean(0.5 * torch.sum(_rows(mu.pow(2) + var.pow(2) - 1 - 2 * var.log()), dim=1))


def kl_missing_half(mu, logvar):
    """7: the KL without its factor 1/2."""
    return torch.mean(-torch.sum(_rows(1 + logvar - mu.pow(2) - logvar.exp()), dim=1))


def kl_extra_half(mu, logvar):
    """7: the KL halved twice."""
    return torch.mean(-0.25 * torch.sum(_rows(1 + logvar - mu.pow(2) - logvar.exp()), dim=1))


def kl_sign_flipped(x_recon, x, mu, logvar):
    """8: the KL subtracted from the reconstruction loss."""
    return torch.mean(_bce(x_recon, x) - _kl(mu, logvar))


def kl_negated_twice(x_recon, x, mu, logvar):
    """8: the textbook -1/2 sum(1 + lv - mu^2 - exp(lv)) is already the KL; negating it again flips it."""
    kl = -0.5 * torch.sum(_rows(1 + logvar - mu.pow(2) - logvar.exp()), dim=1)
    kl = -kl
    return torch.mean(_bce(x_recon, x) + kl)


# -- 9-10: the likelihood -------------------------------------------------------------------------
def double_sigmoid(x_recon, x, mu, logvar):
    """9: logits squashed by a sigmoid, then given to BCE-with-logits (a double sigmoid)."""
    return torch.mean(_bce_logits(torch.sigmoid(x_recon), x) + _kl(mu, logvar))


def logits_form_on_probs(x_recon, x, mu, logvar):
    """9: probabilities given to BCE-with-logits."""
    return torch.mean(_bce_logits(x_recon, x) + _kl(mu, logvar))


def gaussian_divides_by_sigma(x_recon, x, mu, logvar, dec_logvar):
    """10: the Gaussian NLL divides the squared error by sigma instead of sigma^2."""
    sigma = torch.exp(0.5 * dec_logvar)
    nll = (x - x_recon).pow(2) / (2 * sigma) + 0.5 * dec_logvar + 0.5 * math.log(2 * math.pi)
    return torch.mean(_rows(nll).sum(dim=1) + _kl(mu, logvar))


def gaussian_learned_no_log_term(x_recon, x, mu, logvar, dec_logvar):
    """10: a learned decoder variance without its 1/2 log sigma^2 term."""
    nll = 0.5 * (x - x_recon).pow(2) * torch.exp(-dec_logvar) + 0.5 * math.log(2 * math.pi)
    return torch.mean(_rows(nll).sum(dim=1) + _kl(mu, logvar))


# -- 11-13: axes, broadcasting, hard-coded sizes -----------------------------------------------------
def kl_sum_over_batch_axis(x_recon, x, mu, logvar):
    """11: the KL summed over dim 0 (the batch) instead of the latent dim."""
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=0)
    return _bce(x_recon, x).mean() + kl.mean()


def broadcast_b1_against_b(x_recon, x, mu, logvar):
    """12: a (B, 1) reconstruction (keepdim=True) plus a (B,) KL broadcasts to (B, B) before the sum."""
    reconstruction = F.binary_cross_entropy(_rows(x_recon), _rows(x), reduction="none").sum(dim=1, keepdim=True)
    return torch.sum(reconstruction + _kl(mu, logvar))


def hardcoded_batch_size(x_recon, x, mu, logvar):
    """13: the batch sum divided by a hard-coded batch size of 128."""
    return torch.sum(_bce(x_recon, x) + _kl(mu, logvar)) / 128


def hardcoded_data_size(x_recon, x, mu, logvar):
    """13: BCE with reduction='mean' times a hard-coded data size of 784 (MNIST's)."""
    reconstruction = F.binary_cross_entropy(x_recon, x, reduction="mean") * 784
    return reconstruction + _kl(mu, logvar).mean()


# -- 14: gradients --------------------------------------------------------------------------------
def detached_logvar(x_recon, x, mu, logvar):
    """14: logvar detached inside the KL: the value is right, the encoder's variance gets no gradient."""
    return torch.mean(_bce(x_recon, x) + _kl(mu, logvar.detach()))


def detached_mu(x_recon, x, mu, logvar):
    """14: mu detached inside the KL: the value is right, the KL never pulls mu toward 0."""
    return torch.mean(_bce(x_recon, x) + _kl(mu.detach(), logvar))


def clamped_logvar(x_recon, x, mu, logvar):
    """14: logvar clamped to [-2.5, 2.5] "for stability": zero gradient outside, inside the typical range."""
    return torch.mean(_bce(x_recon, x) + _kl(mu, logvar.clamp(-2.5, 2.5)))


# -- 15: float16 ----------------------------------------------------------------------------------
def float16_logdet_overflow(x_recon, x, mu, logvar):
    """15: log det = log(prod exp(lv)): the product overflows float16 once sum(lv) > 11.1."""
    var = logvar.exp()
    logdet = torch.log(torch.prod(_rows(var), dim=1))
    kl = 0.5 * (torch.sum(_rows(mu.pow(2) + var), dim=1) - _rows(mu).shape[1] - logdet)
    return torch.mean(_bce(x_recon, x) + kl)


def float16_logstd_underflow(x_recon, x, mu, logvar):
    """15: sum log sigma = log(prod exp(lv / 2)): the product underflows float16 once sum(lv) < -19."""
    std = torch.exp(0.5 * logvar)
    sum_log_std = torch.log(torch.prod(_rows(std), dim=1))
    kl = 0.5 * torch.sum(_rows(mu.pow(2) + std.pow(2) - 1), dim=1) - sum_log_std
    return torch.mean(_bce(x_recon, x) + kl)


# -- 16-20 ----------------------------------------------------------------------------------------
def logvar_modified_in_place(x_recon, x, mu, logvar):
    """16: logvar.exp_(): the caller's logvar now holds the variance."""
    var = logvar.exp_()
    kl = 0.5 * torch.sum(_rows(mu.pow(2) + var - 1 - var.log()), dim=1)
    return torch.mean(_bce(x_recon, x) + kl)


def fixed_prior(x_recon, x, mu, logvar, prior_mu, prior_logvar):
    """17: the KL against N(0, I) although a learned prior is passed in."""
    return torch.mean(_bce(x_recon, x) + _kl(mu, logvar))


def beta_on_reconstruction(x_recon, x, mu, logvar):
    """18: beta = 4 multiplies the reconstruction instead of the KL."""
    return torch.mean(4.0 * _bce(x_recon, x) + _kl(mu, logvar))


def clamped_probs_for_logits(x_recon, x, mu, logvar):
    """19: sigmoid probabilities clamped to [1e-7, 1 - 1e-7] where the exact logits form is claimed."""
    probs = torch.sigmoid(x_recon).clamp(1e-7, 1 - 1e-7)
    return torch.mean(_bce(probs, x) + _kl(mu, logvar))


def per_example_for_scalar(x_recon, x, mu, logvar):
    """20: the per-example losses returned where the batch mean is declared."""
    return _bce(x_recon, x) + _kl(mu, logvar)


def scalar_for_per_example(x_recon, x, mu, logvar):
    """20: the batch mean returned where per-example losses are declared."""
    return torch.mean(_bce(x_recon, x) + _kl(mu, logvar))


# -- more ways VAE losses go wrong ----------------------------------------------------------------
def kl_mu_not_squared(mu, logvar):
    """mu where mu^2 belongs in the KL."""
    return torch.mean(0.5 * torch.sum(_rows(mu + logvar.exp() - 1 - logvar), dim=1))


def kl_log_std_for_log_var(mu, logvar):
    """log sigma where log sigma^2 belongs in the KL."""
    log_std = 0.5 * logvar
    return torch.mean(0.5 * torch.sum(_rows(mu.pow(2) + logvar.exp() - 1 - log_std), dim=1))


def kl_plus_one(mu, logvar):
    """+1 where -1 belongs in the KL."""
    return torch.mean(0.5 * torch.sum(_rows(mu.pow(2) + logvar.exp() + 1 - logvar), dim=1))


def logvar_squared_for_variance(mu, logvar):
    """logvar**2 where exp(logvar) belongs in the KL."""
    return torch.mean(0.5 * torch.sum(_rows(mu.pow(2) + logvar.pow(2) - 1 - logvar), dim=1))


def reversed_kl(mu, logvar):
    """KL(p || q) instead of KL(q || p), as torch.distributions.kl_divergence(prior, posterior) gives."""
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.mean(_rows(torch.distributions.kl_divergence(p, q)).sum(dim=1))


def conv_latent_wrong_axis(x_recon, x, mu, logvar):
    """A (C, H, W) latent whose KL is summed over channels only, then averaged over H and W."""
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)
    return _bce(x_recon, x).mean() + kl.mean()


def bce_on_logits(x_recon, x, mu, logvar):
    """binary_cross_entropy (probabilities) given logits, no sigmoid: it raises on logits outside [0, 1]."""
    return torch.mean(_bce(x_recon, x) + _kl(mu, logvar))


def bce_mean_kl_sum(x_recon, x, mu, logvar):
    """BCE with reduction='mean' plus a KL summed over batch and latent."""
    reconstruction = F.binary_cross_entropy(x_recon, x, reduction="mean")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return reconstruction + kl


def bce_arguments_swapped(x_recon, x, mu, logvar):
    """binary_cross_entropy(x, x_recon): prediction and target swapped."""
    return torch.mean(_bce(x, x_recon) + _kl(mu, logvar))


def reconstruction_sign(x_recon, x, mu, logvar):
    """The log-likelihood added where its negative belongs."""
    return torch.mean(-_bce(x_recon, x) + _kl(mu, logvar))
