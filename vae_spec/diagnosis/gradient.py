"""Value right, gradient wrong: the gradient check, run on the probes under the inferred claim.

Once the value conforms to a claim, the claim's analytic gradient is known
(:func:`vae_spec.reference_gradient.expected_grad`) and the gradient check's derived bound applies
(:func:`vae_spec.checks.gradient.compare_gradients`): diagnose judges autodiff exactly as
``check`` would with that claim declared. A loss with no claim (rows that no form reads as
returned) has no gradient verdict; its value departs anyway.
"""

from __future__ import annotations

from ..checks._engine import Context, Failure
from ..checks.gradient import _applies, compare_gradients, differentiable
from ..target import Target
from .rules import Finding

#: the smallest probes the gradient is compared on: a wrong gradient misses on almost every input
PROBES = 2


def gradient_findings(target, adapter, obs, claim, layout) -> list[Finding]:
    """A ``gradient`` finding where autodiff departs from ``claim``'s analytic gradient."""
    if claim is None or not obs.probes:
        return []
    claimed = Target(target.fn, name=target.name, device=target.device, **claim.target_kwargs())
    if _applies(claimed, adapter) is not None:
        return []
    ctx = Context(claimed, adapter, (obs.dtype,), layout=layout)
    wrt = differentiable(claimed)
    smallest = sorted(obs.probes, key=lambda p: sum(v.size for v in p.inputs.values()))[:PROBES]
    for probe in smallest:
        inputs = dict(probe.inputs)
        if claimed.posterior != target.posterior and target.posterior in inputs:  # the claim renames it
            inputs[claimed.posterior] = inputs.pop(target.posterior)
        call, _ = ctx.value_and_grad(inputs, obs.dtype, wrt)
        if call.error is not None:  # the value ran on this probe: differentiating it failed
            return [Finding("gradient", "error", f"The value matches, but differentiating it raised "
                                                 f"{type(call.error).__name__}: {call.error}")]
        result = compare_gradients(ctx, inputs, obs.dtype, wrt)
        if isinstance(result, Failure) and result.severity == "error":
            return [Finding(result.code or "gradient", "error", f"The value matches, but {result.message}.")]
    return []
