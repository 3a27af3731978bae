"""What a claim's words mean: the terms a target computes and the posterior parameterizations.

Every module asks these records instead of testing strings: ``TERM["elbo"].sign`` rather than
``term == "elbo"``, ``POSTERIOR["logstd"].from_logvar(lv)`` rather than a branch per name.

A term's closed form is ``sign * scale * (reduce(NLL) + beta * reduce(KL))`` with the parts it
has: a reconstruction (the decoder's negative log-likelihood), a KL in closed form
(``"analytic"``) or from a sample z (``"sampled"``, log q(z|x) - log p(z)), or both. The
IWAE bound, the sampler and the stochastic loss are judged by their own checks.

A posterior parameterization is the encoder's scale output s, one-to-one with the
log-variance lv = log sigma^2: lv = s (logvar), 2 s (logstd), 2 log s (std), log s (var).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .spec import scale_to_logvar


#: every input a loss may take, by its canonical name
CANONICAL_ARGS = (
    "x", "x_recon", "mu", "logvar", "logstd", "std", "var", "z", "eps",
    "prior_mu", "prior_logvar", "dec_logvar", "dec_logscale", "key",
)
#: inputs that are not float arrays: ``key`` is a random key (jax), made fresh for each call
NON_ARRAY_ARGS = ("key",)
#: inputs shaped like the data, (B, *data_shape); every other array input is shaped like the latent
DATA_ARGS = ("x", "x_recon", "dec_logvar", "dec_logscale")


@dataclass(frozen=True)
class Term:
    """A quantity a target may compute, and the inputs and parts it has."""

    name: str
    required: tuple[str, ...]  # canonical inputs; "scale" is the posterior's scale input
    reconstruction: bool = False  # the spec's form has a reconstruction
    kl: str | None = None  # "analytic", "sampled" or None: the spec's form's KL
    likelihood: bool = False  # takes a decoder likelihood
    posterior: bool = True  # takes q(z|x)'s parameters
    sign: float = 1.0  # -1: the ELBO itself, a bound to maximize
    deterministic: bool = True  # a function of its inputs alone (no sampling inside)
    diagnosable: bool = False  # diagnose can read which convention it follows
    samples: bool = False  # z and the decoder's inputs carry K importance samples after the batch

    @property
    def combined(self) -> bool:
        """Reconstruction and KL together: beta weighs the KL, each has its batch reduction."""
        return self.reconstruction and self.kl is not None

    @property
    def kl_alone(self) -> bool:
        return self.kl is not None and not self.reconstruction

    def inputs(self, posterior: str) -> tuple[str, ...]:
        """The canonical inputs this term needs under a posterior parameterization."""
        return tuple(posterior if name == "scale" else name for name in self.required)


_TERMS = (
    Term("kl", ("mu", "scale"), kl="analytic", diagnosable=True),
    Term("reconstruction", ("x", "x_recon"), reconstruction=True, likelihood=True, posterior=False,
         diagnosable=True),
    Term("loss", ("x", "x_recon", "mu", "scale"), reconstruction=True, kl="analytic", likelihood=True,
         diagnosable=True),
    Term("elbo", ("x", "x_recon", "mu", "scale"), reconstruction=True, kl="analytic", likelihood=True,
         sign=-1.0, diagnosable=True),
    Term("mc_kl", ("z", "mu", "scale"), kl="sampled"),
    Term("mc_loss", ("x", "x_recon", "z", "mu", "scale"), reconstruction=True, kl="sampled", likelihood=True),
    Term("iwae", ("x", "x_recon", "z", "mu", "scale"), likelihood=True, samples=True),
    Term("sampler", ("mu", "scale"), deterministic=False),
    # its expectation over the sample inside is the loss: the spec's form is the loss's
    Term("stochastic_loss", ("x", "x_recon", "mu", "scale"), reconstruction=True, kl="analytic",
         likelihood=True, deterministic=False),
)
#: every term by name, in the order the docs list them
TERM: dict[str, Term] = {term.name: term for term in _TERMS}
TERMS: tuple[str, ...] = tuple(TERM)
DETERMINISTIC_TERMS: tuple[str, ...] = tuple(t.name for t in _TERMS if t.deterministic)
DIAGNOSABLE_TERMS: tuple[str, ...] = tuple(t.name for t in _TERMS if t.diagnosable)


@dataclass(frozen=True)
class Posterior:
    """An encoder's scale output s and its map to the log-variance lv = log sigma^2."""

    name: str
    words: str  # what the input is, in words
    variance: str  # sigma^2 as a formula of the input, in words
    from_logvar: Callable[[np.ndarray], np.ndarray]  # s(lv)
    dlogvar_dscale: Callable[[np.ndarray], np.ndarray]  # d lv / d s

    def to_logvar(self, scale) -> np.ndarray:
        """lv(s) in float64, from the spec's correctly rounded conversion."""
        return scale_to_logvar(np.asarray(scale, dtype=np.float64), self.name)

    def variance_of(self, scale) -> np.ndarray:
        """sigma^2 = exp(lv(s)), in float64."""
        return np.exp(self.to_logvar(scale))

    def range_from_logvar(self, low: float, high: float) -> tuple[float, float]:
        """The interval of s whose log-variance lies in [low, high] (s(lv) is increasing)."""
        return float(self.from_logvar(low)), float(self.from_logvar(high))

    def dz_dscale(self, deviation, scale) -> np.ndarray:
        """d z / d s for z = mu + sigma eps: (z - mu) / 2 * d lv / d s."""
        return deviation / 2 * self.dlogvar_dscale(np.asarray(scale, dtype=np.float64))

    def kl_grad_magnitude(self, scale) -> np.ndarray:
        """A bound on the summands of d KL / d s = 1/2 (sigma^2 - 1) d lv / d s: 1/2 (sigma^2 + 1) |d lv / d s|."""
        scale = np.asarray(scale, dtype=np.float64)
        return 0.5 * (self.variance_of(scale) + 1) * np.abs(self.dlogvar_dscale(scale))


_POSTERIORS = (
    Posterior("logvar", "log-variance", "exp(input)",
              lambda lv: np.array(lv, dtype=np.float64), lambda s: np.ones_like(s)),
    Posterior("logstd", "log-std", "exp(2 input)",
              lambda lv: np.asarray(lv, dtype=np.float64) / 2, lambda s: np.full_like(s, 2.0)),
    Posterior("std", "standard deviation", "input^2",
              lambda lv: np.exp(np.asarray(lv, dtype=np.float64) / 2), lambda s: 2 / s),
    Posterior("var", "variance", "input",
              lambda lv: np.exp(np.asarray(lv, dtype=np.float64)), lambda s: 1 / s),
)
#: every posterior parameterization by its canonical input name
POSTERIOR: dict[str, Posterior] = {p.name: p for p in _POSTERIORS}
