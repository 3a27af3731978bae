"""The one small protocol every framework adapter implements, and the lazy registry.

An adapter moves numpy float64 case data into a framework's arrays (rounded to the case
dtype), calls the user's function, and brings outputs and gradients back as numpy float64.
Framework modules are imported only when an adapter is first asked for.
"""

from __future__ import annotations

import abc
import contextlib
import importlib
import importlib.util
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np

DTYPES = ("float16", "bfloat16", "float32", "float64")


class FrameworkNotInstalled(ImportError):
    """The framework a target names is not importable; the message says what to install."""


class AdapterTypeError(TypeError):
    """A function returned something that is not an array of its framework."""


class Adapter(abc.ABC):
    """How vae_spec talks to one framework."""

    #: the framework's name as users write it (``Target(framework=...)``)
    name: str
    #: the module whose presence means the framework is installed
    module: str
    #: the package extra that installs it: ``pip install "vae-spec[<extra>]"``
    extra: str
    #: False when the framework has no automatic differentiation
    supports_grad: bool = True
    #: True when each new input shape costs a compilation (jax.jit): the search then keeps to
    #: a few shape buckets
    compiles_per_shape: bool = False
    #: why the framework's arrays cannot be modified in place, where they cannot (None: they can)
    immutable: str | None = None

    @abc.abstractmethod
    def dtypes(self) -> tuple[str, ...]:
        """The floating dtypes (names from DTYPES) this framework computes in."""

    def devices(self) -> tuple[str, ...]:
        """Devices this adapter can place arrays on, ``"cpu"`` first."""
        return ("cpu",)

    @abc.abstractmethod
    def asarray(self, array: np.ndarray, dtype: str, device: str | None = None):
        """A new native array holding ``array`` rounded to ``dtype`` (round to nearest)."""

    @abc.abstractmethod
    def is_native(self, value) -> bool:
        """Whether ``value`` is an array of this framework (what a loss should return)."""

    @abc.abstractmethod
    def _to_numpy(self, value) -> np.ndarray:
        """``value`` (known native) as a numpy array in its own dtype."""

    @abc.abstractmethod
    def dtype_name(self, value) -> str:
        """The dtype of a native array as a name (``"float32"``, ``"int64"``...)."""

    def to_numpy(self, value) -> np.ndarray:
        """A native array as numpy float64; AdapterTypeError for anything else."""
        if not self.is_native(value):
            raise AdapterTypeError(
                f"{describe(value)}, not an array of {self.name}"
            )
        return np.asarray(self._to_numpy(value), dtype=np.float64)

    def round_to(self, array: np.ndarray, dtype: str) -> np.ndarray:
        """``array`` rounded to ``dtype`` the way this framework rounds, back in float64."""
        return self.to_numpy(self.asarray(array, dtype))

    def call(self, fn: Callable, kwargs: Mapping[str, object]):
        """``fn(**kwargs)`` under the precision guard."""
        with self.precision_guard():
            return fn(**kwargs)

    def value_and_grad(
        self, fn: Callable, kwargs: Mapping[str, object], wrt: Sequence[str]
    ) -> tuple[object, dict[str, np.ndarray | None]]:
        """The raw output of ``fn(**kwargs)`` and d(sum of output)/d(kwargs[name]) per name.

        A gradient is None when the output does not depend on that input through the
        framework's autodiff (a detached input). Raises NotImplementedError when the
        framework has no autodiff.
        """
        raise NotImplementedError(f"{self.name} has no automatic differentiation")

    def precision_guard(self) -> contextlib.AbstractContextManager:
        """A context that turns off TF32 and reduced-precision matmul, restoring on exit."""
        return contextlib.nullcontext()

    def seeded(self, seed: int) -> contextlib.AbstractContextManager:
        """A context in which the framework's global random generator is seeded with ``seed``
        (stochastic calls reproduce), restored on exit to the state it had: the user's
        generators are where they were, as pytest-randomly leaves them."""
        return contextlib.nullcontext()

    def random_key(self, seed: int):
        """An explicit random key for functions that take one (the ``key`` argument)."""
        raise NotImplementedError(f"{self.name} takes no random key argument")

    def elementary_ulps(self, dtype: str) -> float:
        """The error of the framework's exp, log, log1p, ... in ulp (see vae_spec.tolerance)."""
        return 4.0

    def prepare(self, fn: Callable) -> Callable:
        """The function as the engine calls it (itself, except where eager calls are slow)."""
        return fn

    def compile(self, fn: Callable) -> Callable:
        """``fn`` under the framework's compiler (torch.compile, tf.function with XLA, jax.jit)."""
        raise NotImplementedError(f"{self.name} has no compiler")


_ADAPTERS: dict[str, tuple[str, str, str, str]] = {
    # name: (adapter module, adapter class, framework module, extra)
    "numpy": ("vae_spec.frameworks.numpy", "NumpyAdapter", "numpy", ""),
    "torch": ("vae_spec.frameworks.torch", "TorchAdapter", "torch", "torch"),
    "tensorflow": ("vae_spec.frameworks.tensorflow", "TensorFlowAdapter", "tensorflow", "tensorflow"),
    "jax": ("vae_spec.frameworks.jax", "JaxAdapter", "jax", "jax"),
    "keras": ("vae_spec.frameworks.keras", "KerasAdapter", "keras", "keras"),
    "array-api": ("vae_spec.frameworks.array_api", "ArrayApiAdapter", "array_api_compat", "array-api"),
}

FRAMEWORKS = tuple(_ADAPTERS)


def framework_of(name: str) -> str:
    """The registry key for a framework name (``array-api:<module>`` -> ``array-api``)."""
    base = name.split(":", 1)[0]
    if base not in _ADAPTERS:
        raise ValueError(
            f"framework: unknown framework {name!r}; expected one of {', '.join(FRAMEWORKS)}"
        )
    return base


def is_installed(name: str) -> bool:
    """Whether a framework can be imported, without importing it."""
    return importlib.util.find_spec(_ADAPTERS[framework_of(name)][2]) is not None


def get_adapter(name: str) -> Adapter:
    """The adapter for ``name``, importing its framework now.

    ``array-api:<module>`` selects an array namespace by module name (default
    array_api_strict). Raises ValueError for an unknown name and FrameworkNotInstalled when
    the framework cannot be imported.
    """
    key = framework_of(name)
    adapter_module, adapter_class, framework_module, extra = _ADAPTERS[key]
    if not is_installed(key):
        hint = f'pip install "vae-spec[{extra}]"' if extra else "pip install numpy"
        raise FrameworkNotInstalled(
            f"framework {key!r} needs the module {framework_module!r}, which is not "
            f"installed; install it with: {hint}"
        )
    cls = getattr(importlib.import_module(adapter_module), adapter_class)
    if key == "array-api":
        return cls(name.split(":", 1)[1] if ":" in name else None)
    return cls()


def adapter_for(target) -> Adapter:
    """The adapter of ``target``'s framework; ValueError when its ``device`` is not one the
    framework can place arrays on here (``"cuda"`` without a GPU)."""
    adapter = get_adapter(target.framework)
    device = target.device
    if device is not None and device.split(":")[0] not in adapter.devices():
        raise ValueError(f"device: {target.framework} cannot place arrays on {device!r} here; "
                         f"available: {', '.join(adapter.devices())}")
    return adapter


def describe(value) -> str:
    """A short description of a value's type for error messages."""
    kind = type(value)
    if isinstance(value, (list, tuple)):
        return f"a {kind.__name__} of length {len(value)}"
    if isinstance(value, (float, int)):
        return f"a Python {kind.__name__} ({value!r})"
    module = kind.__module__.split(".")[0]
    return f"a {module}.{kind.__name__}" if module != "builtins" else f"a {kind.__name__}"


@contextlib.contextmanager
def restoring(getter: Callable[[], object], setter: Callable[[object], None], value) -> Iterator[None]:
    """Set a global setting for the duration of a block, then restore it."""
    previous = getter()
    setter(value)
    try:
        yield
    finally:
        setter(previous)


def _native_dtype(framework: str, table: Mapping[str, object], dtype: str):
    """``table[dtype]``, or a ValueError naming the dtypes ``framework`` computes in."""
    try:
        return table[dtype]
    except KeyError:
        raise ValueError(
            f"dtype: {framework} does not compute in {dtype!r}; expected one of "
            f"{', '.join(table)}"
        ) from None


def _round_nearest_even(array: np.ndarray, dtype: str) -> np.ndarray:
    """``array`` rounded once to ``dtype``, to nearest with ties to even, as a new numpy array.

    The result holds every value of ``dtype`` exactly: float16, float32 and float64 as
    themselves, bfloat16 as float32. Frameworks (and ml_dtypes) cast float64 to bfloat16 or
    float16 through float32, rounding twice: 1 + 2**-8 + 2**-30 lies above the midpoint of
    1 and 1 + 2**-7 but becomes the midpoint 1 + 2**-8 in float32, then 1 by ties to even.
    Casting these exact values to the native dtype rounds nothing.
    """
    array = np.asarray(array, dtype=np.float64)
    with np.errstate(over="ignore"):  # overflow to +-inf is the rounding's correct result
        if dtype == "bfloat16":
            return _bfloat16_values(array)
        # numpy converts float64 to float16 and float32 from the float64 bits: one rounding
        return array.astype(_NUMPY_FLOATS[dtype])


_NUMPY_FLOATS = {"float16": np.float16, "float32": np.float32, "float64": np.float64}


def _bfloat16_values(array: np.ndarray) -> np.ndarray:
    """float64 -> bfloat16 (8 significant bits) with one rounding, as float32 values.

    Round to odd into float32 first (truncate, then set the last bit when inexact), then to
    nearest even into 8 bits. Round to odd into a format with at least 2 more bits than the
    target (float32 has 24; both share the exponent range) keeps the second rounding exact.
    """
    nan = np.isnan(array)
    single = array.astype(np.float32)
    widened = single.astype(np.float64)
    inexact = (widened != array) & ~nan
    rounded_away = inexact & (np.abs(widened) > np.abs(array))
    single = np.where(rounded_away, np.nextafter(single, np.float32(0)), single)
    bits = single.view(np.uint32)
    bits = np.where(inexact, bits | np.uint32(1), bits)
    # nearest even into the top 16 bits: add 0x7fff plus the lowest kept bit, then truncate
    lowest_kept = (bits >> np.uint32(16)) & np.uint32(1)
    bits = (bits + np.uint32(0x7FFF) + lowest_kept) & np.uint32(0xFFFF0000)
    return np.where(nan, np.float32(np.nan), bits.view(np.float32))
