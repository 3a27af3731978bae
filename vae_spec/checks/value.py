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


def _at_the_prior(ctx, inputs, dtype):
    """The case with q(z|x) set to the prior, rounded to ``dtype`` like every case."""
    zero = reference.zero_kl_inputs(ctx.target, inputs)
    return {name: ctx.adapter.round_to(values, dtype) for name, values in zero.items()}


@register("value", "kl-formula")
def value(ctx):
    """The output equals the spec's value of the declared term on every case.

    A loss is compared a second time with q(z|x) set to the prior, where the KL is 0: the bound
    kappa u M grows with the magnitude M of every summand, and a wide logvar (exp(30) ~ 1e13)
    gives the whole loss a float32 bound near 1e6, under which any reconstruction error of the
    same case would hide. With the KL at 0, M is the reconstruction's own.
    """
    isolate = ctx.target.term in ("loss", "elbo")

    def prop(case):
        inputs = ctx.round(case)
        result = compare_with_spec(ctx, inputs, case.dtype)
        if result is None:
            return SKIP
        evaluation, comparison = result
        if not comparison.passed:
            at = f" at index {comparison.index}" if comparison.index else ""
            return Failure(
                f"output differs from the spec{at} by {comparison.error:.6g}, above the bound "
                f"{comparison.bound:.3g} (margin {comparison.margin:.3g})",
                error=comparison.error, bound=comparison.bound, margin=comparison.margin,
                output=evaluation.output, expected=evaluation.expected.value,
                code=departing_term(ctx, inputs, case.dtype),
            )
        isolated = compare_with_spec(ctx, _at_the_prior(ctx, inputs, case.dtype), case.dtype) if isolate else None
        if isolated is None or isolated[1].passed:
            return None
        evaluation, comparison = isolated
        return Failure(
            f"with q(z|x) set to the prior (KL = 0) the output differs from the spec by "
            f"{comparison.error:.6g}, above the bound {comparison.bound:.3g} (margin {comparison.margin:.3g})",
            error=comparison.error, bound=comparison.bound, margin=comparison.margin,
            output=evaluation.output, expected=evaluation.expected.value, code="recon-formula",
        )

    return search(ctx, "value", "kl-formula", prop)
