"""Layouts: the trailing shapes (batch excluded) of the latent and the data inputs.

A loss is written for one rank of each: a latent (B, d) or a convolutional (B, C, H, W); data
(B, D), (B, C, H, W), (B, H, W, C) or (B, H, W). Within its rank, most losses take any size
(they reduce over ``dim=1``, over ``(1, 2, 3)``, over everything but the batch); some hard-code
one (``x.view(-1, 784)``). An :class:`Axes` records which: a :class:`Family` when sizes may
vary within the rank, or one fixed shape; and whether it was declared or inferred.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

from hypothesis import strategies as st


@dataclass(frozen=True)
class Family:
    """Shapes of one rank: ``limits`` bound each axis's size when drawn; ``small`` is the
    pinned cases' shape; ``sized(n)`` the shape the diagnosis probes for a size parameter n."""

    name: str
    words: str
    limits: tuple[tuple[int, int], ...]
    small: tuple[int, ...]
    size_axis: int  # the axis ``sized`` varies; the others stay at ``centre``
    centre: tuple[int, ...]

    def shapes(self) -> st.SearchStrategy[tuple[int, ...]]:
        return _shapes(self.limits)

    def all_shapes(self) -> tuple[tuple[int, ...], ...]:
        """Every shape within the limits, smallest sizes first."""
        return tuple(itertools.product(*(range(low, high + 1) for low, high in self.limits)))

    def sized(self, n: int) -> tuple[int, ...]:
        shape = list(self.centre)
        shape[self.size_axis] = n
        return tuple(shape)


@functools.cache
def _shapes(limits) -> st.SearchStrategy[tuple[int, ...]]:
    return st.tuples(*(st.integers(low, high) for low, high in limits))


LATENT_VECTOR = Family("latent-vector", "(B, d)", ((1, 12),), (1,), 0, (3,))
LATENT_IMAGE = Family("latent-image", "(B, C, H, W)", ((1, 3), (1, 3), (1, 3)), (1, 1, 1), 2, (1, 2, 3))
DATA_VECTOR = Family("data-vector", "(B, D)", ((1, 16),), (3,), 0, (4,))
DATA_CHW = Family("data-chw", "(B, C, H, W)", ((1, 3), (1, 4), (1, 4)), (1, 1, 3), 2, (1, 2, 4))
DATA_HWC = Family("data-hwc", "(B, H, W, C)", ((1, 4), (1, 4), (1, 3)), (1, 3, 1), 1, (2, 4, 1))
DATA_HW = Family("data-hw", "(B, H, W)", ((1, 5), (1, 4)), (1, 3), 1, (2, 4))

LATENT_FAMILIES = (LATENT_VECTOR, LATENT_IMAGE)


def data_families(framework: str) -> tuple[Family, ...]:
    """The data ranks in the order they are tried for ``framework``.

    (B, D) first: the fully connected VAE is the most common, and a loss that reduces over every
    non-batch axis (``.view(B, -1)``, ``sum`` over all axes) runs at every rank, so the simplest
    one that runs gives the smallest counterexamples. Then images in the framework's own layout
    (channels first for torch, channels last for TensorFlow, Keras and jax, whose convolutions
    default to it), the other layout, and (B, H, W) last, the rarest.
    """
    images = (DATA_CHW, DATA_HWC) if framework in ("torch", "numpy", "array-api") else (DATA_HWC, DATA_CHW)
    return (DATA_VECTOR, *images, DATA_HW)


#: sizes public code hard-codes (MNIST, CIFAR, 64x64 images), tried when no free rank runs
COMMON_DATA_SHAPES = (
    (784,), (1, 28, 28), (28, 28, 1), (28, 28), (3, 32, 32), (32, 32, 3), (3, 64, 64), (64, 64, 3),
)


@dataclass(frozen=True)
class Axes:
    """The trailing shape of the latent or the data inputs.

    ``family`` is set when the search may draw any size of that rank (an inferred rank);
    ``shape`` is then a representative. ``free`` says whether the function takes other sizes
    than ``shape`` (the scaling checks need it); ``source`` is "declared" or "inferred".
    """

    shape: tuple[int, ...]
    source: str
    family: Family | None = None
    free: bool = True

    def draw(self) -> st.SearchStrategy[tuple[int, ...]]:
        return self.family.shapes() if self.family else st.just(self.shape)

    def small(self) -> tuple[int, ...]:
        return self.family.small if self.family else self.shape

    def sized(self, n: int) -> tuple[int, ...]:
        return self.family.sized(n) if self.family else self.shape

    @property
    def varies(self) -> bool:
        """Whether probes and cases vary this size (an inferred rank)."""
        return self.family is not None

    def words(self) -> str:
        if self.family:
            return f"{self.family.words} ({self.source})"
        shape = ", ".join(str(s) for s in self.shape)
        fixed = "" if self.free else ", the only size it takes"
        return f"(B, {shape}) ({self.source}{fixed})"

    def as_dict(self) -> dict:
        return {"shape": list(self.shape) if not self.family else None,
                "rank": self.family.words if self.family else f"(B, {', '.join(map(str, self.shape))})",
                "source": self.source, "free": self.free}

    def bumped(self) -> tuple[int, ...]:
        """The shape with its last axis above 1 one larger: a size no reshape to
        ``shape``'s element count accepts (its product is not a multiple of the original)."""
        axes = [i for i, s in enumerate(self.shape) if s > 1]
        if not axes:
            return tuple(s + 1 if i == len(self.shape) - 1 else s for i, s in enumerate(self.shape))
        shape = list(self.shape)
        shape[axes[-1]] += 1
        return tuple(shape)


@dataclass(frozen=True)
class Layout:
    """What a target's function takes: latent and data axes, the dtypes it runs in, and the
    dtypes it raised in on every probe (dtype -> the exception, as text)."""

    latent: Axes
    data: Axes
    dtypes: tuple[str, ...]
    unsupported: tuple[tuple[str, str], ...] = ()

    def words(self, target) -> str:
        parts = []
        if target.latent_args:
            parts.append(f"latent {self.latent.words()}")
        if target.data_args:
            parts.append(f"data {self.data.words()}")
        parts.append("dtypes " + ", ".join(self.dtypes))
        return "; ".join(parts)

    def as_dict(self) -> dict:
        return {"latent": self.latent.as_dict(), "data": self.data.as_dict(),
                "dtypes": list(self.dtypes), "unsupported_dtypes": dict(self.unsupported)}


def declared_layout(target, dtypes: tuple[str, ...] = ()) -> Layout:
    """The layout a target states without probing: its declared shapes, vectors elsewhere."""
    latent = (Axes(target.latent_shape, "declared") if target.latent_shape
              else Axes(LATENT_VECTOR.centre, "inferred", LATENT_VECTOR))
    data = (Axes(target.data_shape, "declared") if target.data_shape
            else Axes(DATA_VECTOR.centre, "inferred", DATA_VECTOR))
    return Layout(latent, data, tuple(dtypes))
