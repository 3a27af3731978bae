"""The output equals the spec's value of the declared term, within the derived bound."""

from __future__ import annotations

from .. import reference, tolerance
from ._engine import SKIP, Failure, evaluate, search
from .registry import register

_TERM_CODE = {
    "kl": "kl-formula", "mc_kl": "kl-formula", "reconstruction": "recon-formula", "iwae": "iwae-formula",
}


def compare_with_spec(ctx, inputs, dtype):
    """(Evaluation, Comparison) for one evaluation, or None when it says nothing."""
    result = evaluate(ctx, inputs, dtype)
    if result is None:
        return None
    expected = result.expected
    return result, tolerance.compare(result.output, expected.value, expected.magnitude, dtype,
                                     expected.n_summands, ctx.adapter.elementary_ulps(dtype))


def departing_term(ctx, inputs, dtype) -> str:
    """For a loss that departs: the reconstruction, if the loss is wrong even with KL = 0."""
    target = ctx.target
    if target.term in _TERM_CODE:
        return _TERM_CODE[target.term]
    isolated = compare_with_spec(ctx, reference.zero_kl_inputs(target, inputs), dtype)
    if isolated is not None and not isolated[1].passed:
        return "recon-formula"
    return "kl-formula"


@register("value", "kl-formula")
def value(ctx):
    """The output equals the spec's value of the declared term on every case."""

    def prop(case):
        inputs = ctx.round(case)
        result = compare_with_spec(ctx, inputs, case.dtype)
        if result is None:
            return SKIP
        evaluation, comparison = result
        if comparison.passed:
            return None
        at = f" at index {comparison.index}" if comparison.index else ""
        return Failure(
            f"output differs from the spec{at} by {comparison.error:.6g}, above the bound "
            f"{comparison.bound:.3g} (margin {comparison.margin:.3g})",
            error=comparison.error, bound=comparison.bound, margin=comparison.margin,
            output=evaluation.output, expected=evaluation.expected.value,
            code=departing_term(ctx, inputs, case.dtype),
        )

    return search(ctx, "value", "kl-formula", prop)
