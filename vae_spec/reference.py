"""What a target's output and gradients must be: the spec evaluated under the target's claim.

For a case (canonical inputs in float64, already rounded to the case dtype) this module gives
the expected output, the magnitude M that scales a correct implementation's rounding error
(see :mod:`vae_spec.tolerance`) and the number of summands; :mod:`vae_spec.reference_gradient`
gives the analytic gradient of sum(output) with respect to each differentiable input.

Per example b the claim is

    reconstruction_b = reduce_data_k  -log p(x_bk | x_recon_bk)
    kl_b             = reduce_latent_j KL_bj          (or log q(z_b) - log p(z_b) for mc terms)
    loss             = scale * reduce_batch_b (reconstruction_b + beta * kl_b)

with kl and reconstruction terms scaled by ``scale`` alone and ``elbo`` = -loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import spec
from .memo import Memo, fingerprint
from .spec.objective import Convention
from .vocabulary import DATA_ARGS, POSTERIOR

#: canonical inputs the gradient check differentiates with respect to (x is data)
DIFFERENTIABLE = (
    "x_recon", "mu", "logvar", "logstd", "std", "var", "z",
    "prior_mu", "prior_logvar", "dec_logvar", "dec_logscale",
)
SUMMANDS_PER_ELEMENT = 4  # the textbook element terms have at most four summands


@dataclass(frozen=True)
class Expected:
    """The spec's output for one case, with what bounds a correct implementation's error."""

    value: np.ndarray  # () for batch mean or sum, (B,) for none
    magnitude: np.ndarray  # same shape: the reduced sum of |summands|
    n_summands: int


class ExampleCache:
    """Per-example spec values of one term, by the bytes of the example's inputs.

    The per-example reconstruction and KL of a row depend on that row's inputs alone (and on
    inputs shared by every row, such as a broadcast prior), so the sub-batches, repeats,
    permutations and column duplicates the checks evaluate reuse the rows already computed and
    evaluate the spec on the new rows only. At most ``size`` rows are kept, oldest dropped.
    """

    def __init__(self, size: int = 8192):
        self.rows = Memo(size)

    def per_example(self, kind: str, inputs: dict[str, np.ndarray], compute):
        """(values, magnitudes), each (B,), of ``compute(inputs)`` evaluated on missing rows only."""
        batch = next(iter(inputs.values())).shape[0]
        rows = {name: array for name, array in inputs.items() if array.ndim and array.shape[0] == batch}
        shared = fingerprint(kind, ((name, array) for name, array in inputs.items() if name not in rows))
        keys = [fingerprint_rows(shared, rows, b) for b in range(batch)]
        found = {key: self.rows.results[key] for key in keys if key in self.rows}
        missing = [b for b, key in enumerate(keys) if key not in found]
        if missing:
            sub = {name: (array[missing] if name in rows else array) for name, array in inputs.items()}
            values, magnitudes = compute(sub)
            for b, value, magnitude in zip(missing, values, magnitudes):
                found[keys[b]] = (value, magnitude)
                self.rows.put(keys[b], (value, magnitude))
        found = [found[key] for key in keys]
        return (np.array([f[0] for f in found], dtype=np.float64),
                np.array([f[1] for f in found], dtype=np.float64))


def fingerprint_rows(shared, rows: dict[str, np.ndarray], b: int) -> bytes:
    """The key of example ``b``: the shared inputs' digest extended by row b of each batched input."""
    key = shared.copy()
    for name, array in rows.items():
        key.update(f"{name}".encode() + np.ascontiguousarray(array[b], dtype=np.float64).tobytes())
    return key.digest()


def _uncached(kind, inputs, compute):
    return compute(inputs)


def _term_inputs(inputs, data: bool) -> dict[str, np.ndarray]:
    """The inputs one term reads: the data ones for the reconstruction, the others for the KL."""
    return {name: value for name, value in inputs.items() if (name in DATA_ARGS) == data}


def expected(target, inputs: dict[str, np.ndarray], cache: ExampleCache | None = None) -> Expected:
    """The spec's value of ``target``'s term on ``inputs`` (per-example values from ``cache``
    where it has them)."""
    convention = target.convention
    term = target.computes
    if term.name == "iwae":
        return _iwae(target, inputs)
    per_example = cache.per_example if cache is not None else _uncached
    recon = recon_mag = kl = kl_mag = None
    n = 0
    if term.reconstruction:
        recon, recon_mag = per_example(f"recon {target.likelihood} {convention.data} {convention.constants}",
                                       _term_inputs(inputs, data=True), lambda sub: _reconstruction(target, sub))
        n += inputs["x"].size
    if term.kl == "analytic":
        kl, kl_mag = per_example(f"kl {target.posterior} {convention.latent}", _term_inputs(inputs, data=False),
                                 lambda sub: _kl(target, sub))
        n += inputs["mu"].size
    if term.kl == "sampled":
        kl, kl_mag = per_example(f"mc_kl {target.posterior} {convention.latent}", _term_inputs(inputs, data=False),
                                 lambda sub: _mc_kl(target, sub))
        n += inputs["mu"].size
    if term.kl_alone:
        value = convention.scale * spec.reduce_batch(kl, convention.batch)
        magnitude = convention.scale * spec.reduce_batch(kl_mag, convention.batch)
    elif not term.combined:
        value = convention.scale * spec.reduce_batch(recon, convention.batch)
        magnitude = convention.scale * spec.reduce_batch(recon_mag, convention.batch)
    else:  # the two terms, each reduced over the batch as the convention says
        kl_batch = convention.kl_batch_reduction
        value = convention.scale * (spec.reduce_batch(recon, convention.batch)
                                    + convention.beta * spec.reduce_batch(kl, kl_batch))
        magnitude = convention.scale * (spec.reduce_batch(recon_mag, convention.batch)
                                        + convention.beta * spec.reduce_batch(kl_mag, kl_batch))
    return Expected(
        value=np.asarray(term.sign * value, dtype=np.float64),
        magnitude=np.asarray(magnitude, dtype=np.float64),
        n_summands=max(n, 1) * SUMMANDS_PER_ELEMENT,
    )


def zero_kl_inputs(target, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``inputs`` with q(z|x) set equal to the prior, so the KL term is exactly 0."""
    out = dict(inputs)
    if target.has_prior:
        out["mu"] = np.broadcast_to(inputs["prior_mu"], inputs["mu"].shape).copy()
        logvar = np.broadcast_to(inputs["prior_logvar"], inputs["mu"].shape)
        out[target.posterior] = POSTERIOR[target.posterior].from_logvar(logvar)
    else:
        out["mu"] = np.zeros_like(inputs["mu"])
        out[target.posterior] = POSTERIOR[target.posterior].from_logvar(np.zeros_like(inputs["mu"]))
    return out


# -- terms ------------------------------------------------------------------------------------
def _reconstruction(target, inputs):
    convention: Convention = target.convention
    params = likelihood_params(target, inputs)
    elementwise = -spec.log_likelihood_elementwise(
        inputs["x"], inputs["x_recon"], target.likelihood, constants=convention.constants, **params
    )
    magnitude = spec.log_likelihood_magnitude(
        inputs["x"], inputs["x_recon"], target.likelihood, constants=convention.constants, **params
    )
    return (spec.reduce_example(elementwise, convention.data),
            spec.reduce_example(magnitude, convention.data))


def _kl(target, inputs):
    how = target.convention.latent
    mu, scale = inputs["mu"], inputs[target.posterior]
    if target.has_prior:
        logvar = spec.scale_to_logvar(scale, target.posterior)
        prior = prior_inputs(inputs)
        elementwise = spec.kl_diagonal_elementwise(mu, logvar, *prior)
        magnitude = spec.kl_diagonal_magnitude(mu, logvar, *prior)
    else:
        elementwise = spec.kl_standard_normal_elementwise(mu, scale, target.posterior)
        magnitude = spec.kl_standard_normal_magnitude(mu, scale, target.posterior)
    return spec.reduce_example(elementwise, how), spec.reduce_example(magnitude, how)


def _mc_kl(target, inputs):
    """log q(z|x) - log p(z) = sum_j [ (lp - lq)/2 - (z-mu)^2/(2 vq) + (z-mp)^2/(2 vp) ]."""
    z, mu = inputs["z"], inputs["mu"]
    per_example = spec.mc_kl(
        z, mu, inputs[target.posterior], posterior=target.posterior,
        prior_mu=inputs.get("prior_mu"), prior_logvar=inputs.get("prior_logvar"),
    )
    magnitude = _mc_kl_magnitude(target, inputs, z, mu)
    if target.convention.latent == "mean":
        per_example = per_example / count_per_example(mu)
    return per_example, spec.reduce_example(magnitude, target.convention.latent)


def _mc_kl_magnitude(target, inputs, z, mu):
    """Per element: |summands| of (lp - lq)/2 - (z-mu)^2/(2 vq) + (z-mp)^2/(2 vp), plus the
    rounding of the differences z - mu and z - mp, (|z| + |mu|) |z - mu| / vq (and for p)."""
    shape = np.broadcast_shapes(z.shape, mu.shape)
    logvar = np.broadcast_to(spec.scale_to_logvar(inputs[target.posterior], target.posterior), shape)
    mu = np.broadcast_to(mu, shape)
    if target.has_prior:
        prior_mu = np.broadcast_to(inputs["prior_mu"], inputs["mu"].shape)
        prior_logvar = np.broadcast_to(inputs["prior_logvar"], inputs["mu"].shape)
        prior_mu, prior_logvar = np.broadcast_to(prior_mu, shape), np.broadcast_to(prior_logvar, shape)
    else:
        prior_mu, prior_logvar = np.zeros(shape), np.zeros(shape)
    with np.errstate(over="ignore"):
        inv_q, inv_p = np.exp(-logvar), np.exp(-prior_logvar)
        return (0.5 * (np.abs(logvar) + np.abs(prior_logvar))
                + (z - mu) ** 2 * inv_q / 2 + (z - prior_mu) ** 2 * inv_p / 2
                + (np.abs(z) + np.abs(mu)) * np.abs(z - mu) * inv_q
                + (np.abs(z) + np.abs(prior_mu)) * np.abs(z - prior_mu) * inv_p)


def _iwae(target, inputs) -> Expected:
    """-log mean_k w_bk, log w_bk = log p(x_b | x_recon_bk) + log p(z_bk) - log q(z_bk | x_b).

    The magnitude of an example is max_k M_bk + log K: log-sum-exp returns the largest
    log-weight plus a correction in [0, log K], so its rounding error scales with those.
    """
    convention = target.convention
    x, x_recon, z, mu = inputs["x"], inputs["x_recon"], inputs["z"], inputs["mu"]
    batch, samples = x_recon.shape[:2]
    params = likelihood_params(target, inputs)
    log_weights = spec.iwae_log_weights(
        x, x_recon, z, mu, inputs[target.posterior], target.likelihood, posterior=target.posterior,
        prior_mu=inputs.get("prior_mu"), prior_logvar=inputs.get("prior_logvar"),
        constants=convention.constants, **params,
    )
    per_example = -spec.iwae_bound(log_weights)
    x_k = np.broadcast_to(x[:, None], x_recon.shape).reshape(batch * samples, *x.shape[1:])
    params_k = {k: np.broadcast_to(np.asarray(v)[:, None] if np.ndim(v) == x.ndim else v, x_recon.shape)
                .reshape(x_k.shape) for k, v in params.items()}
    recon_mag = spec.reduce_example(spec.log_likelihood_magnitude(
        x_k, x_recon.reshape(x_k.shape), target.likelihood, constants=convention.constants, **params_k,
    ), "sum").reshape(batch, samples)
    latent = {k: (np.asarray(v)[:, None] if k in ("mu", target.posterior, "prior_mu", "prior_logvar") else v)
              for k, v in inputs.items()}
    kl_mag = _mc_kl_magnitude(target, latent, z, latent["mu"]).reshape(batch, samples, -1).sum(axis=2)
    per_magnitude = (recon_mag + kl_mag).max(axis=1) + math.log(samples)
    return Expected(
        value=np.asarray(convention.scale * spec.reduce_batch(per_example, convention.batch)),
        magnitude=np.asarray(convention.scale * spec.reduce_batch(per_magnitude, convention.batch)),
        n_summands=max(x_recon.size + z.size, 1) * SUMMANDS_PER_ELEMENT,
    )


# -- helpers ----------------------------------------------------------------------------------
def likelihood_params(target, inputs):
    learned = spec.parse_likelihood(target.likelihood).learned
    return {learned: inputs[learned]} if learned else {}


def prior_inputs(inputs):
    """The prior's mean and log-variance broadcast to mu's shape."""
    shape = inputs["mu"].shape
    return (np.broadcast_to(inputs["prior_mu"], shape), np.broadcast_to(inputs["prior_logvar"], shape))


def count_per_example(array) -> int:
    """The number of elements of one example (every axis but the batch)."""
    return int(math.prod(array.shape[1:]))
