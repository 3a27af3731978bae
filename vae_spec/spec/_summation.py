"""Accurate reductions for the spec: correctly rounded per-example and total sums.

The spec's per-example terms are sums of many element terms; a naive float64 sum of n terms
has a relative error up to about n * 2^-53 of the sum of magnitudes. ``math.fsum`` returns
the correctly rounded sum of its (already rounded) inputs, so a per-example sum adds at most
half an ulp of the result to the element terms' own errors.
"""

from __future__ import annotations

import math

import numpy as np


def example_sum(elementwise: np.ndarray, *more: np.ndarray) -> np.ndarray:
    """Per-example correctly rounded sum over every axis but the first.

    Extra arrays (each with the same leading batch axis) are added into the same sum, so
    a value held as an unevaluated pair hi + lo is summed without rounding the pair first.
    """
    parts = [np.asarray(a, dtype=np.float64) for a in (elementwise, *more)]
    batch = parts[0].shape[0]
    rows = np.concatenate([p.reshape(batch, -1) for p in parts], axis=1)
    out = np.empty(batch, dtype=np.float64)
    for b in range(batch):
        row = rows[b]
        if np.isfinite(row).all():
            out[b] = math.fsum(row.tolist())
        else:  # inf or nan: fsum raises on inf - inf; numpy gives the IEEE answer
            out[b] = np.sum(row)
    return out


def example_mean(elementwise: np.ndarray) -> np.ndarray:
    """Per-example mean over every axis but the first (correctly rounded sum / count)."""
    elementwise = np.asarray(elementwise, dtype=np.float64)
    count = int(np.prod(elementwise.shape[1:], dtype=np.int64))
    return example_sum(elementwise) / count


def total_sum(values: np.ndarray) -> float:
    """Correctly rounded sum of every element."""
    values = np.asarray(values, dtype=np.float64).ravel()
    if np.isfinite(values).all():
        return math.fsum(values.tolist())
    return float(np.sum(values))

