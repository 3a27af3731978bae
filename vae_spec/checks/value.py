"""The output equals the spec's value of the declared term, within the derived bound."""

from __future__ import annotations

import numpy as np

from .. import reference, tolerance
from ._engine import SKIP, Failure, search
from .output import shape_ok
from .registry import register

_TERM_CODE = {
    "kl": "kl-formula", "mc_kl": "kl-formula", "reconstruction": "recon-formula", "iwae": "iwae-formula",
}


def compare_with_spec(ctx, inputs, dtype, batch):
    """(Call, Expected, Comparison) for one evaluation, or None when it says nothing."""
    call = ctx.call(inputs, dtype)
    if not call.ok or not shape_ok(ctx.target, call.output, batch):
        return None
    expected = ctx.expected(inputs)
    if not tolerance.representable(expected.value, dtype).all():
        return None
    output = call.output.reshape(expected.value.shape)
    if not np.isfinite(output).all():
        return None  # the finite check reports non-finite outputs
    comparison = tolerance.compare(output, expected.value, expected.magnitude, dtype, expected.n_summands)
    return call, expected, comparison


def departing_term(ctx, inputs, dtype, batch) -> str:
    """For a loss that departs: the reconstruction, if the loss is wrong even with KL = 0."""
    target = ctx.target
    if target.term in _TERM_CODE:
        return _TERM_CODE[target.term]
    isolated = compare_with_spec(ctx, reference.zero_kl_inputs(target, inputs), dtype, batch)
    if isolated is not None and not isolated[2].passed:
        return "recon-formula"
    return "kl-formula"


@register("value", "kl-formula")
def value(ctx):
    """The output equals the spec's value of the declared term on every case."""

    def prop(case):
        inputs = ctx.round(case)
        result = compare_with_spec(ctx, inputs, case.dtype, case.batch_size)
        if result is None:
            return SKIP
        call, expected, comparison = result
        if comparison.passed:
            return None
        at = f" at index {comparison.index}" if comparison.index else ""
        return Failure(
            f"output differs from the spec{at} by {comparison.error:.6g}, above the bound "
            f"{comparison.bound:.3g} (margin {comparison.margin:.3g})",
            error=comparison.error, bound=comparison.bound, margin=comparison.margin,
            output=call.output, expected=expected.value,
            code=departing_term(ctx, inputs, case.dtype, case.batch_size),
        )

    return search(ctx, "value", "kl-formula", prop)
