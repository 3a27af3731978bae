"""Designed inputs for diagnosis: shapes that vary B, d and D one at a time, and isolating probes.

Every probe is float64 inputs by canonical name. The shape grid changes one size at a time
around a centre (B, d, D) = (2, 3, 4), so a sum and a mean over the same axis give different
feature columns; sizes the target fixes (``data_shape``, ``latent_shape``) stay fixed. Values
are drawn so that every candidate likelihood accepts them (decoder outputs in (0.05, 0.95) are
valid probabilities, logits and means; targets in [0, 1]). ``kl-zero`` probes set q(z|x) to the
prior, where every candidate KL form is exactly 0, isolating the reconstruction.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reference import zero_kl_inputs
from .strategies import input_shape
from .vocabulary import POSTERIOR

_CENTRE = (2, 3, 4)
_VARY_BATCH = (1, 3, 5)
_VARY_LATENT = (1, 5, 8)
_VARY_DATA = (2, 7, 11)


@dataclass(frozen=True)
class Probe:
    """One designed call: float64 inputs and whether q(z|x) equals the prior."""

    inputs: dict
    kl_zero: bool = False

    @property
    def batch_size(self) -> int:
        return next(iter(self.inputs.values())).shape[0]


def shape_grid(layout) -> list[tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """(B, latent shape, data shape) triples varying one inferred size at a time.

    An inferred rank varies one axis (:meth:`~vae_spec.engine.layout.Family.sized`), so the
    element count d or D moves in proportion; a declared shape stays fixed.
    """
    batch, d, size = _CENTRE
    latent, data = layout.latent.sized(d), layout.data.sized(size)
    grid = [(batch, latent, data)]
    grid += [(b, latent, data) for b in _VARY_BATCH]
    if layout.latent.varies:
        grid += [(batch, layout.latent.sized(v), data) for v in _VARY_LATENT]
    if layout.data.varies:
        grid += [(batch, latent, layout.data.sized(v)) for v in _VARY_DATA]
    return grid


def probe_values(name, shape, rng):
    """Values every candidate likelihood and parameterization accepts, for input ``name``."""
    if name in ("mu", "prior_mu"):
        return rng.uniform(-1.5, 1.5, shape)
    if name == "prior_logvar":
        return rng.uniform(-1.5, 1.5, shape)
    if name in POSTERIOR:  # log-variances in [-1.5, 1.5], in the input's parameterization
        return rng.uniform(*POSTERIOR[name].range_from_logvar(-1.5, 1.5), shape)
    if name == "x":
        soft = rng.uniform(0.0, 1.0, shape)
        return np.where(rng.uniform(size=shape) < 0.5, np.round(soft), soft)
    if name == "x_recon":
        return rng.uniform(0.05, 0.95, shape)
    if name in ("dec_logvar", "dec_logscale"):
        return rng.uniform(-1.0, 1.0, shape)
    if name in ("z", "eps"):
        return rng.normal(size=shape)
    raise ValueError(f"no probe values for input {name!r}")


def design(target, layout, seed: int = 0, repeats: int = 2) -> list[Probe]:
    """The probes for ``target`` at ``layout``: ``repeats`` random draws per grid shape, then kl-zero ones."""
    rng = np.random.default_rng(seed)
    probes = []
    grid = shape_grid(layout)
    for batch, latent, data in grid:
        for _ in range(repeats):
            inputs = {
                name: probe_values(name, input_shape(name, batch, latent, data), rng)
                for name in target.array_args
            }
            probes.append(Probe(inputs))
    if "mu" in target.canonical_args:
        for probe in probes[: max(4, len(grid) // 2)]:
            probes.append(Probe(zero_kl_inputs(target, probe.inputs), kl_zero=True))
    return probes
