"""The function leaves its inputs as it found them."""

from __future__ import annotations

from ._engine import SKIP, Failure, Property
from ..target import TERMS
from .registry import register


@register("no_mutation", "input-mutated", lambda target, adapter: adapter.immutable, terms=TERMS)
def no_mutation(ctx):
    """No input is modified in place (a loss that does logvar.exp_() corrupts the encoder output)."""

    def prop(case):
        call = ctx.call(ctx.round(case), case.dtype)
        if not call.ok:
            return SKIP
        if not call.mutated:
            return None
        return Failure(f"the call modified {', '.join(call.mutated)} in place")

    return Property("no_mutation", "input-mutated", prop, pinned=False)
