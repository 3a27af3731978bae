"""The output equals the spec's value of the declared term, within the derived bound."""

from __future__ import annotations

from .. import reference
from ._engine import SKIP, Failure, Property, evaluate
from ._precision import ERROR, PRECISION, judge, precision_message
from .registry import register

_TERM_CODE = {
    "kl": "kl-formula", "mc_kl": "kl-formula", "reconstruction": "recon-formula", "iwae": "iwae-formula",
}


def compare_with_spec(ctx, inputs, dtype):
    """(Evaluation, verdict, Comparison) for one evaluation, or None when it says nothing.

    The verdict is pass, precision or error (:func:`vae_spec.checks._precision.judge`).
    """
    result = evaluate(ctx, inputs, dtype)
    if result is None:
        return None
    expected = result.expected

    def own_float64():
        if "float64" not in ctx.dtypes:
            return None
        own = evaluate(ctx, inputs, "float64")
        return None if own is None else own.output

    verdict, comparison = judge(ctx, dtype, result.output, expected.value, expected.magnitude,
                                expected.n_summands, own_float64)
    return result, verdict, comparison


def departing_term(ctx, inputs, dtype) -> str:
    """For a loss that departs: the reconstruction, if the loss is wrong even with KL = 0."""
    target = ctx.target
    if target.term in _TERM_CODE:
        return _TERM_CODE[target.term]
    isolated = compare_with_spec(ctx, reference.zero_kl_inputs(target, inputs), dtype)
    if isolated is not None and isolated[1] == ERROR:
        return "recon-formula"
    return "kl-formula"


def at_the_prior(ctx, inputs, dtype):
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
    isolate = ctx.target.computes.combined

    def prop(case):
        inputs = ctx.round(case)
        result = compare_with_spec(ctx, inputs, case.dtype)
        if result is None:
            return SKIP
        evaluation, verdict, comparison = result
        if verdict == ERROR:
            at = f" at index {comparison.index}" if comparison.index else ""
            return Failure.beyond(
                f"output differs from the spec{at} by {comparison.error:.6g}, above the bound "
                f"{comparison.bound:.3g} (margin {comparison.margin:.3g})",
                comparison, evaluation.output, evaluation.expected.value,
                code=departing_term(ctx, inputs, case.dtype),
            )
        isolated = compare_with_spec(ctx, at_the_prior(ctx, inputs, case.dtype), case.dtype) if isolate else None
        if isolated is not None and isolated[1] == ERROR:
            evaluation, _, comparison = isolated
        elif verdict == PRECISION:
            return _precision_failure(case.dtype, evaluation, comparison)
        elif isolated is not None and isolated[1] == PRECISION:
            return _precision_failure(case.dtype, isolated[0], isolated[2])
        else:
            return None
        return Failure.beyond(
            f"with q(z|x) set to the prior (KL = 0) the output differs from the spec by "
            f"{comparison.error:.6g}, above the bound {comparison.bound:.3g} (margin {comparison.margin:.3g})",
            comparison, evaluation.output, evaluation.expected.value, code="recon-formula",
        )

    return Property("value", "kl-formula", prop)


def _precision_failure(dtype, evaluation, comparison) -> Failure:
    return Failure.beyond(precision_message("the output", dtype, comparison), comparison, evaluation.output,
                          evaluation.expected.value, code="precision", severity="warning")
