"""The JSON documents vae-spec prints: their schema name, the shipped JSON Schema, error documents.

Every document carries ``"schema": "vae-spec/1"`` and a ``"kind"`` (check, diagnose, selftest,
error). Within vae-spec/1 fields are only added, never removed or changed in meaning
(docs/json.md). ``vae-spec-1.json`` beside this module is the JSON Schema (draft 2020-12) of
all four kinds; :func:`json_schema` returns it.
"""

from __future__ import annotations

import copy
import functools
import json
import math
from importlib import resources

SCHEMA = "vae-spec/1"
SCHEMA_FILE = "vae-spec-1.json"
KINDS = ("check", "diagnose", "selftest", "error")


def header(kind: str) -> dict:
    """The two fields that open every document: ``{"schema": "vae-spec/1", "kind": kind}``."""
    if kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    return {"schema": SCHEMA, "kind": kind}


def error_document(verb: str | None, error_type: str, message: str) -> dict:
    """The document ``--json`` prints for an error that ends the command (exit 2)."""
    return {**header("error"), "verb": verb, "error": {"type": error_type, "message": message}}


def dumps(document: dict) -> str:
    """``document`` as strict JSON, indented: NaN and infinities become "nan", "inf", "-inf"."""
    return json.dumps(_finite(document), indent=2, allow_nan=False)


def _finite(value):
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


@functools.cache
def _load() -> dict:
    text = resources.files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def json_schema() -> dict:
    """The JSON Schema (draft 2020-12) of every document vae-spec prints, as a fresh dict."""
    return copy.deepcopy(_load())
