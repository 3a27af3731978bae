"""The named checks: one function per property, registered with the finding code it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CheckSpec:
    """A registered check: ``applies(target, adapter)`` gives None or the reason to skip."""

    name: str
    run: Callable
    code: str
    applies: Callable
    doc: str


CHECKS: dict[str, CheckSpec] = {}


def register(name: str, code: str, applies: Callable = lambda target, adapter: None):
    """Register ``fn(ctx) -> CheckResult`` under ``name``; the order of registration is the run order."""

    def decorate(fn):
        CHECKS[name] = CheckSpec(name, fn, code, applies, (fn.__doc__ or "").strip().splitlines()[0])
        return fn

    return decorate
