"""numpy: float16, float32 and float64 on the CPU, no automatic differentiation."""

from __future__ import annotations

import contextlib

import numpy as np

from vae_spec.frameworks.base import Adapter, _native_dtype, _round_nearest_even

_DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64}


class NumpyAdapter(Adapter):
    """numpy arrays. numpy has no bfloat16.

    A numpy loss commonly returns a numpy floating scalar (``np.sum`` gives ``np.float64``) or
    a Python float; both count as native, as do ndarrays.
    """

    name = "numpy"
    module = "numpy"
    extra = ""
    supports_grad = False

    def dtypes(self) -> tuple[str, ...]:
        return tuple(_DTYPES)

    def asarray(self, array: np.ndarray, dtype: str, device: str | None = None) -> np.ndarray:
        _native_dtype(self.name, _DTYPES, dtype)
        if device not in (None, "cpu"):
            raise ValueError(f"device: numpy arrays live on the CPU, got {device!r}")
        return _round_nearest_even(array, dtype)

    def is_native(self, value) -> bool:
        return isinstance(value, (np.ndarray, np.floating, float))

    def _to_numpy(self, value) -> np.ndarray:
        return np.asarray(value)

    def dtype_name(self, value) -> str:
        return np.asarray(value).dtype.name

    @contextlib.contextmanager
    def seeded(self, seed: int):
        """numpy's legacy global generator seeded (``np.random.seed``), its state restored after.

        Only losses that draw from ``np.random.*`` functions see it; a loss that samples should
        take a ``numpy.random.Generator`` as an argument, which no global seed reaches.
        """
        state = np.random.get_state()
        np.random.seed(seed)
        try:
            yield
        finally:
            np.random.set_state(state)
