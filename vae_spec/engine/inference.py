"""Find the shapes and dtypes a function takes by calling it, before any check runs.

A target that declares no shape gets the rank its function runs at: latent (B, d) first, and
a convolutional latent only if (B, d) runs with no data rank; data ranks in the order of
:func:`~vae_spec.engine.layout.data_families`, then the sizes public code hard-codes. A rank
is taken when two probes with different sizes (and batch sizes) both run, so the search may
draw any size of it; failing that, the first rank where one of them runs (the checks then
report what raises). A declared shape fixes the rank; it is *free* (the scaling checks may
double it) when the function also runs at a size no reshape to the declared one accepts.

Then each dtype is probed at the layout found: a dtype in which every probe raises, while
another runs, is reported (``dtype-unsupported``) and left out of the checks. A function that
runs at no shape and no dtype tried gets no verdict: :class:`~vae_spec.target.TargetError`
says what was tried, the first exception and what to declare. A function that runs past its
time limit stops the probing: the first layout tried is taken, and the checks report the
``timeout``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..frameworks.base import AdapterTypeError
from ..probes import probe_values
from ..strategies import input_shape
from ..target import TargetError
from .layout import (
    COMMON_DATA_SHAPES, LATENT_FAMILIES, LATENT_VECTOR, DATA_VECTOR, Axes, Layout, data_families,
)

#: (B, size parameter) of the two probes that must both run for a rank to be taken; the
#: batch sizes and sizes differ so that a function hard-coding either is not taken as free
_PROBE_SIZES = ((2, 3), (3, 5))


@dataclass
class _Attempt:
    """A (latent, data) candidate tried, and how its probes went."""

    latent: Axes
    data: Axes
    error: BaseException | None = None
    inputs: dict | None = None


def _candidates(target, adapter):
    """(latent axes, data axes) pairs in the order they are tried."""
    if target.latent_shape is not None or not target.latent_args:
        latents = [Axes(target.latent_shape or LATENT_VECTOR.centre,
                        "declared" if target.latent_shape else "inferred",
                        None if target.latent_shape else LATENT_VECTOR)]
    else:
        latents = [Axes(f.centre, "inferred", f) for f in LATENT_FAMILIES]
    if target.data_shape is not None or not target.data_args:
        datas = [Axes(target.data_shape or DATA_VECTOR.centre,
                      "declared" if target.data_shape else "inferred",
                      None if target.data_shape else DATA_VECTOR)]
    else:
        datas = [Axes(f.centre, "inferred", f) for f in data_families(adapter.name)]
        datas += [Axes(shape, "inferred", None, free=False) for shape in COMMON_DATA_SHAPES]
    return [(latent, data) for latent in latents for data in datas]


def _inputs(target, batch, latent, data, seed):
    rng = np.random.default_rng(seed)
    samples = 2 if target.computes.samples else None
    return {name: probe_values(name, input_shape(name, batch, latent, data, samples), rng)
            for name in target.array_args}


def _plausible(output, batch) -> bool:
    """A scalar, or one value per example: what a loss returns (others are the shape check's)."""
    return output.size == 1 or output.shape[:1] == (batch,)


@dataclass
class _Outcome:
    """How the probes of one layout in one dtype went."""

    ran: int = 0  # probes that ran (returned anything)
    plausible: bool = True  # every output that came back was a scalar or one value per example
    error: BaseException | None = None  # the first exception
    inputs: dict | None = None  # the inputs it was raised on

    def all_ran(self, probes) -> bool:
        return self.ran == len(probes)


def _runs(ctx, target, latent: Axes, data: Axes, dtype, sizes=_PROBE_SIZES) -> _Outcome:
    outcome = _Outcome()
    for seed, (batch, n) in enumerate(sizes):
        inputs = _inputs(target, batch, latent.sized(n), data.sized(n), seed)
        call = ctx.call({k: ctx.adapter.round_to(v, dtype) for k, v in inputs.items()}, dtype)
        if call.error is not None and not isinstance(call.error, AdapterTypeError):
            if outcome.error is None:
                outcome.error, outcome.inputs = call.error, inputs
            continue
        outcome.ran += 1
        outcome.plausible = outcome.plausible and (call.output is None or _plausible(call.output, batch))
    return outcome


def _free(ctx, target, axes: Axes, other: Axes, which: str, dtype) -> bool:
    """Whether the function also runs with ``axes`` at a size no reshape to its shape accepts."""
    bumped = Axes(axes.bumped(), axes.source)
    latent, data = (bumped, other) if which == "latent" else (other, bumped)
    outcome = _runs(ctx, target, latent, data, dtype, sizes=((1, 3),))
    return outcome.ran == 1 and outcome.plausible


def infer_layout(ctx) -> Layout:
    """The layout and dtypes of ``ctx.target``'s function, probed with ``ctx.dtypes`` in order."""
    target, dtypes = ctx.target, ctx.dtypes
    attempts: list[_Attempt] = []
    found = fallback = None
    for latent, data in _candidates(target, ctx.adapter):
        if ctx.timed_out is not None:  # the function hangs: the checks report it
            break
        attempt = _Attempt(latent, data)
        for dtype in dtypes:
            outcome = _runs(ctx, target, latent, data, dtype)
            if outcome.ran:
                fallback = fallback or (latent, data)
            if outcome.all_ran(_PROBE_SIZES):
                found = (latent, data) if outcome.plausible else None
                break
            if attempt.error is None:
                attempt.error, attempt.inputs = outcome.error, outcome.inputs
        attempts.append(attempt)
        if found:
            break
    if ctx.timed_out is not None:
        return Layout(attempts[0].latent, attempts[0].data, tuple(dtypes), ())
    chosen = found or fallback
    if chosen is None:
        raise TargetError(_never_ran(target, attempts, dtypes))
    latent, data = chosen
    working, unsupported = [], []
    for dtype in dtypes:
        outcome = _runs(ctx, target, latent, data, dtype)
        if outcome.ran:
            working.append(dtype)
        else:
            unsupported.append((dtype, f"{type(outcome.error).__name__}: {_first_line(outcome.error)}"))
    if not latent.varies and target.latent_args:
        latent = Axes(latent.shape, latent.source, None, _free(ctx, target, latent, data, "latent", working[0]))
    if not data.varies and target.data_args:
        data = Axes(data.shape, data.source, None,
                    data.free and _free(ctx, target, data, latent, "data", working[0]))
    return Layout(latent, data, tuple(working), tuple(unsupported))


def _short_words(axes: Axes) -> str:
    return axes.family.words if axes.family else f"(B, {', '.join(map(str, axes.shape))})"


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0][:300] if text else repr(error)


def _never_ran(target, attempts: list[_Attempt], dtypes) -> str:
    first = attempts[0]
    shapes = ", ".join(f"{k}{tuple(v.shape)}" for k, v in (first.inputs or {}).items())
    latents = list(dict.fromkeys(_short_words(a.latent) for a in attempts))
    datas = list(dict.fromkeys(_short_words(a.data) for a in attempts))
    tried = []
    if target.latent_args:
        tried.append(f"latent {', '.join(latents)}")
    if target.data_args:
        tried.append(f"data {', '.join(datas)}")
    hint = ("declare the shapes the function takes (--data-shape 1,28,28 --latent-shape 20, or "
            "data_shape= and latent_shape= in Target)")
    framework_hint = _framework_hint(target, first.error)
    return (
        f"{target.name} raised on every call, so it gets no verdict. Tried {'; '.join(tried)}; "
        f"dtypes {', '.join(dtypes)}. The first call (inputs {shapes}) raised "
        f"{type(first.error).__name__}: {_first_line(first.error)}. Hint: {hint}"
        + (f"; {framework_hint}" if framework_hint else "") + "."
    )


_FRAMEWORK_WORDS = {
    "numpy": ("numpy", "ndarray"), "torch": ("torch", "tensor"), "tensorflow": ("tensorflow", "eagertensor", "tf."),
    "jax": ("jax", "jaxlib", "tracer"), "keras": ("keras",),
}


def _framework_hint(target, error) -> str | None:
    """A hint when the exception looks like arrays of one framework fed to another's calls."""
    if not isinstance(error, (TypeError, AttributeError, ValueError)):
        return None
    text = f"{type(error).__name__} {error}".lower()
    others = [name for name, words in _FRAMEWORK_WORDS.items()
              if name != target.framework and any(w in text for w in words)]
    if isinstance(error, (TypeError, AttributeError)) or others:
        return (f"or check --framework: the inputs are {target.framework} arrays, and a function "
                f"written for {others[0] if others else 'another framework'} raises "
                f"{type(error).__name__} on them")
    return None
