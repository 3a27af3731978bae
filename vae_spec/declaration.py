"""A target declared in text: the command line's options and a pyproject table, parsed.

The command line and the pytest plugin only translate their options into these calls; every
message names what to change (:class:`TargetError`). The pytest plugin imports this module
when it loads, so it imports the standard library only; numpy and the rest come with the calls
that need them.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from . import calls

if TYPE_CHECKING:
    from .target import Target


class TargetError(ValueError):
    """A target that cannot be checked as declared; the message says what to change."""


def parse_shape(text: str) -> tuple[int, ...]:
    """A trailing shape from "1,28,28"."""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise TargetError(f"expected comma-separated positive integers, got {text!r}")
    return tuple(int(part) for part in parts)


def parse_timeout(text: str) -> float | None:
    """Seconds per call from "60"; "0" means no limit (None)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise TargetError(f"expected a number of seconds (0 for no limit), got {text!r}")
    return seconds or None


def parse_dtypes(text: str) -> tuple[str, ...]:
    """Dtypes from "float32,float64"."""
    from .frameworks.base import DTYPES

    dtypes = tuple(part.strip() for part in text.split(",") if part.strip())
    if not dtypes or any(d not in DTYPES for d in dtypes):
        raise TargetError(f"expected comma-separated dtypes among {', '.join(DTYPES)}, got {text!r}")
    return dtypes


def parse_args_text(text: str):
    """``--args`` as the command line writes it: x_recon,x,mu,logvar, user=canonical pairs, or JSON."""
    return _parsed(calls.parse_text, text)


def parse_kwargs_text(text: str) -> dict:
    """``--kwargs`` as the command line writes it: beta=4,free_bits=0.5, or JSON."""
    return _parsed(calls.parse_kwargs_text, text)


def _parsed(parse, text):
    try:
        return parse(text)
    except calls.ArgsError as exc:
        raise TargetError(str(exc)) from None


def argparse_type(parse: Callable[[str], object]) -> Callable[[str], object]:
    """``parse`` as an argparse ``type=``: its TargetError becomes argparse's usage message."""
    import argparse

    def convert(text):
        try:
            return parse(text)
        except TargetError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return convert


def declared_target(spec: str, base: str | pathlib.Path | None = None, **keywords) -> Target:
    """The Target a declaration names: ``spec`` is ``module:attr`` or ``path/to/file.py:attr``
    (resolved from ``base``, the working directory by default); ``convention`` a Convention or
    a mapping of its fields; the other fields are Target's keywords."""
    from .spec.objective import Convention
    from .target import Target, load_callable

    convention = keywords.pop("convention", None) or Convention()
    if isinstance(convention, Mapping):
        convention = Convention(**convention)
    name = keywords.pop("name", None) or spec
    return Target(load_callable(spec, base), convention=convention, name=name, **keywords)


def require_likelihood(target: Target) -> Target:
    """``target``, or TargetError where its term has a reconstruction and no declared likelihood."""
    if target.uses_likelihood and target.likelihood is None:
        raise TargetError(f"likelihood: term {target.term!r} is checked against a declared likelihood; "
                          "declare one (bernoulli-probs, bernoulli-logits, gaussian, ...)")
    return target
