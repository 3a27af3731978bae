"""The objective: conventions, the (negative) ELBO, its Monte Carlo form given z, the IWAE bound."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import _summation, _validate
from .gaussian import (
    kl_diagonal,
    kl_diagonal_magnitude,
    kl_standard_normal,
    kl_standard_normal_magnitude,
    scale_to_logvar,
)
from .likelihoods import log_likelihood, log_likelihood_magnitude

_DATA = ("sum", "mean")
_LATENT = ("sum", "mean")
_BATCH = ("mean", "sum", "none")


@dataclass(frozen=True)
class Convention:
    """How a loss reduces and weights its terms.

    loss = scale * ( reduce_batch_b reduce_data_k NLL_bk + beta * reduce_kl_batch_b reduce_latent_j KL_bj )

    The ELBO is data="sum", latent="sum", beta=1; batch "mean" or "sum", any positive
    ``scale`` and ``constants=False`` (normalizing constants dropped) are legal conventions.
    ``kl_batch`` (None: as ``batch``) reduces the KL over the batch differently from the
    reconstruction: a departure (``batch-mismatch``) that a claim can state. With one of the
    two "none", the other's reduced value is added to every row, as array broadcasting does.
    """

    data: str = "sum"
    latent: str = "sum"
    batch: str = "mean"
    beta: float = 1.0
    scale: float = 1.0
    constants: bool = True
    kl_batch: str | None = None

    def __post_init__(self):
        for field, allowed in (("data", _DATA), ("latent", _LATENT), ("batch", _BATCH)):
            value = getattr(self, field)
            if value not in allowed:
                raise ValueError(
                    f"Convention.{field}: {value!r} is not one of {', '.join(allowed)}"
                )
        if self.kl_batch is not None and self.kl_batch not in _BATCH:
            raise ValueError(f"Convention.kl_batch: {self.kl_batch!r} is not None or one of {', '.join(_BATCH)}")
        if self.kl_batch == self.batch:
            object.__setattr__(self, "kl_batch", None)
        object.__setattr__(self, "beta", _validate.positive_number("Convention.beta", self.beta)
                           if self.beta != 0 else 0.0)
        object.__setattr__(self, "scale", _validate.positive_number("Convention.scale", self.scale))
        if not isinstance(self.constants, bool):
            raise ValueError(f"Convention.constants: expected True or False, got {self.constants!r}")

    @property
    def is_elbo(self) -> bool:
        """True when the convention differs from the ELBO only by legal choices."""
        return self.data == "sum" and self.latent == "sum" and self.beta == 1.0 and self.kl_batch is None

    @property
    def kl_batch_reduction(self) -> str:
        """How the KL is reduced over the batch."""
        return self.kl_batch or self.batch

    @property
    def per_example_output(self) -> bool:
        """True when the loss is one value per example (either term kept per example)."""
        return "none" in (self.batch, self.kl_batch_reduction)

    def as_dict(self) -> dict:
        return {
            "data": self.data, "latent": self.latent, "batch": self.batch,
            "beta": self.beta, "scale": self.scale, "constants": self.constants,
            "kl_batch": self.kl_batch,
        }


class LossTerms(NamedTuple):
    """Per-example terms of the loss, each reduced over its own axes per the convention.

    ``reconstruction`` = reduce_data(-log p(x|.)), ``kl`` = reduce_latent(KL); the magnitudes
    are the same reductions of the per-element sums of |textbook summands| (the scale of a
    correct implementation's rounding error).
    """

    reconstruction: np.ndarray
    kl: np.ndarray
    reconstruction_magnitude: np.ndarray
    kl_magnitude: np.ndarray


def reduce_example(elementwise, how: str) -> np.ndarray:
    """Per-example sum or mean over every axis but the first (correctly rounded sum)."""
    if how not in _DATA:
        raise ValueError(f"how: {how!r} is not one of {', '.join(_DATA)}")
    elementwise = _validate.as_batched("elementwise", elementwise, allow_nan=True)
    if how == "sum":
        return _summation.example_sum(elementwise)
    return _summation.example_mean(elementwise)


def reduce_batch(per_example, how: str):
    """Reduce per-example values (B,) over the batch: a float for "mean" or "sum" (correctly
    rounded sum, divided by B for the mean), the (B,) array itself for "none"."""
    if how not in _BATCH:
        raise ValueError(f"how: {how!r} is not one of {', '.join(_BATCH)}")
    per_example = _validate.as_batched("per_example", per_example, allow_nan=True)
    if per_example.ndim != 1:
        raise ValueError(f"per_example: expected shape (B,), got {per_example.shape}")
    if how == "none":
        return per_example.copy()
    total = _summation.total_sum(per_example)
    return total if how == "sum" else total / per_example.shape[0]


def loss_terms(x, x_recon, mu, logvar, likelihood: str = "bernoulli-logits",
               convention: Convention = Convention(), *, posterior: str = "logvar",
               prior_mu=None, prior_logvar=None, dec_logvar=None,
               dec_logscale=None) -> LossTerms:
    """Reconstruction -log p(x|x_recon) reduced over data per ``convention.data`` and
    KL(q(z|x) || p(z)) reduced over latent dims per ``convention.latent``, per example.

    ``logvar`` holds the posterior scale in the ``posterior`` parameterization. With no prior
    arguments p(z) = N(0, I); otherwise p(z) = N(prior_mu, diag exp(prior_logvar)) (a missing
    one is 0), each broadcast to ``mu``'s shape. The sums are the spec's per-example functions
    (exact pieces rounded once); a mean divides that by the element count.
    """
    convention = _convention(convention)
    x, x_recon, mu, logvar = _batched_pair_pair(x, x_recon, mu, logvar)
    params = dict(dec_logvar=dec_logvar, dec_logscale=dec_logscale)
    nll = -log_likelihood(x, x_recon, likelihood, constants=convention.constants, **params)
    nll_magnitude = log_likelihood_magnitude(x, x_recon, likelihood,
                                             constants=convention.constants, **params)
    if prior_mu is None and prior_logvar is None:
        kl = kl_standard_normal(mu, logvar, posterior)
        kl_magnitude = kl_standard_normal_magnitude(mu, logvar, posterior)
    else:
        prior_mu, prior_logvar = _prior(mu, prior_mu, prior_logvar)
        logvar_q = scale_to_logvar(logvar, posterior)
        kl = kl_diagonal(mu, logvar_q, prior_mu, prior_logvar)
        kl_magnitude = kl_diagonal_magnitude(mu, logvar_q, prior_mu, prior_logvar)
    return LossTerms(
        reconstruction=_per_example_mean(nll, x) if convention.data == "mean" else nll,
        kl=_per_example_mean(kl, mu) if convention.latent == "mean" else kl,
        reconstruction_magnitude=reduce_example(nll_magnitude, convention.data),
        kl_magnitude=reduce_example(kl_magnitude, convention.latent),
    )


def negative_elbo(x, x_recon, mu, logvar, likelihood: str = "bernoulli-logits",
                  convention: Convention = Convention(), *, posterior: str = "logvar",
                  prior_mu=None, prior_logvar=None, dec_logvar=None, dec_logscale=None):
    """The loss: reduce_batch(scale * (reconstruction + beta * kl)) under ``convention``.

    With the default convention this is mean_b [ -log p(x_b|x_recon_b) + KL_b ], the negative
    ELBO averaged over the batch.
    """
    convention = _convention(convention)
    terms = loss_terms(x, x_recon, mu, logvar, likelihood, convention, posterior=posterior,
                       prior_mu=prior_mu, prior_logvar=prior_logvar, dec_logvar=dec_logvar,
                       dec_logscale=dec_logscale)
    return _combine(terms.reconstruction, terms.kl, convention)


def elbo(x, x_recon, mu, logvar, likelihood: str = "bernoulli-logits",
         convention: Convention = Convention(), *, posterior: str = "logvar", prior_mu=None,
         prior_logvar=None, dec_logvar=None, dec_logscale=None):
    """The ELBO under ``convention``: -negative_elbo (log p(x|.) - KL per example, reduced)."""
    return -negative_elbo(x, x_recon, mu, logvar, likelihood, convention, posterior=posterior,
                          prior_mu=prior_mu, prior_logvar=prior_logvar, dec_logvar=dec_logvar,
                          dec_logscale=dec_logscale)


def mc_kl(z, mu, logvar, *, posterior: str = "logvar", prior_mu=None,
          prior_logvar=None) -> np.ndarray:
    """Single-sample KL estimate log q(z|x) - log p(z) per example, given z (same shape as mu).

    Per element, with q = N(mu, exp(lv)) and p = N(mp, exp(lp)) (the 1/2 log 2 pi cancels):
    1/2 [ (z - mp)^2 exp(-lp) - (z - mu)^2 exp(-lv) + lp - lv ]; the four parts are summed
    together in one correctly rounded sum per example. Its expectation over z ~ q is the KL.
    """
    mu = _validate.as_batched("mu", mu)
    logvar = _validate.as_batched("logvar", logvar)
    z = _validate.as_batched("z", z)
    _validate.same_shape(mu=mu, logvar=logvar)
    _validate.same_shape(mu=mu, z=z)
    _validate.finite("z", z)
    logvar_q = scale_to_logvar(logvar, posterior)
    prior_mu, prior_logvar = _prior(mu, prior_mu, prior_logvar)
    with np.errstate(over="ignore"):
        prior_part = 0.5 * np.square(z - prior_mu) * np.exp(-prior_logvar)
        posterior_part = -0.5 * np.square(z - mu) * np.exp(-logvar_q)
    return _summation.example_sum(prior_part, posterior_part, 0.5 * prior_logvar,
                                  -0.5 * logvar_q)


def mc_negative_elbo(x, x_recon, z, mu, logvar, likelihood: str = "bernoulli-logits",
                     convention: Convention = Convention(), *, posterior: str = "logvar",
                     prior_mu=None, prior_logvar=None, dec_logvar=None, dec_logscale=None):
    """The loss with the KL replaced by the single-sample estimate :func:`mc_kl` given z
    (divided by the latent size when ``convention.latent`` is "mean"); its expectation over
    z ~ q(z|x) is :func:`negative_elbo`."""
    convention = _convention(convention)
    x, x_recon, mu, logvar = _batched_pair_pair(x, x_recon, mu, logvar)
    nll = -log_likelihood(x, x_recon, likelihood, constants=convention.constants,
                          dec_logvar=dec_logvar, dec_logscale=dec_logscale)
    kl = mc_kl(z, mu, logvar, posterior=posterior, prior_mu=prior_mu, prior_logvar=prior_logvar)
    if convention.data == "mean":
        nll = _per_example_mean(nll, x)
    if convention.latent == "mean":
        kl = _per_example_mean(kl, mu)
    return _combine(nll, kl, convention)


def iwae_log_weights(x, x_recon_k, z_k, mu, logvar, likelihood: str = "bernoulli-logits", *,
                     posterior: str = "logvar", prior_mu=None, prior_logvar=None,
                     constants: bool = True, dec_logvar=None, dec_logscale=None) -> np.ndarray:
    """Importance log-weights log w_bk = log p(x_b | x_recon_bk) + log p(z_bk) - log q(z_bk | x_b).

    Shapes: x (B, ...), x_recon_k (B, K, ...), z_k (B, K, d...), mu and logvar (B, d...);
    ``dec_logvar``/``dec_logscale``, when given, broadcast to x_recon_k's shape; the prior
    arguments to mu's. Returns (B, K).
    """
    x = _validate.as_batched("x", x)
    x_recon_k = _validate.as_batched("x_recon_k", x_recon_k)
    z_k = _validate.as_batched("z_k", z_k)
    mu = _validate.as_batched("mu", mu)
    logvar = _validate.as_batched("logvar", logvar)
    _validate.same_shape(mu=mu, logvar=logvar)
    batch = x.shape[0]
    if x_recon_k.ndim != x.ndim + 1 or x_recon_k.shape[0] != batch or (
            x_recon_k.shape[2:] != x.shape[1:]):
        raise ValueError(f"x_recon_k: expected shape (B, K) + {x.shape[1:]} with B = {batch}, "
                         f"got {x_recon_k.shape}")
    samples = x_recon_k.shape[1]
    if samples < 1:
        raise ValueError("x_recon_k: needs at least one sample (K >= 1)")
    if z_k.shape != (batch, samples) + mu.shape[1:]:
        raise ValueError(f"z_k: expected shape {(batch, samples) + mu.shape[1:]} from x_recon_k "
                         f"(B, K) and mu's latent shape, got {z_k.shape}")
    if mu.shape[0] != batch:
        raise ValueError(f"mu: batch size {mu.shape[0]} does not match x's {batch}")
    flat = batch * samples

    def per_sample(value: np.ndarray) -> np.ndarray:
        """Repeat a (B, ...) array over the K samples: (B*K, ...), sample k of b at b*K + k."""
        return np.repeat(value, samples, axis=0)

    def flattened(name: str, value):
        if value is None:
            return None
        full = _validate.broadcastable_to(name, _validate.as_float_array(name, value),
                                          x_recon_k.shape)
        return full.reshape((flat,) + x.shape[1:])

    log_px = log_likelihood(per_sample(x), x_recon_k.reshape((flat,) + x.shape[1:]),
                            likelihood, constants=constants,
                            dec_logvar=flattened("dec_logvar", dec_logvar),
                            dec_logscale=flattened("dec_logscale", dec_logscale))
    prior_mu, prior_logvar = _prior(mu, prior_mu, prior_logvar)
    log_q_over_p = mc_kl(z_k.reshape((flat,) + mu.shape[1:]), per_sample(mu),
                         per_sample(logvar), posterior=posterior,
                         prior_mu=per_sample(prior_mu), prior_logvar=per_sample(prior_logvar))
    return (log_px - log_q_over_p).reshape(batch, samples)


def iwae_bound(log_weights) -> np.ndarray:
    """IWAE_K per example: log (1/K) sum_k exp(log w_bk), from (B, K) log-weights.

    Evaluated as m + log(sum_k exp(log w_bk - m)) - log K with m = max_k log w_bk and a
    correctly rounded sum, so it neither overflows nor underflows; K = 1 returns log w.
    """
    log_weights = _validate.as_batched("log_weights", log_weights)
    if log_weights.ndim != 2 or log_weights.shape[1] < 1:
        raise ValueError(f"log_weights: expected shape (B, K) with K >= 1, got {log_weights.shape}")
    if np.isposinf(log_weights).any():
        raise ValueError("log_weights: contains +inf (an infinite importance weight)")
    samples = log_weights.shape[1]
    out = np.empty(log_weights.shape[0])
    for b, row in enumerate(log_weights):
        top = row.max()
        if top == -np.inf:
            out[b] = -np.inf
        else:
            out[b] = top + (math.log(math.fsum(np.exp(row - top).tolist())) - math.log(samples))
    return out


def _per_example_mean(per_example_sum: np.ndarray, elementwise: np.ndarray) -> np.ndarray:
    """A per-example sum divided by the number of elements per example."""
    return per_example_sum / math.prod(elementwise.shape[1:])


def _combine(reconstruction: np.ndarray, kl: np.ndarray, convention: Convention):
    if convention.kl_batch is None:
        return reduce_batch(convention.scale * (reconstruction + convention.beta * kl), convention.batch)
    return convention.scale * (reduce_batch(reconstruction, convention.batch)
                               + convention.beta * reduce_batch(kl, convention.kl_batch))


def _convention(convention) -> Convention:
    if not isinstance(convention, Convention):
        raise ValueError(f"convention: expected a Convention, got {type(convention).__name__}")
    return convention


def _batched_pair_pair(x, x_recon, mu, logvar):
    """Validate x/x_recon and mu/logvar: matching shapes and one batch size."""
    x = _validate.as_batched("x", x)
    x_recon = _validate.as_batched("x_recon", x_recon)
    mu = _validate.as_batched("mu", mu)
    logvar = _validate.as_batched("logvar", logvar)
    _validate.same_shape(x=x, x_recon=x_recon)
    _validate.same_shape(mu=mu, logvar=logvar)
    if mu.shape[0] != x.shape[0]:
        raise ValueError(f"mu: batch size {mu.shape[0]} does not match x's {x.shape[0]}")
    return x, x_recon, mu, logvar


def _prior(mu: np.ndarray, prior_mu, prior_logvar) -> tuple[np.ndarray, np.ndarray]:
    """Prior mean and log-variance broadcast to mu's shape (a missing one is 0)."""
    if prior_mu is None:
        prior_mu = np.zeros_like(mu)
    else:
        prior_mu = _validate.finite("prior_mu", _validate.as_float_array("prior_mu", prior_mu))
        prior_mu = _validate.broadcastable_to("prior_mu", prior_mu, mu.shape)
    if prior_logvar is None:
        prior_logvar = np.zeros_like(mu)
    else:
        prior_logvar = _validate.finite(
            "prior_logvar", _validate.as_float_array("prior_logvar", prior_logvar))
        prior_logvar = _validate.broadcastable_to("prior_logvar", prior_logvar, mu.shape)
    return prior_mu, prior_logvar
