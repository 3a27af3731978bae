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
    sign = -1.0 if target.term == "elbo" else 1.0
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
    found = []
    for name in wrt:
        base = probe.inputs[name]
        numeric = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            step = (u ** (1 / 3)) * max(1.0, abs(base[index]))
            plus, minus = dict(probe.inputs), dict(probe.inputs)
            plus[name] = base.copy(); plus[name][index] += step
            minus[name] = base.copy(); minus[name][index] -= step
            try:
                numeric[index] = (model(plus) - model(minus)) / (2 * step)
            except ValueError:
                return found  # a step left the domain (a probability past 1): no verdict
        got = grads.get(name)
        # central differences: truncation h^2 f''' and rounding u/h, both ~u^(2/3) at h = u^(1/3)
        limit = 1e3 * u ** (2 / 3) * (1 + np.abs(numeric).max())
        if got is None:
            if np.abs(numeric).max() > limit:
                found.append(Finding("gradient", "error", (
                    f"The value matches, but no gradient reaches {name!r} (detached or stop_gradient).")))
            continue
        error = np.abs(np.asarray(got) - numeric).max()
        if error > limit:
            found.append(Finding("gradient", "error", (
                f"The value matches, but d(loss)/d({name}) is off by {error:.3g} "
                f"(a clamp, detach or custom gradient).")))
    return found
