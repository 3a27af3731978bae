"""Value right, gradient wrong: autodiff against the fitted form's central differences."""

from __future__ import annotations

import numpy as np

from .. import fitting
from ..reference import DIFFERENTIABLE
from .rules import Finding


def gradient_findings(target, adapter, obs, best: fitting.Fit) -> list[Finding]:
    """A ``gradient`` finding per input whose autodiff gradient departs from the fitted form's."""
    if not adapter.supports_grad or not obs.probes:
        return []
    wrt = tuple(n for n in target.canonical_args if n in DIFFERENTIABLE)
    if not wrt:
        return []
    sign = target.computes.sign
    probe = min(obs.probes[:4], key=lambda p: sum(v.size for v in p.inputs.values()))
    natives = {k: adapter.asarray(v, obs.dtype, target.device) for k, v in probe.inputs.items()}
    try:
        with adapter.precision_guard():
            _, grads = adapter.value_and_grad(target.bind(natives), natives, wrt)
    except Exception as exc:  # the value ran on this probe: a failing gradient is the finding
        return [Finding("gradient", "error", f"The value matches, but differentiating it raised "
                                             f"{type(exc).__name__}: {exc}")]
    coefficients = np.array([best.recon, best.kl, best.per_element, best.offset, best.per_latent])

    def model(inputs):
        matrix, _, _ = fitting.columns(best.form, target, inputs, {})
        return sign * float(np.sum(matrix @ coefficients))

    u = 2.0**-53 if obs.dtype == "float64" else 2.0**-24
    rng = np.random.default_rng(0)
    found = []
    for name in wrt:
        base = probe.inputs[name]
        got = grads.get(name)
        for _ in range(DIRECTIONS):
            # the slope along a random unit direction v: autodiff gives <grad, v>, central
            # differences of the fitted form (f(x + h v) - f(x - h v)) / 2h
            direction = rng.standard_normal(base.shape)
            direction /= np.linalg.norm(direction)
            step = u ** (1 / 3) * max(1.0, float(np.abs(base).max()))
            plus, minus = dict(probe.inputs), dict(probe.inputs)
            plus[name], minus[name] = base + step * direction, base - step * direction
            try:
                numeric = (model(plus) - model(minus)) / (2 * step)
            except ValueError:
                return found  # a step left the domain (a probability past 1): no verdict
            along = 0.0 if got is None else float(np.sum(np.broadcast_to(np.asarray(got), base.shape) * direction))
            # central differences: truncation h^2 f''' and rounding u/h, both ~u^(2/3) at h = u^(1/3)
            limit = 1e3 * u ** (2 / 3) * (1 + abs(numeric) + abs(along))
            if abs(along - numeric) <= limit:
                continue
            if got is None:
                message = f"The value matches, but no gradient reaches {name!r} (detached or stop_gradient)."
            else:
                message = (f"The value matches, but d(loss)/d({name}) along a random direction is "
                           f"{along:.6g} where the value's own slope is {numeric:.6g} (a clamp, detach "
                           f"or custom gradient).")
            found.append(Finding("gradient", "error", message))
            break
    return found


#: random directions per input: a wrong gradient misses the slope along almost every direction
DIRECTIONS = 2
