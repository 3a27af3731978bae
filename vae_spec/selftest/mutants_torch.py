"""Buggy VAE losses that need PyTorch's own API: an in-place method, torch.distributions.

torch is imported when a loss runs, not when the corpus is read.
"""

from __future__ import annotations

from .registry import mutant
from .terms import bce


@mutant("16", codes=("input-mutated",), frameworks=("torch",))
def logvar_modified_in_place(o, x_recon, x, mu, logvar):
    """Exp computed in place into logvar: logvar.exp_() leaves the variance there."""
    var = logvar.exp_()
    divergence = 0.5 * o.sum(o.rows(mu * mu + var - 1 - o.log(var)), axis=1)
    return o.mean(bce(o, x_recon, x) + divergence)


@mutant("extra", codes=("kl-formula",), frameworks=("torch",), term="kl")
def reversed_kl(o, mu, logvar):
    """KL(p || q) instead of KL(q || p), as torch.distributions.kl_divergence(prior, posterior) gives."""
    import torch

    posterior = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    prior = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return o.mean(o.sum(o.rows(torch.distributions.kl_divergence(prior, posterior)), axis=1))
