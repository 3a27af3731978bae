"""Correct VAE losses in PyTorch: each computes exactly the claim it is declared with.

Per element (lv = logvar): KL = 1/2 (mu^2 + exp(lv) - 1 - lv); Bernoulli NLL on probabilities
-(x log p + (1 - x) log(1 - p)), on logits softplus(l) - x l. Per-example sums, then the
declared batch reduction (see :mod:`vae_spec.selftest.corpus` for each claim).
"""

import math

import torch
import torch.nn.functional as F


def _rows(t):
    """(B, ...) -> (B, n): one row per example."""
    return t.reshape(t.shape[0], -1)


def _bce(x_recon, x):
    return F.binary_cross_entropy(_rows(x_recon), _rows(x), reduction="none").sum(dim=1)


def _kl(mu, logvar):
    return -0.5 * torch.sum(_rows(1 + logvar - mu.pow(2) - logvar.exp()), dim=1)


def textbook(x_recon, x, mu, logvar):
    """binary_cross_entropy plus the textbook KL -1/2 sum(1 + lv - mu^2 - exp(lv)), batch mean."""
    return torch.mean(_bce(x_recon, x) + _kl(mu, logvar))


def stable_logits(x_recon, x, mu, logvar):
    """binary_cross_entropy_with_logits, and the KL via expm1 (no 1 - 1 cancellation near the prior)."""
    reconstruction = F.binary_cross_entropy_with_logits(_rows(x_recon), _rows(x), reduction="none").sum(dim=1)
    kl = 0.5 * torch.sum(_rows(mu.pow(2) + torch.expm1(logvar) - logvar), dim=1)
    return torch.mean(reconstruction + kl)


def float16_upcast(x_recon, x, mu, logvar):
    """float16 inputs computed in float32 (as under autocast): no product of variances to overflow."""
    x_recon, x, mu, logvar = (t.float() for t in (x_recon, x, mu, logvar))
    return torch.mean(_bce(x_recon, x) + _kl(mu, logvar))


def logstd_posterior(x_recon, x, mu, logstd):
    """The encoder gives log sigma: KL = 1/2 sum(mu^2 + exp(2 ls) - 1 - 2 ls)."""
    kl = 0.5 * torch.sum(_rows(mu.pow(2) + torch.exp(2 * logstd) - 1 - 2 * logstd), dim=1)
    return torch.mean(_bce(x_recon, x) + kl)


def std_posterior(x_recon, x, mu, std):
    """The encoder gives sigma: KL = 1/2 sum(mu^2 + s^2 - 1 - 2 log s)."""
    kl = 0.5 * torch.sum(_rows(mu.pow(2) + std.pow(2) - 1 - 2 * std.log()), dim=1)
    return torch.mean(_bce(x_recon, x) + kl)


def var_posterior(x_recon, x, mu, var):
    """The encoder gives sigma^2: KL = 1/2 sum(mu^2 + v - 1 - log v)."""
    kl = 0.5 * torch.sum(_rows(mu.pow(2) + var - 1 - var.log()), dim=1)
    return torch.mean(_bce(x_recon, x) + kl)


def batch_sum(x_recon, x, mu, logvar):
    """PyTorch's classic example: BCE and KL summed over everything (declared batch='sum')."""
    bce = F.binary_cross_entropy(x_recon, x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def beta_declared(x_recon, x, mu, logvar):
    """beta = 4 on the KL, declared as Convention(beta=4)."""
    return torch.mean(_bce(x_recon, x) + 4.0 * _kl(mu, logvar))


def gaussian_constants_dropped(x_recon, x, mu, logvar):
    """mse_loss(reduction='none') / 2 summed per example: unit variance, constants dropped (declared)."""
    reconstruction = 0.5 * F.mse_loss(_rows(x_recon), _rows(x), reduction="none").sum(dim=1)
    return torch.mean(reconstruction + _kl(mu, logvar))


def gaussian_learned(x_recon, x, mu, logvar, dec_logvar):
    """Gaussian NLL with a learned log-variance: 1/2 [(x - m)^2 exp(-s) + s + log 2 pi]."""
    nll = 0.5 * ((x - x_recon).pow(2) * torch.exp(-dec_logvar) + dec_logvar + math.log(2 * math.pi))
    return torch.mean(_rows(nll).sum(dim=1) + _kl(mu, logvar))


def learned_prior(x_recon, x, mu, logvar, prior_mu, prior_logvar):
    """KL against a learned diagonal prior: 1/2 sum(exp(lv - lp) + (mu - mp)^2 exp(-lp) - 1 - lv + lp)."""
    kl = 0.5 * torch.sum(_rows(torch.exp(logvar - prior_logvar) + (mu - prior_mu).pow(2) * torch.exp(-prior_logvar)
                               - 1 - logvar + prior_logvar), dim=1)
    return torch.mean(_bce(x_recon, x) + kl)


def per_example(x_recon, x, mu, logvar):
    """One loss per example (declared batch='none')."""
    return _bce(x_recon, x) + _kl(mu, logvar)


def kl_term(mu, logvar):
    """The KL term alone, averaged over the batch."""
    return torch.mean(_kl(mu, logvar))
