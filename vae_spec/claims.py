"""Claim: what a loss computes, as the keyword arguments of Target and Convention.

:func:`~vae_spec.diagnose` infers a claim; :func:`~vae_spec.check` verifies one. A claim is
printed three ways, each of which declares the same target: a ``vae-spec check`` command line,
a ``[[tool.vae_spec.targets]]`` block for pyproject.toml, and a ``Target(...)`` expression.
``not_elbo`` lists the departures from the ELBO the claim itself states (a KL averaged over
latent dimensions, say): such a claim passes ``check`` and still is not an ELBO.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from .spec.objective import Convention

_DEFAULT = Convention()


@dataclass(frozen=True)
class Claim:
    """A declaration under which a loss conforms: Target's keyword arguments besides ``fn``."""

    framework: str
    term: str
    args: tuple[str, ...] | Mapping[str, str]
    likelihood: str | None
    posterior: str | None
    convention: Convention = _DEFAULT
    data_shape: tuple[int, ...] | None = None
    latent_shape: tuple[int, ...] | None = None
    dtypes: tuple[str, ...] | None = None
    kwargs: Mapping[str, object] | None = None
    call: object | None = field(default=None, compare=False)  # the target's call= hook, if any
    not_elbo: tuple[str, ...] = field(default=(), compare=False)

    def target_kwargs(self) -> dict:
        """The keyword arguments of :class:`~vae_spec.Target` (``fn`` and ``name`` aside)."""
        kwargs = {"framework": self.framework, "term": self.term, "args": self.args,
                  "likelihood": self.likelihood, "posterior": self.posterior,
                  "convention": self.convention, "data_shape": self.data_shape,
                  "latent_shape": self.latent_shape, "dtypes": self.dtypes,
                  "kwargs": self.kwargs, "call": self.call}
        return {k: v for k, v in kwargs.items() if v is not None}

    def as_dict(self) -> dict:
        """JSON: Target's keys, the convention as Convention's keys, and ``not_elbo``."""
        args = dict(self.args) if isinstance(self.args, Mapping) else list(self.args)
        return {
            "framework": self.framework, "term": self.term, "args": args,
            "likelihood": self.likelihood, "posterior": self.posterior,
            "convention": self.convention.as_dict(),
            "data_shape": list(self.data_shape) if self.data_shape else None,
            "latent_shape": list(self.latent_shape) if self.latent_shape else None,
            "dtypes": list(self.dtypes) if self.dtypes else None,
            "kwargs": dict(self.kwargs) if self.kwargs else None,
            "not_elbo": list(self.not_elbo),
        }

    def words(self) -> str:
        """The claim in one line: likelihood, posterior, and each convention field off its default."""
        parts = [f"likelihood={self.likelihood}"] if self.likelihood else []
        parts.append(f"posterior={self.posterior}")
        parts += [f"{k}={v!r}" if isinstance(v, str) else f"{k}={v:g}" if not isinstance(v, bool) else
                  ("constants kept" if v else "constants dropped") for k, v in _changed(self.convention).items()]
        return ", ".join(parts)

    # -- the three printed forms ------------------------------------------------------------
    def declared(self) -> list[tuple[str, object]]:
        """Target's keywords that differ from their defaults, in declaration order (the
        convention as its changed fields)."""
        fields = [("framework", self.framework)]
        if self.term != "loss":
            fields.append(("term", self.term))
        fields.append(("args", self.args))
        if self.kwargs:
            fields.append(("kwargs", dict(self.kwargs)))
        if self.likelihood:
            fields.append(("likelihood", self.likelihood))
        if _changed(self.convention):
            fields.append(("convention", _changed(self.convention)))
        fields += [(key, tuple(getattr(self, key))) for key in ("data_shape", "latent_shape", "dtypes")
                   if getattr(self, key)]
        return fields

    def command_line(self, target: str) -> str | None:
        """``vae-spec check TARGET ...`` with every option that differs from its default
        (None for a target called through a ``call=`` hook, which only Python can state)."""
        if self.call is not None:
            return None
        parts = ["vae-spec check", _shell_word(target)]
        for key, value in self.declared():
            if key == "convention":
                parts += ["--no-constants" if k == "constants" else f"--{_option(k)} {_number(v)}"
                          for k, v in value.items()]
            elif key == "args":
                parts.append(f"--args {_args_option(value)}")
            elif key == "kwargs":
                parts.append(f"--kwargs {_shell_word(json.dumps(value))}")
            elif isinstance(value, tuple):
                parts.append(f"--{_option(key)} {','.join(map(str, value))}")
            else:
                parts.append(f"--{_option(key)} {value}")
        return " ".join(parts)

    def pyproject_block(self, target: str) -> str | None:
        """A ``[[tool.vae_spec.targets]]`` table that the pytest plugin collects (None for a
        ``call=`` hook)."""
        if self.call is not None:
            return None
        lines = ["[[tool.vae_spec.targets]]", f"target = {_toml(target)}"]
        lines += [f"{key} = {_toml(value)}" for key, value in self.declared()]
        return "\n".join(lines)

    def python_expression(self, fn: str = "fn") -> str:
        """``Target(fn, ...)`` with every keyword that differs from its default."""
        parts = [fn]
        for key, value in self.declared():
            if key == "convention":
                value = "Convention(" + ", ".join(f"{k}={v!r}" for k, v in value.items()) + ")"
                parts.append(f"convention={value}")
            else:
                parts.append(f"{key}={value!r}")
        if self.call is not None:
            parts.append("call=call")
        return "Target(" + ", ".join(parts) + ")"


def not_elbo_codes(convention: Convention) -> tuple[str, ...]:
    """The departures from the ELBO a convention states: a data or latent mean, a beta."""
    codes = []
    if convention.data == "mean":
        codes.append("recon-data-mean")
    if convention.latent == "mean":
        codes.append("kl-latent-mean")
    if convention.kl_batch is not None:
        codes.append("batch-mismatch")
    if convention.beta != 1.0:
        codes.append("kl-missing-half" if convention.beta == 2.0 else "kl-scaled")
    return tuple(codes)


def _changed(convention: Convention) -> dict:
    return {k: v for k, v in convention.as_dict().items() if v != getattr(_DEFAULT, k)}


def _option(key: str) -> str:
    return key.replace("_", "-")


def _number(value) -> str:
    """A number or word as a command line and TOML write it (floats by their shortest repr)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return _number(value)


def _args_option(args) -> str:
    entries = args.values() if isinstance(args, Mapping) else args
    if not all(isinstance(entry, str) for entry in entries):  # a nested call: JSON
        return _shell_word(json.dumps(args))
    if isinstance(args, Mapping):
        return ",".join(f"{user}={name}" for user, name in args.items())
    return ",".join(args)


def _shell_word(word: str) -> str:
    safe = all(c.isalnum() or c in "._-/:+@" for c in word)
    return word if safe else "'" + word.replace("'", "'\\''") + "'"
