"""The mutation corpus: buggy VAE losses the suite must catch, and correct ones it must pass.

Each :class:`Entry` names a function by ``module:function`` (so importing this module imports
no framework), the claim it is declared with (the keyword arguments of
:class:`~vae_spec.Target`, the convention as a dict), and, for a mutant, the finding codes
that name its bug: it is caught when a failing check's code is among them. The codes are the
specific ones wherever the departure has a name (``kl-scaled``, ``kl-param-logstd``, ...);
the generic ``kl-formula`` / ``recon-formula`` are expected only for a formula no rule names.
Where :func:`~vae_spec.diagnose` reads the term, it must name the departure with one of the
same codes. Correct variants must pass every check and, where the term is a loss, diagnose as
the ELBO.

The entries are declared where their losses are written (:mod:`~vae_spec.selftest.registry`):
once for every framework in :mod:`~vae_spec.selftest.mutants` and
:mod:`~vae_spec.selftest.correct`, and in ``mutants_<framework>.py`` where a bug needs one
framework's own API. Classes 1-20 are the issue's list; ``extra`` marks other common mistakes.
Two classes cannot exist in some frameworks, and :data:`NOT_APPLICABLE` says why.
"""

from __future__ import annotations

import importlib

from .registry import FRAMEWORKS, KINDS, REGISTRY, Entry

__all__ = ["ENTRIES", "FRAMEWORKS", "KINDS", "MODULES", "NOT_APPLICABLE", "Entry", "entries", "entry"]

#: the modules whose decorated losses are the corpus (importing them declares the entries)
MODULES = ("mutants", "mutants_numpy", "mutants_torch", "mutants_keras", "correct")
for _module in MODULES:
    importlib.import_module(f".{_module}", __package__)

#: (class, framework) pairs with no mutant, and why
NOT_APPLICABLE = {
    ("14", "numpy"): "numpy has no automatic differentiation: a detached input or a clamp's zero "
                     "gradient does not exist there (the gradient check is skipped for numpy)",
    ("16", "tensorflow"): "TensorFlow tensors are immutable: a loss cannot modify its inputs in place",
    ("16", "jax"): "jax arrays are immutable: a loss cannot modify its inputs in place",
    ("16", "keras"): "keras.ops has no in-place operations",
}

ENTRIES: tuple[Entry, ...] = tuple(REGISTRY)


def entries(kind: str | None = None, frameworks=None) -> list[Entry]:
    """The corpus entries of one kind (both when None), restricted to ``frameworks``."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind: expected one of {', '.join(KINDS)}, got {kind!r}")
    if frameworks is not None:
        unknown = [f for f in frameworks if f not in FRAMEWORKS]
        if unknown:
            raise ValueError(f"frameworks: unknown framework(s) {', '.join(unknown)}; expected any of "
                             f"{', '.join(FRAMEWORKS)}")
    return [e for e in ENTRIES
            if (kind is None or e.kind == kind) and (frameworks is None or e.framework in frameworks)]


def entry(kind: str, framework: str, name: str) -> Entry:
    """The one entry of ``kind`` named ``name`` in ``framework``."""
    for candidate in ENTRIES:
        if (candidate.kind, candidate.framework, candidate.name) == (kind, framework, name):
            return candidate
    raise KeyError(f"no {kind} {name!r} in {framework}")
