"""Fit a loss's outputs on the probes as a linear combination of candidate ELBO terms.

A candidate :class:`Form` fixes the reconstruction's likelihood, how the KL formula reads the
scale input, the prior, and the reductions (data, latent, and the batch reduction of each
term). On probe i its feature columns are

    R_i = reduce_batch_R( reduce_data( r ) )     r: the likelihood's natural element term
    C_i = reduce_batch_R( reduce_data( 1 ) )     element count (Gaussian/Laplace constants)
    K_i = reduce_batch_K( reduce_latent( k ) )   k: the KL element term under the reading
    1                                            an additive constant (loss only)
    L_i = reduce_batch_K( reduce_latent( 1 ) )   latent element count

and the fit solves output_i = a R_i + b K_i + e C_i + c + f L_i by weighted least squares.
A nonzero f is a KL that is not 0 at q = p (a "+1" where "-1" belongs): a departure the
diagnosis names, not a legal constant, since it grows with the latent size. Natural
element terms: the negative log-likelihood for Bernoulli and continuous Bernoulli (and the
learned Gaussian/Laplace without their constant), the squared error (x - m)^2 for a Gaussian
(so a = 1/(2 sigma^2) times the overall scale) and |x - m| for a Laplace.

A form fits when every residual is within kappa u M_i (the derived bound of
:mod:`vae_spec.tolerance` for the magnitudes the fitted terms add up, u the probes' dtype),
times ``FIT_FACTOR``: least squares returns coefficients with a relative error of about
cond(A) u, which moves each residual by at most that times the row's magnitude; the probe
design keeps cond(A) below ~1e3, and FIT_FACTOR = 4 covers it at kappa >= 32.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

from . import spec, tolerance
from .memo import Memo, fingerprint
from .vocabulary import POSTERIOR

RECON_FAMILIES = (
    "bernoulli-probs", "bernoulli-logits", "continuous-bernoulli-probs",
    "continuous-bernoulli-logits", "gaussian", "laplace",
)
LEARNED = {"dec_logvar": "gaussian-learned", "dec_logscale": "laplace-learned"}
WITH_CONSTANTS = ("gaussian", "laplace", "gaussian-learned", "laplace-learned")
FIT_FACTOR = 4.0
#: (reconstruction, KL) batch reductions of a per-example output
VECTOR_BATCHES = (("none", "none"), ("none", "mean"), ("none", "sum"), ("mean", "none"), ("sum", "none"))


@dataclass(frozen=True)
class Form:
    """One candidate reading of a loss (None where the term has no such part)."""

    likelihood: str | None
    kl_param: str | None
    prior: str | None
    data: str | None
    latent: str | None
    batch_recon: str | None
    batch_kl: str | None


@dataclass(frozen=True)
class Fit:
    """A form's least-squares coefficients and how well it reproduces the outputs."""

    form: Form
    recon: float
    kl: float
    per_element: float
    offset: float
    per_latent: float
    margin: float
    relative_residual: float

    @property
    def fits(self) -> bool:
        return self.margin <= 1.0


# -- element terms -----------------------------------------------------------------------------
#: element terms by the probes' bytes: the fits of one diagnosis (and of a check's naming of
#: its departures) read the same probes under many forms
_ELEMENTS = Memo(512)


def _remembered(kind: tuple, arrays: tuple[np.ndarray, ...], compute):
    return _ELEMENTS.get(fingerprint(kind, enumerate(arrays)).digest(), compute)


def recon_elements(likelihood: str, inputs: dict):
    """(natural element term r, its magnitude) of one likelihood on one probe."""
    learned = tuple(inputs[name] for name in LEARNED if LEARNED[name] == likelihood)
    return _remembered(("recon", likelihood), (inputs["x"], inputs["x_recon"], *learned),
                       lambda: _recon_elements(likelihood, inputs))


def _recon_elements(likelihood: str, inputs: dict):
    x, m = inputs["x"], inputs["x_recon"]
    if likelihood == "gaussian":
        return (x - m) ** 2, (np.abs(x) + np.abs(m)) ** 2
    if likelihood == "laplace":
        return np.abs(x - m), np.abs(x) + np.abs(m)
    params = {name: inputs[name] for name in LEARNED if LEARNED[name] == likelihood}
    value = -spec.log_likelihood_elementwise(x, m, likelihood, constants=False, **params)
    return value, spec.log_likelihood_magnitude(x, m, likelihood, constants=False, **params)


def kl_elements(kl_param: str, prior: str | None, inputs: dict, posterior: str):
    """(KL element term, magnitude) reading the scale input as ``kl_param``; None if invalid."""
    priors = (inputs["prior_mu"], inputs["prior_logvar"]) if prior == "declared" else ()
    return _remembered(("kl", kl_param, prior), (inputs["mu"], inputs[posterior], *priors),
                       lambda: _kl_elements(kl_param, prior, inputs, posterior))


def _kl_elements(kl_param: str, prior: str | None, inputs: dict, posterior: str):
    scale = inputs[posterior]
    if kl_param in ("std", "var") and not (scale > 0).all():
        return None
    if prior == "declared":
        logvar = spec.scale_to_logvar(scale, kl_param)
        prior_inputs = (inputs["prior_mu"], inputs["prior_logvar"])
        return (spec.kl_diagonal_elementwise(inputs["mu"], logvar, *prior_inputs),
                spec.kl_diagonal_magnitude(inputs["mu"], logvar, *prior_inputs))
    return (spec.kl_standard_normal_elementwise(inputs["mu"], scale, kl_param),
            spec.kl_standard_normal_magnitude(inputs["mu"], scale, kl_param))


def _reduce(elements: np.ndarray, inner: str, batch: str) -> np.ndarray:
    """Reduce over every axis but the first (``inner``), then over the batch."""
    flat = elements.reshape(elements.shape[0], -1)
    per_example = flat.sum(axis=1) if inner == "sum" else flat.mean(axis=1)
    if batch == "none":
        return per_example
    return np.atleast_1d(per_example.sum() if batch == "sum" else per_example.mean())


# -- candidate forms ---------------------------------------------------------------------------
def candidate_forms(target, vector_output: bool) -> list[Form]:
    """Every reading worth fitting for the target's term and inputs."""
    names = target.canonical_args
    learned = [LEARNED[n] for n in LEARNED if n in names]
    likelihoods = learned or list(RECON_FAMILIES)
    has_recon = target.computes.reconstruction
    has_kl = target.computes.kl is not None
    if has_recon and has_kl:
        # a per-example output: both terms per example, or one reduced and added to every row
        batches = VECTOR_BATCHES if vector_output else tuple(itertools.product(("mean", "sum"), repeat=2))
    else:
        batches = (("none", "none"),) if vector_output else (("mean", "mean"), ("sum", "sum"))
    forms = []
    for likelihood, kl_param, prior, data, latent, (batch_recon, batch_kl) in itertools.product(
        likelihoods if has_recon else [None],
        list(POSTERIOR) if has_kl else [None],
        (("declared", "standard") if target.has_prior else (None,)) if has_kl else [None],
        ("sum", "mean") if has_recon else [None],
        ("sum", "mean") if has_kl else [None],
        batches,
    ):
        forms.append(Form(likelihood, kl_param, prior, data, latent,
                          batch_recon if has_recon else None, batch_kl if has_kl else None))
    return forms


def columns(form: Form, target, inputs: dict, cache: dict):
    """Feature columns (rows x 5: R, K, C, 1, L) and per-row magnitudes for one probe; None if invalid.

    ``cache`` holds the probe's element terms and reduced columns, which many forms share.
    """
    feature = {}
    magnitude = {}
    if form.likelihood is not None:
        feature["R"], magnitude["R"], constant = _recon_columns(form, inputs, cache)
        if form.likelihood in WITH_CONSTANTS:
            feature["C"] = constant
    if form.kl_param is not None:
        reduced = _kl_columns(form, target, inputs, cache)
        if reduced is None:
            return None
        feature["K"], feature["L"], magnitude["K"] = reduced
    rows = max(len(v) for v in feature.values())  # a reduced term is added to every row
    feature = {k: np.broadcast_to(v, (rows,)) for k, v in feature.items()}
    magnitude = {k: np.broadcast_to(v, (rows,)) for k, v in magnitude.items()}
    zeros = np.zeros(rows)
    matrix = np.stack([
        feature.get("R", zeros), feature.get("K", zeros), feature.get("C", zeros),
        np.ones(rows) if target.computes.combined else zeros, feature.get("L", zeros),
    ], axis=1)
    return matrix, magnitude.get("R", zeros), magnitude.get("K", zeros)


def _recon_columns(form: Form, inputs: dict, cache: dict):
    """(R, |R| magnitude, per-element count C) reduced as the form says, cached per probe."""
    key = ("R", form.likelihood, form.data, form.batch_recon)
    if key not in cache:
        elements = ("recon", form.likelihood)
        if elements not in cache:
            cache[elements] = recon_elements(form.likelihood, inputs)
        r, r_mag = cache[elements]
        cache[key] = (_reduce(r, form.data, form.batch_recon), _reduce(r_mag, form.data, form.batch_recon),
                      _reduce(np.ones_like(r), form.data, form.batch_recon))
    return cache[key]


def _kl_columns(form: Form, target, inputs: dict, cache: dict):
    """(K, per-latent count L, |K| magnitude) reduced as the form says, cached; None if invalid."""
    key = ("K", form.kl_param, form.prior, form.latent, form.batch_kl)
    if key not in cache:
        elements = ("kl", form.kl_param, form.prior)
        if elements not in cache:
            cache[elements] = kl_elements(form.kl_param, form.prior, inputs, target.posterior)
        if cache[elements] is None:
            cache[key] = None
        else:
            k, k_mag = cache[elements]
            cache[key] = (_reduce(k, form.latent, form.batch_kl), _reduce(np.ones_like(k), form.latent, form.batch_kl),
                          _reduce(k_mag, form.latent, form.batch_kl))
    return cache[key]


class _Design:
    """Every probe's feature columns for the forms of one fit, stacked across probes and
    cached per part of a form (the reconstruction's reading, the KL's), since many forms share
    each part."""

    def __init__(self, target, probe_inputs: list[dict], outputs: list[np.ndarray]):
        self.target, self.probe_inputs = target, probe_inputs
        self.outputs = [np.ravel(output) for output in outputs]
        self.caches = [{} for _ in probe_inputs]
        self.stacked: dict = {}

    def rows(self, per_example: bool) -> list[int] | None:
        """Rows per probe (B, or 1 for a batch-reduced output); None if an output has another size."""
        rows = [inputs[next(iter(inputs))].shape[0] if per_example else 1 for inputs in self.probe_inputs]
        return rows if all(o.shape[0] == r for o, r in zip(self.outputs, rows)) else None

    def _stack(self, key, per_probe, rows):
        if key not in self.stacked:
            parts = [per_probe(inputs, cache) for inputs, cache in zip(self.probe_inputs, self.caches)]
            if any(part is None for part in parts):
                self.stacked[key] = None
            else:
                self.stacked[key] = tuple(
                    np.concatenate([np.broadcast_to(part[i], (r,)) for part, r in zip(parts, rows)])
                    for i in range(len(parts[0])))
        return self.stacked[key]

    def recon(self, form: Form, per_example: bool, rows):
        """(R, |R|, C) stacked across probes."""
        key = ("R", form.likelihood, form.data, form.batch_recon, per_example)
        return self._stack(key, lambda inputs, cache: _recon_columns(form, inputs, cache), rows)

    def kl(self, form: Form, per_example: bool, rows):
        """(K, L, |K|) stacked across probes; None if the form's reading is invalid on a probe."""
        key = ("K", form.kl_param, form.prior, form.latent, form.batch_kl, per_example)
        return self._stack(key, lambda inputs, cache: _kl_columns(form, self.target, inputs, cache), rows)

    def counts(self, per_example: bool, rows):
        """The number of input elements of each row's probe."""
        key = ("n", per_example)
        if key not in self.stacked:
            self.stacked[key] = np.concatenate([np.full(r, sum(v.size for v in inputs.values()))
                                                for inputs, r in zip(self.probe_inputs, rows)])
        return self.stacked[key]


def fit(form: Form, design: _Design, dtype: str) -> Fit | None:
    """Least-squares fit of one form to every probe's output."""
    per_example = "none" in (form.batch_recon, form.batch_kl)
    rows = design.rows(per_example)
    if rows is None:
        return None
    y = np.concatenate(design.outputs)
    zeros = np.zeros(y.shape[0])
    r = r_mag = c = k = latent_count = k_mag = zeros
    if form.likelihood is not None:
        r, r_mag, c = design.recon(form, per_example, rows)
        if form.likelihood not in WITH_CONSTANTS:
            c = zeros
    if form.kl_param is not None:
        stacked = design.kl(form, per_example, rows)
        if stacked is None:
            return None
        k, latent_count, k_mag = stacked
    offset = np.ones(y.shape[0]) if design.target.computes.combined else zeros
    a = np.stack([r, k, c, offset, latent_count], axis=1)
    n = design.counts(per_example, rows)
    used = np.flatnonzero(np.abs(a).sum(axis=0) > 0)
    weight = 1.0 / np.maximum(np.abs(y) + np.abs(a[:, used]).sum(axis=1), 1e-300)
    solution, *_ = np.linalg.lstsq(a[:, used] * weight[:, None], y * weight, rcond=None)
    coef = np.zeros(a.shape[1])
    coef[used] = solution
    residual = y - a @ coef
    magnitude = (np.abs(coef[0]) * r_mag + np.abs(coef[1]) * k_mag + np.abs(coef[2] * a[:, 2])
                 + np.abs(coef[3]) + np.abs(coef[4] * a[:, 4]) + np.abs(y))
    kappas = np.array([_kappa(4 * int(count)) for count in n])
    bounds = FIT_FACTOR * kappas * tolerance.UNIT_ROUNDOFF[dtype] * magnitude + 1e-300
    return Fit(
        form=form, recon=float(coef[0]), kl=float(coef[1]), per_element=float(coef[2]),
        offset=float(coef[3]), per_latent=float(coef[4]), margin=float(np.max(np.abs(residual) / bounds)),
        relative_residual=float(np.max(np.abs(residual) / np.maximum(magnitude, 1e-300))),
    )


@functools.lru_cache(maxsize=None)
def _kappa(n_summands: int) -> float:
    return tolerance.kappa(n_summands)


def fit_all(target, probe_inputs, outputs, dtype, vector_output) -> list[Fit]:
    """Every candidate form's fit, best margin first."""
    design = _Design(target, probe_inputs, outputs)
    fits = []
    for form in candidate_forms(target, vector_output):
        result = fit(form, design, dtype)
        if result is not None and math.isfinite(result.margin):
            fits.append(result)
    return sorted(fits, key=lambda f: f.margin)
