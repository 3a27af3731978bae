"""Gradients with respect to every differentiable input equal the spec's analytic gradients.

The bound per element is kappa u G, with G the magnitude of the analytic derivative's summands
(:func:`vae_spec.reference_gradient.expected_grad`), by the same derivation as the value bound: autodiff
evaluates the derivative's summands with the same elementary functions and a handful of
operations each. Where the output has a kink (a Laplace decoder at x = m) every subgradient
is right, and the check accepts any (:func:`vae_spec.reference_gradient.subgradient_radius`). It
catches a detached or stop-gradient input (no gradient at all) and a clamp that zeroes the
gradient inside the typical range; a gradient that is NaN or infinite where the spec's is finite
(an intermediate that overflows or underflows, such as a product of exp terms in float16) is a
``nonfinite`` finding. A low-precision gradient that misses the bound is judged
against the function's own float64 gradient (:mod:`vae_spec.checks._precision`): an excess at
low precision only is a ``precision`` warning, not a ``gradient`` error.
"""

from __future__ import annotations

import numpy as np

from .. import reference, reference_gradient, tolerance
from ._engine import SKIP, Failure, Property, shape_ok
from ._precision import ERROR, PASS, PRECISION, judge, precision_message
from .registry import register


def _applies(target, adapter):
    if target.computes.samples:
        return "the IWAE bound's gradient has no analytic reference here; its value is checked"
    if not adapter.supports_grad:
        return f"{adapter.name} has no automatic differentiation"
    if not differentiable(target):
        return "no differentiable input"
    return None


def differentiable(target) -> tuple[str, ...]:
    """The inputs a gradient is taken with respect to."""
    return tuple(n for n in target.canonical_args if n in reference.DIFFERENTIABLE)


@register("gradient", "gradient", _applies)
def gradient(ctx):
    """d(output)/d(input) matches the spec for mu, the scale, the decoder output and the rest."""
    wrt = differentiable(ctx.target)
    return Property("gradient", "gradient", lambda case: compare_gradients(ctx, ctx.round(case), case.dtype, wrt))


def compare_gradients(ctx, inputs, dtype, wrt):
    """None when every gradient in ``wrt`` is within its derived bound of the spec's at
    ``inputs``, else the Failure of the worst one (SKIP where the value says nothing)."""
    call, grads = ctx.value_and_grad(inputs, dtype, wrt)
    batch = next(iter(inputs.values())).shape[0]
    if not call.ok or not shape_ok(ctx.target, call.output, batch) or not np.isfinite(call.output).all():
        return SKIP
    expected_value = ctx.expected(inputs)
    if not tolerance.representable(expected_value.value, dtype).all():
        return SKIP
    expected = reference_gradient.expected_grad(ctx.target, inputs)
    kinks = reference_gradient.subgradient_radius(ctx.target, inputs)
    own = _OwnFloat64(ctx, inputs, dtype, wrt)
    worst = None
    for name in wrt:
        if name not in expected:
            continue
        want, magnitude = expected[name]
        got = grads.get(name)
        if got is None:
            if np.any(want != 0):
                return Failure(f"no gradient reaches {name!r} (detached or stop_gradient?); "
                               f"the spec's gradient is nonzero", expected=want)
            continue
        got = np.broadcast_to(got, want.shape)
        if not tolerance.representable(want, dtype).all():
            continue
        overflowed = ~np.isfinite(got)
        if overflowed.any():  # the value's intermediates overflow or underflow on the way back
            index = tuple(int(i) for i in np.argwhere(overflowed)[0])
            return Failure(f"d(output)/d({name}){list(index)} is {got[index]} where the spec's gradient "
                           f"is {want[index]:.6g}: an intermediate overflows in {dtype}",
                           output=got, expected=want, code="nonfinite")
        radius = kinks.get(name)
        # at a kink any derivative within the radius is right: compare the nearest one
        nearest = got if radius is None else got - np.clip(got - want, -radius, radius)
        verdict, comparison = judge(ctx, dtype, nearest, want, magnitude,
                                    expected_value.n_summands, lambda: own.grad(name, want, radius))
        rank = (verdict == ERROR, verdict == PRECISION, comparison.margin)
        if worst is None or rank > worst[0]:
            worst = (rank, name, verdict, comparison, got, want)
    if worst is None or worst[2] == PASS:
        return None
    _, name, verdict, comparison, got, want = worst
    index = comparison.index or ()
    if verdict == PRECISION:
        return Failure.beyond(precision_message(f"d(output)/d({name})", dtype, comparison), comparison,
                              got, want, code="precision", severity="warning")
    return Failure.beyond(
        f"d(output)/d({name}){list(index)} is {got[index]:.6g}, the spec gives "
        f"{want[index]:.6g} (error {comparison.error:.3g}, bound {comparison.bound:.3g})",
        comparison, got, want,
    )


class _OwnFloat64:
    """The target's own float64 gradients on a case's inputs, computed once when first asked."""

    def __init__(self, ctx, inputs, dtype, wrt):
        self.ctx, self.inputs, self.wrt = ctx, inputs, wrt
        self.available = dtype != "float64" and "float64" in ctx.dtypes
        self.grads = None

    def grad(self, name, want, radius):
        if not self.available:
            return None
        if self.grads is None:
            call, self.grads = self.ctx.value_and_grad(self.inputs, "float64", self.wrt)
            if not call.ok:
                self.available = False
                return None
        got = self.grads.get(name)
        if got is None:
            return None
        got = np.broadcast_to(got, want.shape)
        return got if radius is None else got - np.clip(got - want, -radius, radius)
