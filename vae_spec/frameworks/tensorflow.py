"""TensorFlow: float16, bfloat16, float32 and float64; gradients through tf.GradientTape."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import tensorflow as tf

from vae_spec.frameworks.base import (
    DTYPES,
    Adapter,
    AdapterTypeError,
    _native_dtype,
    _round_nearest_even,
    describe,
    restoring,
)

_DTYPES = {name: getattr(tf, name) for name in DTYPES}


class TensorFlowAdapter(Adapter):
    """Eager tf tensors on ``"cpu"`` or ``"gpu"`` (any name ``tf.device`` accepts)."""

    name = "tensorflow"
    module = "tensorflow"
    extra = "tensorflow"
    immutable = "TensorFlow tensors are immutable: a function cannot modify its inputs in place"

    def dtypes(self) -> tuple[str, ...]:
        return tuple(_DTYPES)

    def devices(self) -> tuple[str, ...]:
        return ("cpu", "gpu") if tf.config.list_logical_devices("GPU") else ("cpu",)

    def asarray(self, array: np.ndarray, dtype: str, device: str | None = None) -> tf.Tensor:
        """An eager tensor; None leaves placement to TensorFlow."""
        native = _native_dtype(self.name, _DTYPES, dtype)
        tensor = tf.constant(_round_nearest_even(array, dtype), dtype=native)
        if device is None:
            return tensor
        with tf.device(device):  # eager constants live on the host; a copy moves it
            return tf.identity(tensor)

    def is_native(self, value) -> bool:
        return isinstance(value, (tf.Tensor, tf.Variable))

    def _to_numpy(self, value) -> np.ndarray:
        return value.numpy()

    def dtype_name(self, value) -> str:
        return value.dtype.name

    def value_and_grad(
        self, fn: Callable, kwargs: Mapping[str, object], wrt: Sequence[str]
    ) -> tuple[tf.Tensor, dict[str, np.ndarray | None]]:
        """tf.GradientTape gradients of the output's sum; None where the tape finds no path.

        Each input in ``wrt`` is replaced by its own copy, watched, so two names bound to one
        tensor get one gradient each. Variables the function reads are not watched.
        """
        sources = {name: tf.identity(kwargs[name]) for name in wrt}
        with self.precision_guard():
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                for source in sources.values():
                    tape.watch(source)
                output = fn(**{**kwargs, **sources})
            if not self.is_native(output):
                raise AdapterTypeError(f"{describe(output)}, not a tensorflow tensor")
            grads = tape.gradient(
                output, list(sources.values()), output_gradients=tf.ones_like(output),
                unconnected_gradients=tf.UnconnectedGradients.NONE,
            )
        return output, {
            name: None if grad is None else self.to_numpy(tf.convert_to_tensor(grad))
            for name, grad in zip(wrt, grads)
        }

    def precision_guard(self) -> contextlib.AbstractContextManager:
        """TensorFloat-32 off for float32 matmul and convolution on GPUs."""
        return restoring(
            tf.config.experimental.tensor_float_32_execution_enabled,
            tf.config.experimental.enable_tensor_float_32_execution,
            False,
        )

    def compile(self, fn):
        """tf.function with XLA (jit_compile=True); it retraces once per new input shape."""
        return tf.function(fn, jit_compile=True)

    @contextlib.contextmanager
    def seeded(self, seed: int):
        """TensorFlow's global seed set (``tf.random.set_seed``), the previous one (or none) after.

        TensorFlow has no way to read its random stream's position: a user's stream seeded
        before restarts from that seed after the run, as ``tf.random.set_seed`` always does.
        """
        with restoring(_global_seed, tf.random.set_seed, seed):
            yield


def _global_seed():
    """The seed ``tf.random.set_seed`` last set (None when none is)."""
    from tensorflow.python.eager import context

    return context.global_seed()
