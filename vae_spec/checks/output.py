"""What comes back: an array of the framework, of the declared shape and dtype, finite."""

from __future__ import annotations

import numpy as np

from .. import tolerance
from ..engine.call import CallTimeout
from ..frameworks.base import AdapterTypeError
from ._engine import SKIP, Failure, Property, expected_shape, shape_ok
from ..target import DETERMINISTIC_TERMS, TERMS
from .registry import register

_LOSS_LIKE = DETERMINISTIC_TERMS + ("stochastic_loss",)

_PRECISION = {"bfloat16": 8, "float16": 11, "float32": 24, "float64": 53}


@register("returns_array", "raised", terms=TERMS)
def returns_array(ctx):
    """The function runs and returns an array of its framework (not a list, float or other framework's tensor)."""

    def prop(case):
        call = ctx.call(ctx.round(case), case.dtype)
        if call.ok:
            return None
        if isinstance(call.error, AdapterTypeError):
            return Failure(f"returned {call.error}", code="output-type")
        if isinstance(call.error, CallTimeout):
            return Failure(str(call.error), code="timeout")
        return Failure(f"raised {type(call.error).__name__}: {call.error}", code="raised")

    return Property("returns_array", "raised", prop)


@register("shape", "shape", terms=_LOSS_LIKE)
def shape(ctx):
    """The output is a scalar under batch mean or sum, and (B,) under batch "none"."""

    def prop(case):
        call = ctx.call(ctx.round(case), case.dtype)
        if not call.ok:
            return SKIP
        if shape_ok(ctx.target, call.output, case.batch_size):
            return None
        want = expected_shape(ctx.target, case.batch_size)
        return Failure(
            f"output shape {call.output.shape}, expected {want} for batch={ctx.target.convention.batch!r} "
            f"with B={case.batch_size}",
            output=call.output,
        )

    return Property("shape", "shape", prop)


@register("dtype", "dtype", terms=TERMS)
def dtype(ctx):
    """The output keeps the input dtype (an upcast of 16-bit inputs to float32 is accepted)."""

    def prop(case):
        call = ctx.call(ctx.round(case), case.dtype)
        if not call.ok:
            return SKIP
        if call.dtype == case.dtype:
            return None
        if case.dtype in ("float16", "bfloat16") and call.dtype == "float32":
            return None
        if call.dtype in _PRECISION and _PRECISION[call.dtype] < _PRECISION[case.dtype]:
            what = "loses precision"
        elif call.dtype in _PRECISION:
            what = "is promoted (slower, and it breaks mixed-precision training)"
        else:
            what = "is not floating point"
        return Failure(f"{case.dtype} inputs give a {call.dtype} output: the output {what}",
                       severity="warning")

    return Property("dtype", "dtype", prop)


@register("finite", "nonfinite", terms=_LOSS_LIKE)
def finite(ctx):
    """The output is finite wherever the spec's value is finite and representable in the dtype."""

    def prop(case):
        inputs = ctx.round(case)
        call = ctx.call(inputs, case.dtype)
        if not call.ok or not shape_ok(ctx.target, call.output, case.batch_size):
            return SKIP
        expected = ctx.expected(inputs).value
        representable = tolerance.representable(expected, case.dtype)
        bad = representable & ~np.isfinite(call.output.reshape(expected.shape))
        if not bad.any():
            return None
        severity = "error" if case.regime in ("typical", "example") else "warning"
        return Failure(
            f"output is {call.output.reshape(-1)[np.argmax(bad.reshape(-1))]} where the spec gives "
            f"{expected.reshape(-1)[np.argmax(bad.reshape(-1))]:.6g} ({case.regime} inputs, {case.dtype})",
            output=call.output, expected=expected, severity=severity,
        )

    return Property("finite", "nonfinite", prop)
