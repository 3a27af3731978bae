"""The corpus's entries, declared where their losses are defined: ``@mutant`` and ``@correct``.

A corpus loss is written once as ``fn(o, *inputs)`` against :class:`~vae_spec.selftest.ops.Ops`
and declared with the frameworks it runs in; each (framework, function) pair is one
:class:`Entry`. The claim is the keyword arguments of :class:`~vae_spec.Target`: ``args`` are
the function's parameters after ``o`` (canonical names: x_recon, x, mu, logvar, logstd, ...);
``term`` defaults to "loss" and a loss's ``likelihood`` to "bernoulli-probs"; ``convention``
is a dict of :class:`~vae_spec.Convention` fields. What an entry shows (``about``) is the first
line of the function's docstring. Importing this module imports no framework.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

FRAMEWORKS = ("numpy", "torch", "tensorflow", "jax", "keras")
CORE = ("numpy", "torch", "tensorflow")
#: the frameworks with automatic differentiation
AUTODIFF = ("torch", "tensorflow", "jax", "keras")
KINDS = ("mutant", "correct")

#: every declared entry, in declaration order
REGISTRY: list[Entry] = []


@dataclass(frozen=True)
class Entry:
    """One corpus function with its declared claim and, for a mutant, the codes that catch it."""

    name: str
    cls: str
    framework: str
    target: str
    kwargs: dict = field(hash=False, compare=False)
    expected_codes: tuple[str, ...] = ()
    kind: str = "mutant"
    about: str = ""

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.framework}-{self.name}"

    def load(self):
        """The :class:`~vae_spec.Target` this entry declares (imports its framework)."""
        from ..spec.objective import Convention
        from ..target import Target, load_callable
        from .ops import bind

        kwargs = dict(self.kwargs)
        kwargs["convention"] = Convention(**kwargs.get("convention", {}))
        fn = bind(load_callable(self.target), self.framework)
        return Target(fn, framework=self.framework, name=self.target, **kwargs)


def mutant(cls: str, *, codes, frameworks, **claim):
    """Declare a buggy loss of class ``cls`` in ``frameworks``: it is caught when a failing
    check's code is among ``codes`` (a tuple, or a dict framework -> tuple where they differ)."""

    def declare(fn):
        _register(fn, "mutant", cls, {
            framework: tuple(codes[framework] if isinstance(codes, dict) else codes) for framework in frameworks
        }, claim)
        return fn

    return declare


def correct(*, frameworks, **claim):
    """Declare a correct loss in ``frameworks``: every check passes it and it diagnoses as its claim."""

    def declare(fn):
        _register(fn, "correct", "correct", dict.fromkeys(frameworks, ()), claim)
        return fn

    return declare


def _register(fn, kind: str, cls: str, codes: dict[str, tuple[str, ...]], claim: dict) -> None:
    """Add one entry per framework (``codes``: framework -> expected codes), or none if any is wrong."""
    unknown = [framework for framework in codes if framework not in FRAMEWORKS]
    if unknown:
        raise ValueError(f"{fn.__name__}: unknown framework(s) {', '.join(unknown)}")
    target, args, about = f"{fn.__module__}:{fn.__qualname__}", _inputs(fn), _about(fn)
    new = [Entry(fn.__name__, cls, framework, target, _claim(args, **claim), expected, kind, about)
           for framework, expected in codes.items()]
    taken = {e.id for e in REGISTRY} & {e.id for e in new}
    if taken:
        raise ValueError(f"{', '.join(sorted(taken))}: declared twice")
    REGISTRY.extend(new)


def _inputs(fn) -> tuple[str, ...]:
    """The parameters after ``o``: the canonical names of the loss's inputs."""
    return tuple(inspect.signature(fn).parameters)[1:]


def _about(fn) -> str:
    return (fn.__doc__ or "").strip().split("\n")[0]


def _claim(args, term="loss", likelihood="bernoulli-probs", convention=None, **rest) -> dict:
    claim = {"term": term, "args": args, "convention": dict(convention or {})}
    if term != "kl":
        claim["likelihood"] = likelihood
    claim.update(rest)
    return claim
