"""The named checks: one function per property, registered with the finding code it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..target import DETERMINISTIC_TERMS


@dataclass(frozen=True)
class CheckSpec:
    """A registered check for the terms it knows; ``applies(target, adapter)`` gives None or why not."""

    name: str
    run: Callable
    code: str
    applies: Callable
    doc: str
    terms: tuple[str, ...]


CHECKS: dict[str, CheckSpec] = {}


def register(name: str, code: str, applies: Callable = lambda target, adapter: None,
             terms: tuple[str, ...] = DETERMINISTIC_TERMS):
    """Register ``fn(ctx) -> Property`` (or a CheckResult when it cannot run) under ``name``; the
    order of registration is the run order."""

    def applies_to(target, adapter):
        if target.term not in terms:
            return f"does not apply to term {target.term!r}"
        return applies(target, adapter)

    def decorate(fn):
        doc = (fn.__doc__ or "").strip().splitlines()[0]
        CHECKS[name] = CheckSpec(name, fn, code, applies_to, doc, tuple(terms))
        return fn

    return decorate
