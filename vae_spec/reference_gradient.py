"""The analytic gradients of a target's output: d(sum of output)/d(input) under its claim.

For each differentiable input, the spec's derivative of every per-example term, times the
factor that term carries in the sum of the output (scale, 1/B for a batch mean, 1/D for a data
mean, -1 for the ELBO), with the magnitude of the derivative's summands, which scales a
correct implementation's rounding error (:mod:`vae_spec.tolerance`), as the value's magnitude
does in :mod:`vae_spec.reference`.
"""

from __future__ import annotations

import numpy as np

from . import spec
from .reference import count_per_example, likelihood_params, prior_inputs
from .vocabulary import POSTERIOR


def expected_grad(target, inputs: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """d(sum of output)/d(input) and its magnitude, for each differentiable bound input."""
    convention = target.convention
    grads: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def add(name, grad, magnitude, factor):
        grad = np.asarray(grad, dtype=np.float64) * factor
        magnitude = np.abs(np.asarray(magnitude, dtype=np.float64) * factor)
        if name in grads:
            grads[name] = (grads[name][0] + grad, grads[name][1] + magnitude)
        else:
            grads[name] = (grad, magnitude)

    term = target.computes
    kl_factor = _kl_weight(target, inputs) * (convention.beta if term.combined else 1.0)
    if term.reconstruction:
        data_factor = _data_factor(target, inputs)
        for name, (g, m) in _reconstruction_grad(target, inputs).items():
            add(name, g, m, data_factor)
    if term.kl == "analytic":
        latent_factor = kl_factor / count_per_example(inputs["mu"]) if convention.latent == "mean" else kl_factor
        for name, (g, m) in _kl_grad(target, inputs).items():
            add(name, g, m, latent_factor)
    if term.kl == "sampled":
        latent_factor = kl_factor / count_per_example(inputs["mu"]) if convention.latent == "mean" else kl_factor
        for name, (g, m) in _mc_kl_grad(target, inputs).items():
            add(name, g, m, latent_factor)
    return {name: _fit(value, inputs[name]) for name, value in grads.items() if name in inputs}


def subgradient_radius(target, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Where the output has a kink, the half-width of its set of derivatives (0 elsewhere).

    A Laplace decoder's -log p = |x - m| / S has a kink at m = x: every value in [-1/S, 1/S]
    is a derivative with respect to m there (a subgradient). The spec's gradient takes 0;
    torch and TensorFlow return 0 too (sign(0)); jax returns -1/S or 1/S (its |u| has
    derivative 1 at u = 0, so the sign follows whether the loss writes |x - m| or |m - x|).
    The radius carries the factor of the spec's gradient (scale, 1/B for a batch mean, 1/D
    for a data mean).
    """
    if not target.computes.reconstruction:
        return {}
    likelihood = spec.parse_likelihood(target.likelihood)
    if likelihood.family != "laplace":
        return {}
    x, mean = inputs["x"], inputs["x_recon"]
    scale = (np.exp(np.broadcast_to(inputs[likelihood.learned], x.shape)) if likelihood.learned
             else likelihood.scale)
    return {"x_recon": np.where(x == mean, abs(_data_factor(target, inputs)) / scale, 0.0)}



# -- gradients --------------------------------------------------------------------------------
def _reconstruction_grad(target, inputs):
    """Gradients of the per-element negative log-likelihood and their magnitudes."""
    params = likelihood_params(target, inputs)
    grads = spec.log_likelihood_grad(
        inputs["x"], inputs["x_recon"], target.likelihood,
        constants=target.convention.constants, **params,
    )
    likelihood = spec.parse_likelihood(target.likelihood)
    x, r = inputs["x"], inputs["x_recon"]
    out = {}
    for name, g in grads.items():
        out[name] = (-np.asarray(g), _likelihood_grad_magnitude(likelihood, name, x, r, params, g))
    return out


def _likelihood_grad_magnitude(likelihood, name, x, r, params, grad):
    """Sum of |summands| of each analytic derivative of log p (see tolerance's derivation)."""
    grad = np.abs(np.asarray(grad, dtype=np.float64))
    family, param = likelihood.family, likelihood.parameterization
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if family == "bernoulli" and param == "probs":
            return x / r + (1 - x) / (1 - r)
        # logits: d/dl = sigmoid(l) - x, where a correct form may compute sigmoid(l) as
        # 1 - sigmoid(-l) (autodiff of log(1 - sigmoid(l)), or of log(-expm1(log_sigmoid(l))),
        # whose expm1'(u) = expm1(u) + 1): summands x, sigmoid(l), 1 and sigmoid(-l), sum x + 2
        if family == "bernoulli":
            return x + 2.0
        if family == "continuous-bernoulli":
            lam = r if param == "probs" else 1 / (1 + np.exp(-r))
            base = x / lam + (1 - x) / (1 - lam) if param == "probs" else x + 2.0
            # the normalizer's derivative cancels as lambda -> 1/2 at rate 1/(1 - 2 lambda)^2
            return base + grad + 1 / np.maximum((1 - 2 * lam) ** 2, 1e-300)
        if family == "gaussian":
            variance = np.exp(params["dec_logvar"]) if likelihood.learned else likelihood.variance
            spread = (np.abs(x) + np.abs(r)) * np.abs(x - r) / variance
            if name == "dec_logvar":
                return 0.5 + spread
            return (np.abs(x) + np.abs(r)) / variance
        scale = np.exp(params["dec_logscale"]) if likelihood.learned else likelihood.scale
        if name == "dec_logscale":
            return 1 + (np.abs(x) + np.abs(r)) / scale
        return 1 / scale + grad


def _kl_grad(target, inputs):
    mu, scale, posterior = inputs["mu"], inputs[target.posterior], target.posterior
    if not target.has_prior:
        d_mu, d_scale = spec.kl_standard_normal_grad(mu, scale, posterior)
        return {"mu": (d_mu, np.abs(mu)), posterior: (d_scale, POSTERIOR[posterior].kl_grad_magnitude(scale))}
    logvar = spec.scale_to_logvar(scale, posterior)
    prior_mu, prior_logvar = prior_inputs(inputs)
    grads = spec.kl_diagonal_grad(mu, logvar, prior_mu, prior_logvar)
    ratio = np.exp(logvar - prior_logvar)
    spread = (np.abs(mu) + np.abs(prior_mu)) * np.exp(-prior_logvar)
    d_logvar_d_scale = POSTERIOR[posterior].dlogvar_dscale(scale)
    return {
        "mu": (grads["mu_q"], spread),
        posterior: (grads["logvar_q"] * d_logvar_d_scale, 0.5 * (ratio + 1) * np.abs(d_logvar_d_scale)),
        "prior_mu": (grads["mu_p"], spread),
        "prior_logvar": (grads["logvar_p"], 0.5 * (1 + ratio + (mu - prior_mu) ** 2 * np.exp(-prior_logvar))),
    }


def _mc_kl_grad(target, inputs):
    """d/d(z, mu, scale, prior) of (lp - lq)/2 - (z-mu)^2/(2 vq) + (z-mp)^2/(2 vp)."""
    z, mu, scale, posterior = inputs["z"], inputs["mu"], inputs[target.posterior], target.posterior
    logvar = spec.scale_to_logvar(scale, posterior)
    prior_mu, prior_logvar = prior_inputs(inputs) if target.has_prior else (np.zeros_like(mu), np.zeros_like(mu))
    inv_q, inv_p = np.exp(-logvar), np.exp(-prior_logvar)
    dq, dp = (z - mu) * inv_q, (z - prior_mu) * inv_p
    spread_q = (np.abs(z) + np.abs(mu)) * inv_q
    spread_p = (np.abs(z) + np.abs(prior_mu)) * inv_p
    d_logvar = -0.5 + 0.5 * (z - mu) * dq
    d_logvar_d_scale = POSTERIOR[posterior].dlogvar_dscale(scale)
    out = {
        "z": (dp - dq, spread_q + spread_p),
        "mu": (dq, spread_q),
        posterior: (d_logvar * d_logvar_d_scale,
                     (0.5 + 0.5 * np.abs(z - mu) * spread_q) * np.abs(d_logvar_d_scale)),
    }
    if target.has_prior:
        out["prior_mu"] = (-dp, spread_p)
        out["prior_logvar"] = (0.5 - 0.5 * (z - prior_mu) * dp, 0.5 + 0.5 * np.abs(z - prior_mu) * spread_p)
    return out



def _weight(target, inputs) -> float:
    """The factor every per-example term carries in d(sum of output): scale, over B for a batch
    mean, times B where the reduced term is added to each of B rows (a per-example KL beside
    it), negated for elbo."""
    convention = target.convention
    batch = inputs["x" if "x" in inputs else "mu"].shape[0]
    weight = convention.scale / batch if convention.batch == "mean" else convention.scale
    if convention.kl_batch == "none" and convention.batch != "none" and not target.computes.kl_alone:
        weight *= batch
    return target.computes.sign * weight


def _kl_weight(target, inputs) -> float:
    """The factor each example's KL carries in d(sum of output): its own batch reduction, times
    B where a reduced KL is added to each of B rows (a per-example reconstruction beside it)."""
    convention = target.convention
    if convention.kl_batch is None or target.computes.kl_alone:
        return _weight(target, inputs)
    batch = inputs["mu"].shape[0]
    weight = convention.scale / batch if convention.kl_batch == "mean" else convention.scale
    if convention.batch == "none" and convention.kl_batch != "none":
        weight *= batch
    if convention.kl_batch == "none" and convention.batch != "none":
        weight = convention.scale  # each row carries its own KL once
    return target.computes.sign * weight


def _data_factor(target, inputs) -> float:
    """The factor of each data element's term: the weight, over D for a data mean."""
    weight = _weight(target, inputs)
    return weight / count_per_example(inputs["x"]) if target.convention.data == "mean" else weight


def _fit(value, like):
    """Sum a gradient over axes where the input was broadcast (a shared prior or variance)."""
    grad, magnitude = value
    shape = np.shape(like)
    while grad.ndim > len(shape):
        grad, magnitude = grad.sum(axis=0), magnitude.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
            magnitude = magnitude.sum(axis=axis, keepdims=True)
    return grad, magnitude
