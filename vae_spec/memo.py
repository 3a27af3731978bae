"""Results remembered by the bytes of the arrays they were computed from.

The checks of one search, the relations inside a check and the fits of a diagnosis evaluate
the same inputs many times; a :class:`Memo` keyed by a :func:`fingerprint` of those inputs
computes each once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable

import numpy as np


def fingerprint(kind, named_arrays: Iterable[tuple[object, np.ndarray]] = ()):
    """A running digest of ``kind`` and each (name, array): its name, shape and float64 bytes.

    ``.digest()`` gives the key; ``.copy()`` extends it (per-row keys share one prefix).
    """
    digest = hashlib.blake2b(repr(kind).encode(), digest_size=16)
    for name, array in named_arrays:
        array = np.ascontiguousarray(array, dtype=np.float64)
        digest.update(f"{name}{array.shape}".encode() + array.tobytes())
    return digest


class Memo:
    """Results by key; at most ``size`` are kept, the oldest dropped first."""

    def __init__(self, size: int):
        self.size, self.results = size, OrderedDict()

    def __contains__(self, key) -> bool:
        return key in self.results

    def get(self, key, compute: Callable):
        if key not in self.results:
            self.put(key, compute())
        return self.results[key]

    def put(self, key, value) -> None:
        self.results[key] = value
        if len(self.results) > self.size:
            self.results.popitem(last=False)
