"""Input validation shared by the spec: every problem is a ValueError naming the argument."""

from __future__ import annotations

import math

import numpy as np


def as_float_array(name: str, value, *, allow_nan: bool = False) -> np.ndarray:
    """Return ``value`` as a float64 array, or raise ValueError naming ``name``.

    Accepted: Python numbers and real floating or integer-free numpy arrays. Rejected with
    a message: complex, integer, boolean and object dtypes; NaN (unless ``allow_nan``);
    anything numpy cannot turn into an array.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}: expected real floating-point values, got a boolean")
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = float(value)
    try:
        array = np.asarray(value)
    except Exception as exc:  # numpy's own error names no argument
        raise ValueError(f"{name}: cannot be read as an array ({exc})") from None
    kind = array.dtype.kind
    if kind == "c":
        raise ValueError(f"{name}: complex values are not supported (dtype {array.dtype})")
    if kind in "iub":
        raise ValueError(
            f"{name}: integer or boolean dtype {array.dtype}; pass floating-point values "
            "(for example x.astype(np.float64))"
        )
    if kind != "f":
        raise ValueError(f"{name}: expected real floating-point values, got dtype {array.dtype}")
    array = array.astype(np.float64, copy=False)
    if not allow_nan and np.isnan(array).any():
        raise ValueError(f"{name}: contains NaN at index {_first_index(np.isnan(array))}")
    return array


def as_batched(name: str, value, *, allow_nan: bool = False) -> np.ndarray:
    """Like :func:`as_float_array`, and require a leading batch axis (ndim >= 1)."""
    array = as_float_array(name, value, allow_nan=allow_nan)
    if array.ndim == 0:
        raise ValueError(f"{name}: expected a leading batch axis, got a scalar")
    return array


def same_shape(**arrays: np.ndarray) -> tuple[int, ...]:
    """Require every array to have one shape; return it."""
    items = list(arrays.items())
    first_name, first = items[0]
    for name, array in items[1:]:
        if array.shape != first.shape:
            raise ValueError(
                f"{name}: shape {array.shape} does not match {first_name}'s shape {first.shape}"
            )
    return first.shape


def broadcastable_to(name: str, array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Broadcast ``array`` to ``shape`` or raise naming ``name``."""
    try:
        return np.broadcast_to(array, shape)
    except ValueError:
        raise ValueError(f"{name}: shape {array.shape} cannot broadcast to {shape}") from None


def finite(name: str, array: np.ndarray) -> np.ndarray:
    """Require every element to be finite (no inf, no NaN)."""
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(f"{name}: contains a non-finite value at index {_first_index(bad)}")
    return array


def finite_batched(name: str, value) -> np.ndarray:
    """A finite float64 array with a leading batch axis (as_batched, then finite)."""
    return finite(name, as_batched(name, value))


def finite_broadcast(name: str, value, shape: tuple[int, ...]) -> np.ndarray:
    """A finite float64 array broadcast to ``shape`` (a parameter shared along some axes)."""
    return broadcastable_to(name, finite(name, as_float_array(name, value)), shape)


def positive(name: str, array: np.ndarray) -> np.ndarray:
    """Require every element to be > 0 (a standard deviation, variance or scale)."""
    bad = ~(array > 0)
    if bad.any():
        index = _first_index(bad)
        raise ValueError(f"{name}: must be positive, got {array[index]!r} at index {index}")
    return array


def in_unit_interval(name: str, array: np.ndarray) -> np.ndarray:
    """Require every element to lie in [0, 1] (a probability or a Bernoulli target)."""
    bad = ~((array >= 0) & (array <= 1))
    if bad.any():
        index = _first_index(bad)
        raise ValueError(f"{name}: must lie in [0, 1], got {array[index]!r} at index {index}")
    return array


def positive_number(name: str, value) -> float:
    """A finite positive Python float (a fixed variance, scale, beta)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a positive number, got {value!r}") from None
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{name}: expected a finite positive number, got {value!r}")
    return number


def _first_index(mask: np.ndarray):
    index = tuple(int(i) for i in np.argwhere(mask)[0])
    return index if len(index) != 1 else index[0]
