"""Hypothesis strategies for conformance cases: shapes, dtypes, value regimes, inputs.

A :class:`Case` holds float64 input arrays by canonical name, the dtype the function is called
in and the value regime they were drawn from. Small cases are element-wise hypothesis arrays,
so a failure shrinks to a minimal counterexample; cases with more than ``SMALL_ELEMENTS``
elements in an array, and every case of the wide regime, draw their values from a seeded numpy
generator (the seed shrinks): hypothesis' element draws favour simple values, and the wide
regime exists to reach the ends of each range (probabilities log-uniformly close to 0 and 1).

Regimes (every range is clipped to what the dtype represents without overflow of the terms):

* ``typical``: mu in [-3, 3], logvar in [-3, 3], probabilities in [0.01, 0.99], logits in
  [-5, 5], means in [-3, 3]: the term dominates its rounding error, so wrong formulas show;
* ``near-prior``: mu and logvar within 1e-3 of 0 (KL ~ 1e-7): where naive forms cancel;
* ``wide``: logvar in [-30, 20], mu within +-20, logits within +-50, probabilities within
  1e-6 of 0 and 1 (each narrowed for float16 so that exp(logvar) and mu^2 stay finite).
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass, field

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from .spec.likelihoods import parse_likelihood
from .engine.layout import DATA_VECTOR, LATENT_VECTOR, Axes, Layout, declared_layout
from .vocabulary import DATA_ARGS, POSTERIOR

REGIMES = ("typical", "near-prior", "wide")
#: the largest logvar drawn: at logvar = 20 the KL is exp(20) / 2 ~ 2.4e8 nats per latent
#: dimension, which no training run reaches, so a loss may clamp above it (diffusers clamps
#: logvar to [-30, 20]); downwards -30 is where a posterior collapsing to a point goes (about
#: 15 nats per dimension), and stays drawn
WIDE_LOGVAR_HIGH = 20.0
SMALL_ELEMENTS = 160  # arrays up to this size are drawn element-wise (shrinkable)
MAX_BATCH = 6


@dataclass(frozen=True)
class Case:
    """One set of inputs for a target: float64 arrays, to be rounded to ``dtype``."""

    inputs: dict[str, np.ndarray] = field(hash=False)
    dtype: str
    regime: str
    repeats: int = 2  # how many times the batch relations repeat the first example
    order: tuple[int, ...] | None = None  # a reordering of the batch (None at B = 1)
    pinned: bool = False  # a classic case or the user's own call, not drawn

    @property
    def batch_size(self) -> int:
        return next(iter(self.inputs.values())).shape[0]

    def __repr__(self) -> str:
        """Shapes, dtype and regime: what hypothesis prints for a case (the values are in the report)."""
        shapes = ", ".join(f"{name}{tuple(value.shape)}" for name, value in self.inputs.items())
        return f"Case({shapes}, {self.dtype}, {self.regime})"

    def _repr_pretty_(self, printer, cycle) -> None:  # hypothesis' printer, which expands dataclasses
        printer.text(repr(self))


# -- shapes ---------------------------------------------------------------------------------
@st.composite
def layouts(draw, layout=None, max_batch: int = MAX_BATCH):
    """(B, latent shape, data shape) within ``layout``, with B, d and D pairwise different
    (B = 1 always allowed) where the sizes are drawn.

    Distinct sizes make axis mix-ups (a sum over the batch instead of the latent axis, a
    (B, 1) term broadcast against (B,)) change the result instead of cancelling out.
    """
    layout = layout or Layout(Axes((3,), "inferred", LATENT_VECTOR), Axes((4,), "inferred", DATA_VECTOR), ())
    latent = draw(layout.latent.draw())
    if layout.latent.varies and layout.data.varies:
        # sampled from the allowed shapes, not filtered: a filter is rebuilt (and its lambda
        # parsed by hypothesis) on every draw
        data = draw(st.sampled_from([shape for shape in layout.data.family.all_shapes()
                                     if math.prod(shape) != math.prod(latent)]))
    else:
        data = draw(layout.data.draw())
    sizes = {math.prod(latent), math.prod(data)}
    batch = draw(st.sampled_from([b for b in range(1, max_batch + 1) if b == 1 or b not in sizes]))
    return batch, latent, data


# -- values ---------------------------------------------------------------------------------
def _limit(dtype: str, wide: float, half: float) -> float:
    return half if dtype == "float16" else wide


def value_range(name: str, regime: str, dtype: str, likelihood=None) -> tuple[float, float]:
    """The interval an input is drawn from in a regime and dtype."""
    if name in ("mu", "prior_mu"):
        return {"typical": (-3.0, 3.0), "near-prior": (-1e-3, 1e-3),
                "wide": (-_limit(dtype, 20.0, 8.0), _limit(dtype, 20.0, 8.0))}[regime]
    if name in ("logvar", "prior_logvar"):
        return {"typical": (-3.0, 3.0), "near-prior": (-1e-3, 1e-3),
                "wide": (-_limit(dtype, 30.0, 7.0), _limit(dtype, WIDE_LOGVAR_HIGH, 7.0))}[regime]
    if name in POSTERIOR:  # logstd, std, var: the log-variance's interval, converted
        return POSTERIOR[name].range_from_logvar(*value_range("logvar", regime, dtype))
    if name in ("z", "eps"):
        return (-3.0, 3.0) if regime != "wide" else (-10.0, 10.0)
    if name in ("dec_logvar", "dec_logscale"):
        return (-2.0, 2.0) if regime != "wide" else (-_limit(dtype, 10.0, 5.0), _limit(dtype, 10.0, 5.0))
    if name == "x":
        if likelihood is not None and likelihood.family in ("bernoulli", "continuous-bernoulli"):
            return 0.0, 1.0
        return (-3.0, 3.0) if regime != "wide" else (-30.0, 30.0)
    if name == "x_recon":
        if likelihood is None or likelihood.parameterization == "mean":
            return (-3.0, 3.0) if regime != "wide" else (-30.0, 30.0)
        if likelihood.parameterization == "logits":
            return (-5.0, 5.0) if regime != "wide" else (-_limit(dtype, 50.0, 10.0), _limit(dtype, 50.0, 10.0))
        edge = {"float64": 1e-6, "float32": 1e-6, "bfloat16": 1e-2, "float16": 1e-3}[dtype]
        return (0.01, 0.99) if regime != "wide" else (edge, 1 - edge)
    raise ValueError(f"no value range for input {name!r}")


# strategies are built once per argument set: building one per draw costs more than drawing
@functools.cache
def _elements(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(low, high, allow_nan=False, allow_infinity=False, allow_subnormal=False)


@functools.cache
def _binary_or_soft(binary: bool) -> st.SearchStrategy[float]:
    return st.sampled_from([0.0, 1.0]) if binary else _elements(0.0, 1.0)


@functools.cache
def _arrays(shape: tuple[int, ...], elements: st.SearchStrategy[float]) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays(np.float64, shape, elements=elements)


def _array(draw, shape, elements, generate, spread: bool = False) -> np.ndarray:
    """Element-wise hypothesis values for a small array; values from a seeded generator for a
    large one, and for a ``spread`` one (the wide regime), which must reach its range's ends:
    hypothesis' element draws favour simple values."""
    if math.prod(shape) <= SMALL_ELEMENTS and not spread:
        return draw(_arrays(tuple(shape), elements))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    return generate(rng, shape)


def _spread(low, high):
    """Uniform over [low, high]; within (0, 1) (a probability), the distance to the nearer
    end log-uniform from ``low`` to 1/2, so that values next to 0 and 1 are drawn."""
    if not 0.0 < low < high < 1.0:
        return lambda rng, shape: rng.uniform(low, high, size=shape)

    def generate(rng, shape):
        distance = np.exp(rng.uniform(math.log(low), math.log(0.5), size=shape))
        return np.where(rng.random(shape) < 0.5, distance, 1.0 - distance)

    return generate


def input_shape(name: str, batch: int, latent: tuple, data: tuple, samples: int | None = None) -> tuple[int, ...]:
    """The shape of a canonical input for batch size B, latent and data shapes.

    With ``samples`` K (the iwae term), ``x_recon`` and ``z`` carry K samples after the batch.
    """
    per_sample = (samples,) if samples and name in ("x_recon", "z") else ()
    if name in DATA_ARGS:
        return (batch, *per_sample, *data)
    return (batch, *per_sample, *latent)


def sample_count(target) -> st.SearchStrategy[int | None]:
    """K for the iwae term (1 to 4 importance samples), None otherwise."""
    return st.integers(1, 4) if target.computes.samples else st.none()


def _reordering(order: list[int]) -> tuple[int, ...]:
    """``order``, with its first two entries swapped if it leaves the batch as it is."""
    if order == sorted(order):
        order[0], order[1] = order[1], order[0]
    return tuple(order)


#: the few fixed (B, d, D) size parameters compiled variants are checked on (each new shape
#: may recompile); a fixed shape stays fixed. B, d and D are pairwise different, and stay so
#: with d or D doubled (the scaling relations)
COMPILE_BUCKETS = ((2, 3, 4), (3, 5, 7))
#: the one bucket of a function that compiles per shape (``jax.jit``): with the pinned cases
#: (B = 1, d = 1), the single rows (B = 1) and the doubled d and D of the relations, such a
#: function runs at five shapes per dtype; B, d and D are drawn nowhere else
JIT_BUCKETS = ((3, 5, 7),)


@st.composite
def cases(draw, target, dtypes, regimes=REGIMES, max_batch: int = MAX_BATCH, buckets=None, layout=None):
    """A :class:`Case` for ``target`` in one of ``dtypes``, with shapes within ``layout``
    (the target's declared one by default), or on one of ``buckets``: (B, d, D) size parameters."""
    layout = layout or declared_layout(target)
    dtype = draw(st.sampled_from(tuple(dtypes)))
    regime = draw(st.sampled_from(tuple(regimes)))
    if buckets:
        batch, d, size = draw(st.sampled_from(tuple(buckets)))
        latent, data = layout.latent.sized(d), layout.data.sized(size)
    else:
        batch, latent, data = draw(layouts(layout, max_batch))
    samples = draw(sample_count(target))
    # on buckets the example is repeated to the batch's own size: no shape beyond the bucket's
    repeats = batch if buckets and batch > 1 else draw(st.integers(2, 5))
    order = None if batch == 1 else _reordering(draw(st.permutations(range(batch))))
    likelihood = parse_likelihood(target.likelihood) if target.likelihood else None
    inputs = {}
    for name in target.array_args:
        shape = input_shape(name, batch, latent, data, samples)
        low, high = value_range(name, regime, dtype, likelihood)
        if name == "x" and low == 0.0 and high == 1.0:
            binary = draw(st.booleans())
            generate = (lambda rng, s: rng.integers(0, 2, size=s).astype(np.float64)) if binary \
                else _spread(0.0, 1.0)
            inputs[name] = _array(draw, shape, _binary_or_soft(binary), generate)
        else:
            inputs[name] = _array(draw, shape, _elements(low, high), _spread(low, high),
                                  spread=regime == "wide")
    return Case(inputs, dtype, regime, repeats, order)


def classic_cases(target, dtype: str, layout=None) -> list[Case]:
    """The pinned cases: batch 1 with d 1; logvar exactly 0 with mu != 0; mu = 0."""
    likelihood = parse_likelihood(target.likelihood) if target.likelihood else None
    layout = layout or declared_layout(target)
    latent, data = layout.latent.small(), layout.data.small()
    out = []
    for mu, scale_logvar in ((0.7, 0.0), (0.0, 0.6), (1.5, -1.2)):
        inputs = {}
        for name in target.array_args:
            shape = input_shape(name, 1, latent, data, 2 if target.computes.samples else None)
            low, high = value_range(name, "typical", dtype, likelihood)
            if name in ("mu",):
                value = np.full(shape, mu)
            elif name in POSTERIOR:
                value = np.full(shape, POSTERIOR[name].from_logvar(scale_logvar))
            elif name == "x" and low == 0.0 and high == 1.0:
                value = (np.arange(math.prod(shape)).reshape(shape) % 2).astype(np.float64)
            else:
                value = np.linspace(low + (high - low) * 0.3, high - (high - low) * 0.3,
                                    math.prod(shape)).reshape(shape)
            inputs[name] = value
        out.append(Case(inputs=inputs, dtype=dtype, regime="typical", pinned=True))
    return out


@contextlib.contextmanager
def reproducible_draws():
    """Hypothesis also draws numbers it finds in the source of every module loaded from outside
    site-packages (its "local constants"): the cases of a seed would depend on what else the
    process imported (a test module, the user's package). A check draws from hypothesis' global
    constants only, so a seed gives the same cases in any process; the user's own hypothesis
    tests keep theirs."""
    from hypothesis.internal.conjecture import providers

    local = getattr(providers, "_get_local_constants", None)
    if local is None:  # a hypothesis without local constants: nothing to hold fixed
        yield
        return
    providers._get_local_constants = providers.Constants
    providers.CONSTANTS_CACHE.cache.clear()
    try:
        yield
    finally:
        providers._get_local_constants = local
        providers.CONSTANTS_CACHE.cache.clear()
