"""JAX: float16, bfloat16, float32 and float64; gradients through jax.vjp.

Creating the adapter turns on ``jax_enable_x64`` for the whole process, so that float64
cases are float64 (jax otherwise makes them float32, silently). This changes the default
dtype of every jax user in the process (``jnp.arange(3.0)`` becomes float64), acceptable for
a checking tool and its test runs.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Literal

from vae_spec.frameworks.base import (
    DTYPES,
    Adapter,
    AdapterTypeError,
    _native_dtype,
    _round_nearest_even,
    describe,
)

_DTYPES = {name: getattr(jnp, name) for name in DTYPES}


class JaxAdapter(Adapter):
    """jax arrays on the platforms jax reports (``"cpu"``, ``"gpu"``, ``"tpu"``)."""

    name = "jax"
    module = "jax"
    extra = "jax"

    compiles_per_shape = True  # prepare() jits the function
    immutable = "jax arrays are immutable: a function cannot modify its inputs in place"

    def __init__(self) -> None:
        jax.config.update("jax_enable_x64", True)

    def dtypes(self) -> tuple[str, ...]:
        return tuple(_DTYPES)

    def devices(self) -> tuple[str, ...]:
        accelerators = sorted({device.platform for device in jax.devices()} - {"cpu"})
        return ("cpu", *accelerators)

    def asarray(self, array: np.ndarray, dtype: str, device: str | None = None) -> jax.Array:
        """A jax array on the first device of platform ``device`` (None: jax's default)."""
        native = _native_dtype(self.name, _DTYPES, dtype)
        values = _round_nearest_even(array, dtype).astype(native)  # exact: already rounded
        return jax.device_put(values, None if device is None else jax.devices(device)[0])

    def is_native(self, value) -> bool:
        return isinstance(value, jax.Array)

    def _to_numpy(self, value: jax.Array) -> np.ndarray:
        return np.asarray(value)

    def dtype_name(self, value: jax.Array) -> str:
        return value.dtype.name

    def value_and_grad(
        self, fn: Callable, kwargs: Mapping[str, object], wrt: Sequence[str]
    ) -> tuple[jax.Array, dict[str, np.ndarray | None]]:
        """The vector-Jacobian product with ones; None where no path reaches the output.

        jax returns zeros, not None, for an input the output does not depend on (through
        ``jax.lax.stop_gradient``, or an integer output). The backward pass is traced once
        more, and an input's gradient is None when it does not depend on the cotangent.
        """
        names = list(wrt)

        def of_wrt(*values):
            output = fn(**{**kwargs, **dict(zip(names, values))})
            if not self.is_native(output):
                raise AdapterTypeError(f"{describe(output)}, not a jax array")
            return output

        with self.precision_guard():
            output, backward = jax.vjp(of_wrt, *(kwargs[name] for name in names))
            cotangent = jnp.ones_like(output)
            grads = backward(cotangent)
            connected = _depends_on_input(jax.make_jaxpr(backward)(cotangent).jaxpr)
        return output, {
            name: self.to_numpy(grad) if reached else None
            for name, grad, reached in zip(names, grads, connected)
        }

    def precision_guard(self) -> contextlib.AbstractContextManager:
        """Matmul and convolution in full precision (no TF32, no bfloat16 passes)."""
        return jax.default_matmul_precision("highest")

    def random_key(self, seed: int):
        return jax.random.PRNGKey(seed)

    def elementary_ulps(self, dtype: str) -> float:
        """XLA's float64 log1p errs by up to 128 ulp on [-0.4142, -0.3585] (measured, jax 0.10)."""
        return 128.0 if dtype == "float64" else 4.0

    def prepare(self, fn):
        """``jax.jit(fn)``; a function that cannot be traced runs eagerly, and says so.

        Eager jax compiles every operation for every new shape (about 0.3 s per call for a
        small loss here); under jit each shape costs one compilation. When a jitted call
        raises and the same call runs eagerly (Python control flow on values, numpy calls on
        arrays, a non-array output), every later call runs eagerly and the wrapper's
        ``fallback`` holds the jit error, which ``check`` reports as a note. A call that
        raises eagerly too is the function's own error: it is raised, and jit is kept.
        """
        jitted = jax.jit(fn)

        @functools.wraps(fn)
        def run(*args, **kwargs):
            if run.fallback is not None:
                return fn(*args, **kwargs)
            try:
                return jitted(*args, **kwargs)
            except Exception as jit_error:
                result = fn(*args, **kwargs)  # raises the function's own error, if it has one
                run.fallback = f"{type(jit_error).__name__}: {str(jit_error).splitlines()[0]}"
                return result

        run.fallback = None
        return run

    def compile(self, fn):
        return jax.jit(fn)

    def seeded(self, seed: int) -> contextlib.AbstractContextManager:
        """Nothing to seed: jax has no global random state; a stochastic loss takes its PRNG key."""
        return contextlib.nullcontext()


def _depends_on_input(jaxpr) -> list[bool]:
    """For each output of ``jaxpr``, whether it depends on an input.

    An equation's outputs depend on the inputs when any of its arguments does, nested calls
    (jit, remat) included: jax builds the zero gradient of an input that does not reach the
    output outside them, from the literal 0.
    """
    live = set(jaxpr.invars)

    def is_live(var) -> bool:
        return not isinstance(var, Literal) and var in live

    for equation in jaxpr.eqns:
        if any(is_live(var) for var in equation.invars):
            live.update(equation.outvars)
    return [is_live(var) for var in jaxpr.outvars]
