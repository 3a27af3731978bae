"""Buggy VAE losses that need numpy's own API: an ``out=`` argument writing into an input."""

from __future__ import annotations

import numpy as np

from .registry import mutant
from .terms import bce


@mutant("16", codes=("input-mutated",), frameworks=("numpy",))
def logvar_modified_in_place(o, x_recon, x, mu, logvar):
    """Exp computed in place into logvar: np.exp(logvar, out=logvar) leaves the variance there."""
    var = np.exp(logvar, out=logvar)
    divergence = 0.5 * o.sum(o.rows(mu * mu + var - 1 - o.log(var)), axis=1)
    return o.mean(bce(o, x_recon, x) + divergence)
