"""How the output behaves across the batch: scaling, permutation, consistency with single rows.

These relations need no spec value, only the declared batch reduction, so they catch a loss
whose terms are reduced differently over the batch (``batch-mismatch``) or that hard-codes a
batch size, whatever its formula. Their bounds add the derived bounds of every evaluation
involved (each evaluation's own error is within its bound, so their combination is within the
sum, scaled by the factors that combine them).
"""

from __future__ import annotations

import numpy as np
from ..strategies import Case
from ._engine import SKIP, Failure, Property, evaluate
from ._precision import rejudge_relation
from .registry import register


def _evaluate(ctx, inputs, dtype):
    result = evaluate(ctx, inputs, dtype)
    return None if result is None else (result.output, result.limit)


def _rows(inputs, index):
    return {name: value[index] for name, value in inputs.items()}


def _one_reduction(target, adapter):
    """The relations read one batch reduction; a claim that reduces its terms differently is
    verified by the value check at every batch size instead."""
    if target.convention.kl_batch is not None:
        return (f"the claim reduces the KL over the batch ({target.convention.kl_batch}) unlike the "
                f"reconstruction ({target.convention.batch}); the value check verifies it at every B")
    return None


@register("batch_scaling", "batch-mismatch", _one_reduction)
def batch_scaling(ctx):
    """One example repeated B times gives loss(1) under batch mean and B * loss(1) under sum."""
    how = ctx.target.convention.batch

    def prop(case: Case):
        inputs = ctx.round(case)
        return rejudge_relation(ctx, case.dtype, lambda dtype: relation(inputs, case.repeats, dtype))

    def relation(inputs, repeats, dtype):
        single = _evaluate(ctx, _rows(inputs, slice(0, 1)), dtype)
        many_inputs = _rows(inputs, np.zeros(repeats, dtype=int))
        many = _evaluate(ctx, many_inputs, dtype)
        if single is None or many is None:
            return SKIP
        (one, one_limit), (out, out_limit) = single, many
        factor = {"mean": 1.0, "sum": float(repeats), "none": 1.0}[how]
        predicted = factor * one if how != "none" else np.repeat(one, repeats)
        limit = out_limit + factor * one_limit
        error = np.max(np.abs(out - predicted))
        if error <= np.max(limit):
            return None
        observed = float(np.ravel(out)[0] / np.ravel(one)[0]) if np.ravel(one)[0] != 0 else float("nan")
        return Failure(
            f"the same example repeated {repeats} times gives {np.ravel(out)[0]:.6g}, expected "
            f"{np.ravel(predicted)[0]:.6g} under batch={how!r} (ratio to one example: {observed:.4g})",
            error=float(error), bound=float(np.max(limit)), margin=float(error / np.max(limit)),
            output=out, expected=predicted,
        )

    return Property("batch_scaling", "batch-mismatch", prop, pinned=False)


@register("batch_permutation", "batch-mismatch")
def batch_permutation(ctx):
    """Permuting the batch leaves a mean or sum unchanged and permutes a per-example output."""
    how = "none" if ctx.target.convention.per_example_output else ctx.target.convention.batch

    def prop(case: Case):
        if case.order is None:
            return SKIP  # one example has one order
        inputs, order = ctx.round(case), np.asarray(case.order)
        return rejudge_relation(ctx, case.dtype, lambda dtype: relation(inputs, order, dtype))

    def relation(inputs, order, dtype):
        base = _evaluate(ctx, inputs, dtype)
        permuted = _evaluate(ctx, _rows(inputs, order), dtype)
        if base is None or permuted is None:
            return SKIP
        (out, out_limit), (out_p, _) = base, permuted
        predicted = out[order] if how == "none" else out
        limit = 2 * out_limit
        error = np.max(np.abs(out_p - predicted))
        if error <= np.max(limit):
            return None
        return Failure(
            f"reordering the batch as {order.tolist()} changed the output from "
            f"{np.ravel(predicted)[0]:.6g} to {np.ravel(out_p)[0]:.6g}",
            error=float(error), bound=float(np.max(limit)), margin=float(error / np.max(limit)),
            output=out_p, expected=predicted,
        )

    return Property("batch_permutation", "batch-mismatch", prop, pinned=False)


@register("batch_consistency", "batch-mismatch", _one_reduction)
def batch_consistency(ctx):
    """The batch output is the declared reduction (mean, sum, none) of one-example outputs."""
    how = ctx.target.convention.batch

    def prop(case: Case):
        inputs = ctx.round(case)
        return rejudge_relation(ctx, case.dtype, lambda dtype: relation(inputs, case.batch_size, dtype))

    def relation(inputs, batch_size, dtype):
        whole = _evaluate(ctx, inputs, dtype)
        singles = [_evaluate(ctx, _rows(inputs, slice(b, b + 1)), dtype) for b in range(batch_size)]
        if whole is None or any(s is None for s in singles):
            return SKIP
        out, out_limit = whole
        values = np.array([np.ravel(s[0])[0] for s in singles])
        predicted = {"mean": values.mean(), "sum": values.sum(), "none": values}[how]
        single_limits = np.array([np.ravel(s[1])[0] for s in singles])
        weight = 1.0 / batch_size if how == "mean" else 1.0
        limit = np.max(out_limit) + weight * (
            single_limits.sum() if how != "none" else np.max(single_limits)
        )
        error = np.max(np.abs(out - predicted))
        if error <= limit:
            return None
        return Failure(
            f"the batch of {batch_size} gives {np.ravel(out)[0]:.6g}, but the {how} of its "
            f"examples computed one at a time is {np.ravel(predicted)[0]:.6g}",
            error=float(error), bound=float(limit), margin=float(error / limit),
            output=out, expected=predicted,
        )

    return Property("batch_consistency", "batch-mismatch", prop)
