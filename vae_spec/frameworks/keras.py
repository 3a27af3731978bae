"""Keras 3: keras.ops under the current backend, whose tensors a keras loss returns.

The backend is fixed when keras is first imported (``KERAS_BACKEND`` or ``~/.keras/keras.json``).
Values, gradients and the precision guard are the backend adapter's: keras.ops functions
take and return the backend's own tensors.
"""

from __future__ import annotations

import contextlib
import importlib.util
import random
from collections.abc import Callable, Mapping, Sequence

import keras
import numpy as np

from vae_spec.frameworks.base import (
    Adapter,
    _native_dtype,
    _round_nearest_even,
    get_adapter,
)

#: keras backends whose tensors a vae_spec framework of the same name handles
_BACKENDS = ("tensorflow", "jax", "torch", "numpy")


class KerasAdapter(Adapter):
    """keras.ops tensors; ``backend`` names the keras backend, ``backend_adapter`` serves it.

    Devices are keras's names (``"cpu"``, ``"gpu"``), placed through ``keras.device``.
    """

    name = "keras"
    module = "keras"
    extra = "keras"

    def __init__(self) -> None:
        self.backend: str = keras.backend.backend()
        if self.backend not in _BACKENDS:
            raise ValueError(
                f"framework: the keras backend {self.backend!r} is not supported; set "
                f"KERAS_BACKEND to one of {', '.join(_BACKENDS)}"
            )
        self.backend_adapter: Adapter = get_adapter(self.backend)
        self.supports_grad = self.backend_adapter.supports_grad
        self.compiles_per_shape = self.backend_adapter.compiles_per_shape
        self.immutable = self.backend_adapter.immutable

    def dtypes(self) -> tuple[str, ...]:
        return self.backend_adapter.dtypes()

    def devices(self) -> tuple[str, ...]:
        return ("cpu", "gpu") if len(self.backend_adapter.devices()) > 1 else ("cpu",)

    def asarray(self, array: np.ndarray, dtype: str, device: str | None = None):
        """``keras.ops.convert_to_tensor`` of the rounded values (None: keras's placement)."""
        _native_dtype(self.name, dict.fromkeys(self.dtypes()), dtype)
        values = _round_nearest_even(array, dtype)
        with contextlib.nullcontext() if device is None else keras.device(device):
            return keras.ops.convert_to_tensor(values, dtype=dtype)

    def is_native(self, value) -> bool:
        return self.backend_adapter.is_native(value)

    def _to_numpy(self, value) -> np.ndarray:
        return self.backend_adapter._to_numpy(value)

    def dtype_name(self, value) -> str:
        return self.backend_adapter.dtype_name(value)

    def value_and_grad(
        self, fn: Callable, kwargs: Mapping[str, object], wrt: Sequence[str]
    ) -> tuple[object, dict[str, np.ndarray | None]]:
        return self.backend_adapter.value_and_grad(fn, kwargs, wrt)

    def precision_guard(self) -> contextlib.AbstractContextManager:
        return self.backend_adapter.precision_guard()

    @contextlib.contextmanager
    def seeded(self, seed: int):
        """``keras.utils.set_random_seed``: Python's, numpy's, TensorFlow's and the backend's
        generators and keras's global seed generator, each restored after."""
        from keras.src.backend.common import global_state
        from keras.src.random import seed_generator

        keys = ("global_random_seed", seed_generator.GLOBAL_SEED_GENERATOR)
        saved = [global_state.get_global_attribute(k) for k in keys]
        python_state = random.getstate()
        with contextlib.ExitStack() as stack:
            stack.enter_context(get_adapter("numpy").seeded(seed))
            if importlib.util.find_spec("tensorflow") is not None:  # keras seeds it wherever installed
                stack.enter_context(get_adapter("tensorflow").seeded(seed))
            stack.enter_context(self.backend_adapter.seeded(seed))
            try:
                keras.utils.set_random_seed(seed)
                yield
            finally:
                random.setstate(python_state)
                for key, value in zip(keys, saved):
                    global_state.set_global_attribute(key, value)

    def random_key(self, seed: int):
        return self.backend_adapter.random_key(seed)

    def compile(self, fn):
        return self.backend_adapter.compile(fn)

    def prepare(self, fn):
        return self.backend_adapter.prepare(fn)

    def elementary_ulps(self, dtype: str) -> float:
        return self.backend_adapter.elementary_ulps(dtype)
