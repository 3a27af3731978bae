"""How a target's function is called: canonical inputs placed into the call as it is written.

``args`` is a *structure*: a canonical name (``"x_recon"``), a mapping of keys to structures
(passed as a dict) or a sequence of structures (passed as a tuple). At the top level a
sequence is the positional arguments and a mapping the keyword arguments, so

    args = ({"recon": "x_recon", "mu": "mu", "logvar": "logvar"}, "x")

calls ``fn({"recon": x_recon, "mu": mu, "logvar": logvar}, x)``. Fixed keyword arguments
(``kwargs={"beta": 1.0}``) are added to every call. A ``call`` hook ``call(fn, inputs)``
replaces all of this: ``inputs`` gives each canonical input as an attribute and an item.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping, Sequence


class ArgsError(ValueError):
    """An args structure or text that cannot describe a call."""


class Inputs(Mapping):
    """The canonical inputs of one call, as attributes (``a.mu``) and items (``a["mu"]``)."""

    def __init__(self, values: Mapping[str, object]):
        self._values = dict(values)

    def __getattr__(self, name):
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(
                f"no canonical input {name!r} in this call (args binds {', '.join(self._values)})"
            ) from None

    def __getitem__(self, name):
        return self._values[name]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)


def normalize(args, is_canonical: Callable[[str], bool]):
    """``args`` as a tuple (positional) or dict (keywords) of nested tuples, dicts and names.

    A comma-separated string is a tuple of names. Every leaf must satisfy ``is_canonical``
    and appear once; ArgsError says which does not.
    """
    if isinstance(args, str):
        args = parse_text(args)
    if isinstance(args, Mapping):
        normalized = {str(key): _node(value) for key, value in args.items()}
    elif isinstance(args, Sequence):
        normalized = tuple(_node(value) for value in args)
    else:
        raise ArgsError(f"expected a tuple of names or a mapping, got {args!r}")
    names = leaves(normalized)
    for name in names:
        if not is_canonical(name):
            raise ArgsError(f"unknown canonical name {name!r}")
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ArgsError(f"{', '.join(duplicated)} bound more than once")
    return normalized


def _node(value):
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return {str(key): _node(inner) for key, inner in value.items()}
    if isinstance(value, Sequence):
        return tuple(_node(inner) for inner in value)
    raise ArgsError(f"expected a canonical name, a mapping or a list, got {value!r}")


def leaves(structure) -> tuple[str, ...]:
    """The canonical names in ``structure``, in call order."""
    if isinstance(structure, str):
        return (structure,)
    values = structure.values() if isinstance(structure, Mapping) else structure
    return tuple(name for value in values for name in leaves(value))


def build(structure, values: Mapping[str, object]):
    """The argument ``structure`` describes, filled with ``values`` by canonical name."""
    if isinstance(structure, str):
        return values[structure]
    if isinstance(structure, Mapping):
        return {key: build(inner, values) for key, inner in structure.items()}
    return tuple(build(inner, values) for inner in structure)


def is_flat(args) -> bool:
    """True when every top-level entry is a single canonical name."""
    entries = args.values() if isinstance(args, Mapping) else args
    return all(isinstance(entry, str) for entry in entries)


def parse_text(text: str):
    """``--args`` text: "x_recon,x,mu,logvar", "recon_x=x_recon,x=x,..." or JSON ("[...]", "{...}")."""
    stripped = text.strip()
    if stripped[:1] in ("[", "{"):
        try:
            return json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ArgsError(f"not valid JSON: {exc}") from None
    parts = [part.strip() for part in stripped.split(",") if part.strip()]
    pairs = ["=" in part for part in parts]
    if not any(pairs):
        return tuple(parts)
    if not all(pairs):
        raise ArgsError("use all positional names or all user=canonical pairs")
    return dict(tuple(s.strip() for s in part.split("=", 1)) for part in parts)


def parse_kwargs_text(text: str) -> dict:
    """``--kwargs`` text: JSON ('{"beta": 4}') or "beta=4,free_bits=0.5" (numbers, true/false, strings)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ArgsError(f"not valid JSON: {exc}") from None
        return dict(value)
    out = {}
    for part in (p.strip() for p in stripped.split(",") if p.strip()):
        if "=" not in part:
            raise ArgsError(f"expected name=value pairs, got {part!r}")
        key, raw = (s.strip() for s in part.split("=", 1))
        try:
            out[key] = json.loads(raw)
        except json.JSONDecodeError:
            out[key] = raw
    return out


def expression(args, kwargs: Mapping | None = None, fn: str = "fn") -> str:
    """The call as Python source, with each canonical input as a variable of its name."""
    def source(structure):
        if isinstance(structure, str):
            return structure
        if isinstance(structure, Mapping):
            return "{" + ", ".join(f"{key!r}: {source(v)}" for key, v in structure.items()) + "}"
        inner = ", ".join(source(v) for v in structure)
        return f"({inner},)" if len(structure) == 1 else f"({inner})"

    if isinstance(args, Mapping):
        parts = [f"{key}={source(value)}" for key, value in args.items()]
    else:
        parts = [source(value) for value in args]
    parts += [f"{key}={value!r}" for key, value in (kwargs or {}).items()]
    return f"{fn}({', '.join(parts)})"


def readable_name(fn) -> str:
    """``module:qualname`` of a function, bound method or callable object; a partial names its
    function and its fixed arguments."""
    if isinstance(fn, functools.partial):
        fixed = [repr(a) for a in fn.args] + [f"{k}={v!r}" for k, v in fn.keywords.items()]
        return f"{readable_name(fn.func)}({', '.join(fixed)}, ...)" if fixed else readable_name(fn.func)
    qualname = getattr(fn, "__qualname__", None)
    if qualname is None:  # a callable object: its class names it
        kind = type(fn)
        return f"{kind.__module__}:{kind.__qualname__}()"
    return f"{getattr(fn, '__module__', None) or '?'}:{qualname}"
