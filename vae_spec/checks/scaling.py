"""How the output grows with the latent and data sizes: sums double, means stay.

Duplicating every latent column (mu, scale, z, prior along the first latent axis) doubles
each example's KL under a latent sum and leaves it under a latent mean; duplicating the data
columns does the same to the reconstruction. For a loss L = R + K (reconstruction plus KL,
each scaled and batch-reduced linearly), with L0 the loss at q = p (K = 0 exactly):

    latent sum:  L(dup latent) - 2 L + L0 = 0        latent mean: L(dup latent) - L = 0
    data sum:    L(dup data)   - L - L0 = 0          data mean:   L(dup data)   - L = 0

The observed growth ratio r = (L(dup) - L) / (growth under a sum) tells a sum (r = 1) from
a mean (r = 0). The bound is the sum of the three evaluations' derived bounds, each weighted
by its coefficient in the relation.
"""

from __future__ import annotations

import numpy as np

from .. import reference
from ..report import CheckResult
from ._engine import SKIP, Failure, Property, evaluate
from ._precision import ERROR, rejudge_relation
from .value import at_the_prior, compare_with_spec
from .registry import register

_LATENT_INPUTS = ("mu", "logvar", "logstd", "std", "var", "z", "eps", "prior_mu", "prior_logvar")
_DATA_INPUTS = ("x", "x_recon", "dec_logvar", "dec_logscale")


def _duplicate(inputs, names):
    return {k: (np.concatenate([v, v], axis=1) if k in names else v) for k, v in inputs.items()}


def _evaluate(ctx, inputs, dtype):
    result = evaluate(ctx, inputs, dtype)
    return None if result is None else (result.output, result.limit)


def _scaling_check(ctx, name, axis_inputs, declared, part, mean_code, zero_kl_is_growth):
    """Shared body: ``zero_kl_is_growth`` says whether L0 (data) or L - L0 (latent) is the growth."""
    axes = ctx.layout.latent if part == "latent" else ctx.layout.data
    if not axes.free:
        return CheckResult(name, "skip", f"the function takes only the {part} shape {axes.shape} "
                           f"({axes.source}), so its {part} size cannot vary")
    alone = not ctx.target.computes.combined

    def prop(case):
        inputs = ctx.round(case)
        failure = rejudge_relation(ctx, case.dtype, lambda dtype: relation(inputs, dtype))
        if isinstance(failure, Failure) and failure.severity == "error" and axes.source == "declared":
            return _beyond_the_declared_size(ctx, inputs, case.dtype, failure, part, axes)
        return failure

    def relation(inputs, dtype):
        base = _evaluate(ctx, inputs, dtype)
        doubled = _evaluate(ctx, _duplicate(inputs, axis_inputs), dtype)
        if base is None or doubled is None:
            return SKIP
        (out, limit), (out_dup, limit_dup) = base, doubled
        if alone:
            growth, limit_growth = out, limit
        else:
            zeroed = _evaluate(ctx, reference.zero_kl_inputs(ctx.target, inputs), dtype)
            if zeroed is None:
                return SKIP
            out_zero, limit_zero = zeroed
            growth = out_zero if zero_kl_is_growth else out - out_zero
            limit_growth = limit_zero if zero_kl_is_growth else limit + limit_zero
        predicted = out + (growth if declared == "sum" else 0.0)
        error = np.max(np.abs(out_dup - predicted))
        bound = np.max(limit_dup + limit + (limit_growth if declared == "sum" else 0.0))
        if error <= bound:
            return None
        if np.max(np.abs(growth)) <= np.max(limit_growth):
            return SKIP  # the term is too small here to tell a sum from a mean
        at = int(np.argmax(np.abs(np.ravel(growth))))  # divide there only: other entries may be 0/0
        ratio = float(np.ravel(out_dup - out)[at] / np.ravel(growth)[at])
        looks_like_mean = abs(ratio) < 0.25
        message = (
            f"doubling the {part} size multiplied the {'KL' if part == 'latent' else 'reconstruction'} "
            f"by {1 + ratio:.4g}: expected {2 if declared == 'sum' else 1} under "
            f"{'latent' if part == 'latent' else 'data'}={declared!r}"
            + (" (it behaves as a mean)" if looks_like_mean and declared == "sum" else "")
        )
        code = mean_code if looks_like_mean and declared == "sum" else (
            "kl-formula" if part == "latent" else "recon-formula"
        )
        return Failure(message, error=float(error), bound=float(bound), margin=float(error / bound),
                       output=out_dup, expected=predicted, code=code)

    return Property(name, mean_code, prop, pinned=False)


def _beyond_the_declared_size(ctx, inputs, dtype, failure, part, axes):
    """A declared size where the loss is right but grows wrongly with the size: a warning.

    ``mse(x, m) * 784`` equals the summed squared error at the declared (784,) and behaves as a
    mean when D changes: a constant stands in for the size. At the declared shape the claim
    holds (the value check says so), so the departure is a warning about other sizes.
    """
    # the reconstruction is judged with the KL at 0, so a wrong KL does not hide a right one
    isolated = at_the_prior(ctx, inputs, dtype) if part == "data" and "mu" in inputs else inputs
    at_declared = compare_with_spec(ctx, isolated, dtype)
    if at_declared is None or at_declared[1] == ERROR:
        return failure
    failure.severity = "warning"
    failure.message += (f"; the output is right at the declared {part} shape {axes.shape}, so a "
                        f"constant stands in for the {part} size: it holds at that size only")
    return failure


def _latent_applies(target, adapter):
    if target.computes.kl is None:
        return f"term {target.term!r} has no KL"
    return None


def _data_applies(target, adapter):
    if not target.computes.reconstruction:
        return f"term {target.term!r} has no reconstruction"
    return None


@register("latent_scaling", "kl-latent-mean", _latent_applies)
def latent_scaling(ctx):
    """Duplicated latent columns double the KL under a latent sum and leave it under a mean."""
    return _scaling_check(ctx, "latent_scaling", _LATENT_INPUTS, ctx.target.convention.latent,
                          "latent", "kl-latent-mean", zero_kl_is_growth=False)


@register("data_scaling", "recon-data-mean", _data_applies)
def data_scaling(ctx):
    """Duplicated data columns double the reconstruction under a data sum and leave it under a mean."""
    return _scaling_check(ctx, "data_scaling", _DATA_INPUTS, ctx.target.convention.data,
                          "data", "recon-data-mean", zero_kl_is_growth=True)
