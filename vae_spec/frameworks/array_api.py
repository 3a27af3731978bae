"""Any array library array-api-compat supports, through its standard namespace.

``array-api`` uses array_api_strict, the standard and nothing more; ``array-api:<module>``
uses the namespace of ``<module>``'s arrays (``array-api:numpy``, ``array-api:torch``,
``array-api:jax.numpy``). The standard has no float16 or bfloat16 and no autodiff.
"""

from __future__ import annotations

import contextlib
import importlib

import array_api_compat
import numpy as np

from vae_spec.frameworks.base import (
    Adapter,
    FrameworkNotInstalled,
    _native_dtype,
    _round_nearest_even,
)

_FLOAT_DTYPES = ("float32", "float64")
_DTYPE_NAMES = (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64", "complex64", "complex128",
)


class ArrayApiAdapter(Adapter):
    """Arrays of one array-API namespace, ``xp``, on its default device."""

    name = "array-api"
    module = "array_api_compat"
    extra = "array-api"
    supports_grad = False

    def __init__(self, namespace_module: str | None = None) -> None:
        self.namespace_module = namespace_module or "array_api_strict"
        try:
            library = importlib.import_module(self.namespace_module)
        except ModuleNotFoundError:
            raise FrameworkNotInstalled(
                f"framework 'array-api:{self.namespace_module}' needs the module "
                f"{self.namespace_module!r}, which is not installed"
            ) from None
        if not hasattr(library, "asarray"):
            raise ValueError(
                f"framework: {self.namespace_module!r} has no asarray; name an array module "
                "such as numpy, torch or jax.numpy"
            )
        self.xp = array_api_compat.array_namespace(library.asarray(0.0))

    def dtypes(self) -> tuple[str, ...]:
        return _FLOAT_DTYPES

    def asarray(self, array: np.ndarray, dtype: str, device: str | None = None):
        floats = {name: getattr(self.xp, name) for name in _FLOAT_DTYPES}
        native = _native_dtype(self.name, floats, dtype)
        if device not in (None, "cpu"):
            raise ValueError(
                f"device: array-api arrays go on the namespace's default device, got {device!r}"
            )
        return self.xp.asarray(_round_nearest_even(array, dtype), dtype=native, copy=True)

    def is_native(self, value) -> bool:
        return (
            array_api_compat.is_array_api_obj(value)
            and array_api_compat.array_namespace(value) is self.xp
        )

    def _to_numpy(self, value) -> np.ndarray:
        """numpy's own arrays and scalars as they are; any other array through DLPack."""
        if array_api_compat.is_numpy_array(value):
            return np.asarray(value)
        return np.from_dlpack(value)

    def dtype_name(self, value) -> str:
        matches = (
            name for name in _DTYPE_NAMES
            if hasattr(self.xp, name) and value.dtype == getattr(self.xp, name)
        )
        return next(matches, str(value.dtype))

    def seeded(self, seed: int) -> contextlib.AbstractContextManager:
        """Nothing to seed: the array API standard has no random generator."""
        return contextlib.nullcontext()
