"""The framework adapters: rounding, round trips, gradients, type errors, guards, registry.

Every comparison here is exact: rounding to a dtype has one right answer (IEEE 754 round to
nearest, ties to even), a value representable in a dtype survives a round trip unchanged,
and d/dx sum(x * x) = 2x is exact in every binary format (doubling only moves the exponent).
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import re
import subprocess
import sys
import textwrap
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from vae_spec.frameworks import (
    FRAMEWORKS,
    AdapterTypeError,
    FrameworkNotInstalled,
    get_adapter,
    is_installed,
)
from vae_spec.frameworks.base import describe

ROOT = Path(__file__).resolve().parents[2]

ADAPTERS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("torch", marks=pytest.mark.framework("torch")),
    pytest.param("tensorflow", marks=pytest.mark.framework("tensorflow")),
    pytest.param("jax", marks=pytest.mark.framework("jax")),
    pytest.param("keras", marks=pytest.mark.framework("keras")),
    pytest.param("array-api", marks=pytest.mark.framework("array-api")),
    pytest.param("array-api:numpy", marks=pytest.mark.framework("array-api")),
    pytest.param(
        "array-api:torch",
        marks=[pytest.mark.framework("array-api"), pytest.mark.framework("torch")],
    ),
]
AUTODIFF = ("torch", "tensorflow", "jax", "keras")
GRAD_ADAPTERS = [param for param in ADAPTERS if param.values[0] in AUTODIFF]


@pytest.fixture(scope="module", params=ADAPTERS)
def adapter(request):
    return get_adapter(request.param)


@pytest.fixture(scope="module", params=GRAD_ADAPTERS)
def grad_adapter(request):
    return get_adapter(request.param)


# ---------------------------------------------------------------- the rounding reference

#: significand bits (hidden bit included), smallest normal exponent, largest exponent
FORMATS = {
    "float16": (11, -14, 15),
    "bfloat16": (8, -126, 127),
    "float32": (24, -126, 127),
    "float64": (53, -1022, 1023),
}


def round_reference(value: float, dtype: str) -> float:
    """IEEE 754 round to nearest, ties to even, from its definition, in exact arithmetic.

    The representable numbers near ``value`` are the integer multiples of 2**quantum, with
    quantum fixed by value's binade (or the subnormal range); Fraction rounds half to even.
    A result of magnitude 2**(emax + 1) or more overflows to infinity.
    """
    precision, emin, emax = FORMATS[dtype]
    if not math.isfinite(value) or value == 0:
        return value
    binade = max(math.frexp(value)[1] - 1, emin)
    quantum = binade - (precision - 1)
    multiple = round(Fraction(value) / Fraction(2) ** quantum)
    result = multiple * Fraction(2) ** quantum
    if abs(result) >= 2 ** (emax + 1):
        return math.copysign(math.inf, value)
    return math.copysign(float(result), value) if multiple == 0 else float(result)


def rounded_reference(values: np.ndarray, dtype: str) -> np.ndarray:
    return np.array([round_reference(float(v), dtype) for v in values.ravel()]).reshape(
        values.shape
    )


def near_midpoints(dtype: str) -> st.SearchStrategy[float]:
    """Midpoints between neighbours of ``dtype`` and the float64 numbers either side of them.

    A float64 number one float64 ulp off a midpoint is where rounding twice (float64 ->
    float32 -> dtype) goes wrong: float32 rounds it onto the midpoint, which then ties.
    Significands below 2**(p-1) at the smallest quantum are the subnormals; the largest
    significand at the largest quantum is the overflow threshold.
    """
    precision, emin, emax = FORMATS[dtype]
    midpoint = st.builds(
        lambda significand, quantum, negative: math.ldexp(
            (-1) ** negative * (2 * significand + 1), quantum - 1
        ),
        st.integers(0, 2**precision - 1),
        st.integers(emin - (precision - 1), emax - (precision - 1)),
        st.booleans(),
    )
    return st.builds(
        lambda value, step: float(np.nextafter(value, step * math.inf)) if step else value,
        midpoint,
        st.sampled_from([-1, 0, 1]),
    )


def float64_values(dtype: str) -> st.SearchStrategy[np.ndarray]:
    """Any float64 numbers, with midpoints of ``dtype`` mixed in when it is narrower."""
    elements = st.floats(allow_nan=True, allow_infinity=True)
    if dtype != "float64":
        elements = st.one_of(elements, near_midpoints(dtype))
    return hnp.arrays(np.float64, st.integers(1, 24), elements=elements)


def assert_same_values(actual: np.ndarray, expected: np.ndarray) -> None:
    """Equal element by element, signed zeros and NaN included."""
    assert actual.dtype == np.float64 and actual.shape == expected.shape
    same = (actual == expected) & (np.signbit(actual) == np.signbit(expected))
    bad = ~(same | (np.isnan(actual) & np.isnan(expected)))
    assert not bad.any(), (
        f"at {np.flatnonzero(bad)[:5]}: {actual[bad][:5].tolist()} != {expected[bad][:5].tolist()}"
    )


@pytest.mark.parametrize("dtype", ["float16", "float32"])
@settings(max_examples=150)
@given(data=st.data())
def test_reference_rounding_agrees_with_numpy(dtype, data):
    # numpy converts float64 to float16/float32 from the float64 bits (one rounding): an
    # independent implementation of the same definition, validating FORMATS and the reference
    values = data.draw(float64_values(dtype))
    with np.errstate(over="ignore"):
        expected = values.astype(dtype).astype(np.float64)
    assert_same_values(rounded_reference(values, dtype), expected)


def test_reference_rounds_the_double_rounding_witness_up():
    # the witness from the rounding helper's docstring: above the midpoint, so it rounds up
    witness = 1 + 2**-8 + 2**-30
    assert round_reference(witness, "bfloat16") == 1 + 2**-7
    assert float(np.float32(witness)) == 1 + 2**-8  # float32 alone lands on the midpoint


# ---------------------------------------------------------------- dtypes, rounding, round trips

EXPECTED_DTYPES = {
    "numpy": ("float16", "float32", "float64"),
    "torch": ("float16", "bfloat16", "float32", "float64"),
    "tensorflow": ("float16", "bfloat16", "float32", "float64"),
    "jax": ("float16", "bfloat16", "float32", "float64"),
    "array-api": ("float32", "float64"),
}


def test_dtypes(adapter):
    framework = adapter.backend if adapter.name == "keras" else adapter.name
    assert adapter.dtypes() == EXPECTED_DTYPES[framework]


@settings(max_examples=40)
@given(data=st.data())
def test_round_to_rounds_once_to_nearest_even(adapter, data):
    for dtype in adapter.dtypes():
        values = data.draw(float64_values(dtype), label=dtype)
        assert_same_values(adapter.round_to(values, dtype), rounded_reference(values, dtype))


@settings(max_examples=20)
@given(data=st.data())
def test_representable_values_round_trip_exactly(adapter, data):
    for dtype in adapter.dtypes():
        drawn = data.draw(float64_values(dtype), label=dtype)
        representable = rounded_reference(drawn, dtype)
        native = adapter.asarray(representable, dtype)
        assert adapter.is_native(native)
        assert adapter.dtype_name(native) == dtype
        assert_same_values(adapter.to_numpy(native), representable)


def test_asarray_copies(adapter):
    source = np.array([0.5, -1.25, 3.0])
    native = adapter.asarray(source, "float64")
    source[:] = 7.0
    assert adapter.to_numpy(native).tolist() == [0.5, -1.25, 3.0]


def test_asarray_on_the_cpu_device_keeps_shape(adapter):
    assert adapter.devices()[0] == "cpu"
    source = np.arange(6.0).reshape(2, 3, 1)
    native = adapter.asarray(source, "float32", device="cpu")
    assert adapter.to_numpy(native).tolist() == source.tolist()


def test_asarray_refuses_a_dtype_the_framework_lacks():
    with pytest.raises(ValueError, match="numpy does not compute in 'bfloat16'"):
        get_adapter("numpy").asarray(np.ones(2), "bfloat16")


@pytest.mark.framework("array-api")
def test_array_api_refuses_half_precision_and_other_devices():
    adapter = get_adapter("array-api")
    with pytest.raises(ValueError, match="'float16'"):
        adapter.asarray(np.ones(2), "float16")
    with pytest.raises(ValueError, match="device"):
        adapter.asarray(np.ones(2), "float32", device="gpu")


def test_numpy_accepts_scalars_that_numpy_losses_return():
    adapter = get_adapter("numpy")
    scalars = [(np.float64(2.5), "float64"), (np.float32(2.5), "float32"), (2.5, "float64")]
    for value, dtype in scalars:
        assert adapter.is_native(value)
        assert adapter.dtype_name(value) == dtype
        assert adapter.to_numpy(value) == 2.5


@pytest.mark.framework("array-api")
def test_array_api_numpy_returns_numpy_scalars_as_native():
    adapter = get_adapter("array-api:numpy")
    total = adapter.xp.sum(adapter.asarray(np.array([0.5, 2.0]), "float64"))
    assert adapter.is_native(total) and adapter.to_numpy(total) == 2.5


# ---------------------------------------------------------------- type errors

def foreign_values(adapter) -> list:
    """Values a loss might return that are not the adapter's arrays."""
    values = [[1.0, 2.0], "1.0"]
    if adapter.name == "numpy":
        return values + [1]
    # numpy arrays are another framework's tensors, and Python floats are no tensor at all
    foreign = [1.0]
    if not adapter.is_native(np.ones(2)):
        foreign.append(np.ones(2))
    return values + foreign


def test_to_numpy_refuses_what_is_not_native(adapter):
    for value in foreign_values(adapter):
        assert not adapter.is_native(value)
        with pytest.raises(AdapterTypeError, match=re.escape(describe(value))):
            adapter.to_numpy(value)


@pytest.mark.framework("torch")
def test_tensors_of_one_framework_are_foreign_to_another():
    import torch

    tensor = torch.ones(2)
    for name in ("numpy", "tensorflow", "jax", "array-api"):
        if is_installed(name):
            assert not get_adapter(name).is_native(tensor)


def test_value_and_grad_refuses_non_native_outputs(grad_adapter):
    x = grad_adapter.asarray(np.array([1.0, 2.0]), "float32")
    for value in foreign_values(grad_adapter):
        with pytest.raises(AdapterTypeError, match=", not a"):
            grad_adapter.value_and_grad(lambda x, value=value: value, {"x": x}, ["x"])


def test_frameworks_without_autodiff_say_so():
    adapter = get_adapter("numpy")
    assert not adapter.supports_grad
    with pytest.raises(NotImplementedError, match="numpy"):
        adapter.value_and_grad(lambda x: x, {"x": np.ones(1)}, ["x"])


def test_exceptions_from_the_function_propagate(grad_adapter):
    def raises(x):
        raise ZeroDivisionError("from the loss")

    x = grad_adapter.asarray(np.ones(2), "float32")
    with pytest.raises(ZeroDivisionError, match="from the loss"):
        grad_adapter.value_and_grad(raises, {"x": x}, ["x"])


# ---------------------------------------------------------------- gradients

def framework_ops(adapter):
    """(sum, stop_gradient, count of positives as an integer) in the framework's functions."""
    framework = adapter.backend if adapter.name == "keras" else adapter.name
    if adapter.name == "keras":
        import keras

        return (
            keras.ops.sum, keras.ops.stop_gradient,
            lambda x: keras.ops.sum(keras.ops.cast(x > 0, "int32")),
        )
    if framework == "torch":
        import torch

        return torch.sum, torch.Tensor.detach, lambda x: (x > 0).sum()
    if framework == "tensorflow":
        import tensorflow as tf

        return tf.reduce_sum, tf.stop_gradient, lambda x: tf.reduce_sum(tf.cast(x > 0, tf.int32))
    import jax
    import jax.numpy as jnp

    return jnp.sum, jax.lax.stop_gradient, lambda x: jnp.sum(x > 0)


def moderate_values(dtype: str, seed: int) -> np.ndarray:
    # |x| < 8: x * x and its sum stay far below float16's largest value, 65504
    values = np.random.default_rng(seed).uniform(-8.0, 8.0, size=(3, 4))
    return rounded_reference(values, dtype)


def test_gradient_of_sum_of_squares_is_twice_the_input(grad_adapter):
    total, _, _ = framework_ops(grad_adapter)

    def fn(x, c):
        return total(x * x) + c

    for dtype in grad_adapter.dtypes():
        x_values = moderate_values(dtype, seed=1)
        kwargs = {"x": grad_adapter.asarray(x_values, dtype), "c": grad_adapter.asarray(0.5, dtype)}
        output, grads = grad_adapter.value_and_grad(fn, kwargs, ["x"])
        assert list(grads) == ["x"]
        assert grads["x"].dtype == np.float64
        assert grads["x"].tolist() == (2 * x_values).tolist(), dtype
        # the raw output is what a plain call returns
        assert grad_adapter.to_numpy(output) == grad_adapter.to_numpy(grad_adapter.call(fn, kwargs))


def test_detached_inputs_have_no_gradient(grad_adapter):
    total, stop_gradient, _ = framework_ops(grad_adapter)
    x_values, y_values = moderate_values("float32", seed=2), moderate_values("float32", seed=3)
    kwargs = {
        "x": grad_adapter.asarray(x_values, "float32"),
        "y": grad_adapter.asarray(y_values, "float32"),
    }
    _, grads = grad_adapter.value_and_grad(
        lambda x, y: total(x * x) + total(stop_gradient(y)), kwargs, ["x", "y"]
    )
    assert grads["x"].tolist() == (2 * x_values).tolist()
    assert grads["y"] is None
    # nothing reaches the output at all
    _, grads = grad_adapter.value_and_grad(
        lambda x, y: total(stop_gradient(x)), kwargs, ["x", "y"]
    )
    assert grads == {"x": None, "y": None}


def test_integer_outputs_have_no_gradient(grad_adapter):
    _, _, count_positive = framework_ops(grad_adapter)
    x = grad_adapter.asarray(np.array([-1.0, 2.0, 3.0]), "float32")
    output, grads = grad_adapter.value_and_grad(lambda x: count_positive(x), {"x": x}, ["x"])
    assert grad_adapter.to_numpy(output) == 2.0
    assert grads == {"x": None}


def test_one_tensor_under_two_names_gets_two_gradients(grad_adapter):
    total, _, _ = framework_ops(grad_adapter)
    values = moderate_values("float64", seed=4)
    shared = grad_adapter.asarray(values, "float64")
    _, grads = grad_adapter.value_and_grad(
        lambda a, b: total(a * b), {"a": shared, "b": shared}, ["a", "b"]
    )
    # d/da sum(a * b) = b and d/db = a, both the shared values; a sum of the two would be 2x
    assert grads["a"].tolist() == values.tolist()
    assert grads["b"].tolist() == values.tolist()


@pytest.mark.framework("torch")
def test_torch_inputs_are_left_untouched_and_may_be_changed_in_place():
    import torch

    adapter = get_adapter("torch")
    x = adapter.asarray(np.array([1.0, -2.0]), "float64")
    output, grads = adapter.value_and_grad(lambda x: x.mul_(3.0).sum(), {"x": x}, ["x"])
    assert grads["x"].tolist() == [3.0, 3.0]
    assert x.tolist() == [1.0, -2.0] and not x.requires_grad and x.grad is None
    assert isinstance(output, torch.Tensor)


@pytest.mark.framework("jax")
def test_jax_stop_gradient_inside_jit_has_no_gradient():
    import jax
    import jax.numpy as jnp

    adapter = get_adapter("jax")

    @jax.jit
    def fn(x, y):
        return jnp.sum(x * x) + jnp.sum(jax.lax.stop_gradient(y) * 2.0)

    kwargs = {
        "x": adapter.asarray(np.array([1.5, -2.0]), "float64"),
        "y": adapter.asarray(np.ones(2), "float64"),
    }
    _, grads = adapter.value_and_grad(fn, kwargs, ["x", "y"])
    assert grads["x"].tolist() == [3.0, -4.0] and grads["y"] is None


@pytest.mark.framework("jax")
def test_jax_adapter_turns_on_float64():
    import jax

    get_adapter("jax")
    assert jax.config.jax_enable_x64


# ---------------------------------------------------------------- precision guard, seeds

def precision_state(framework: str):
    """Every setting the framework's guard controls, read directly."""
    if framework == "torch":
        import torch

        backends = torch.backends
        operations = [
            backends.cuda.matmul, backends.cudnn.conv, backends.cudnn.rnn,
            backends.mkldnn.matmul, backends.mkldnn.conv, backends.mkldnn.rnn,
        ]
        return (
            [operation.fp32_precision for operation in operations],
            backends.cuda.matmul.allow_fp16_reduced_precision_reduction,
            backends.cuda.matmul.allow_bf16_reduced_precision_reduction,
        )
    if framework == "tensorflow":
        import tensorflow as tf

        return tf.config.experimental.tensor_float_32_execution_enabled()
    import jax

    return jax.config.jax_default_matmul_precision


FULL_PRECISION = {
    "torch": (["ieee"] * 6, False, False),
    "tensorflow": False,
    "jax": "highest",
}


@contextlib.contextmanager
def reduced_precision(framework: str):
    """The framework's fast, reduced-precision settings for the block (what users turn on)."""
    if framework == "torch":
        import torch

        backends = torch.backends
        settings_ = [
            (backends.cuda.matmul, "fp32_precision", "tf32"),
            (backends.mkldnn.matmul, "fp32_precision", "bf16"),
            (backends.cuda.matmul, "allow_fp16_reduced_precision_reduction", True),
        ]
        previous = [getattr(owner, name) for owner, name, _ in settings_]
        for owner, name, value in settings_:
            setattr(owner, name, value)
        try:
            yield
        finally:
            for (owner, name, _), value in zip(settings_, previous):
                setattr(owner, name, value)
    elif framework == "tensorflow":
        import tensorflow as tf

        previous = tf.config.experimental.tensor_float_32_execution_enabled()
        tf.config.experimental.enable_tensor_float_32_execution(True)
        try:
            yield
        finally:
            tf.config.experimental.enable_tensor_float_32_execution(previous)
    else:
        import jax

        with jax.default_matmul_precision("bfloat16"):
            yield


GUARDED = [
    pytest.param(name, marks=pytest.mark.framework(name)) for name in ("torch", "tensorflow", "jax")
]


@pytest.mark.parametrize("framework", GUARDED)
def test_precision_guard_sets_full_precision_and_restores(framework):
    adapter = get_adapter(framework)
    for reduce in (reduced_precision, lambda framework: contextlib.nullcontext()):
        with reduce(framework):
            before = precision_state(framework)
            with adapter.precision_guard():
                assert precision_state(framework) == FULL_PRECISION[framework]
            assert precision_state(framework) == before
            with pytest.raises(RuntimeError), adapter.precision_guard():
                raise RuntimeError
            assert precision_state(framework) == before


@pytest.mark.framework("torch")
def test_torch_guard_before_per_operation_precision_uses_the_older_flags(monkeypatch):
    # torch < 2.9 has no fp32_precision settings: remove them and the guard must fall back
    import torch

    backends = torch.backends
    monkeypatch.delattr(type(backends), "fp32_precision")

    def state():
        return (
            torch.get_float32_matmul_precision(), backends.cuda.matmul.allow_tf32,
            backends.cudnn.allow_tf32, backends.cuda.matmul.allow_fp16_reduced_precision_reduction,
        )

    adapter = get_adapter("torch")
    previous = state()
    torch.set_float32_matmul_precision("high")  # float32 matmul through TF32
    try:
        before = state()
        assert before[:2] == ("high", True)
        with adapter.precision_guard():
            assert state() == ("highest", False, False, False)
        assert state() == before
    finally:
        torch.set_float32_matmul_precision(previous[0])
        backends.cudnn.allow_tf32 = previous[2]
    assert state() == previous


@pytest.mark.framework("keras")
def test_keras_precision_guard_is_its_backends():
    adapter = get_adapter("keras")
    framework = adapter.backend
    before = precision_state(framework)
    with adapter.precision_guard():
        assert precision_state(framework) == FULL_PRECISION[framework]
    assert precision_state(framework) == before


def draw_random(adapter):
    """Three numbers from the framework's global generator."""
    if adapter.name == "numpy":
        return np.random.rand(3).tolist()
    if adapter.name == "keras":
        import keras

        return keras.ops.convert_to_numpy(keras.random.uniform((3,))).tolist()
    if adapter.name == "torch":
        import torch

        return torch.rand(3).tolist()
    import tensorflow as tf

    return tf.random.uniform([3]).numpy().tolist()


SEEDED = [
    param for param in ADAPTERS if param.values[0] in ("numpy", "torch", "tensorflow", "keras")
]


@pytest.mark.parametrize("framework", SEEDED)
def test_seeded_makes_global_draws_repeat(framework):
    adapter = get_adapter(framework)
    with adapter.seeded(7):
        first = draw_random(adapter)
    with adapter.seeded(7):
        assert draw_random(adapter) == first
    with adapter.seeded(8):
        assert draw_random(adapter) != first


@pytest.mark.parametrize("framework", SEEDED)
def test_seeded_restores_the_users_generators(framework):
    """After a seeded block the user's streams go on as if it had not run: numpy's, python's
    (which keras seeds) and the framework's (TensorFlow's restarts from the user's seed: its
    position cannot be read)."""
    import random

    adapter = get_adapter(framework)

    def after_a_seeded_block(draw):
        _user_seed(framework, 123)
        with adapter.seeded(7):
            draw_random(adapter)
        return draw()

    def without_it(draw):
        _user_seed(framework, 123)
        return draw()

    for draw in (random.random, np.random.random, lambda: draw_random(adapter)):
        assert after_a_seeded_block(draw) == without_it(draw)


def _user_seed(framework, seed):
    import random

    random.seed(seed)
    np.random.seed(seed)
    if framework == "torch":
        import torch

        torch.manual_seed(seed)
    elif framework in ("tensorflow", "keras"):
        import keras

        keras.utils.set_random_seed(seed) if framework == "keras" else __import__("tensorflow").random.set_seed(seed)


# ---------------------------------------------------------------- registry and lazy import

def test_unknown_frameworks_are_value_errors():
    for name in ("pytorch", "", "array_api", "keras3:jax"):
        with pytest.raises(ValueError, match="unknown framework"):
            get_adapter(name)


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_missing_framework_names_what_to_install(framework, monkeypatch):
    from vae_spec.frameworks.base import _ADAPTERS

    missing = _ADAPTERS[framework][2]
    find_spec = importlib.util.find_spec

    def find_spec_without_framework(name, *args):
        return None if name == missing else find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec_without_framework)
    assert not is_installed(framework)
    extra = _ADAPTERS[framework][3]
    hint = f'pip install "vae-spec[{extra}]"' if extra else "pip install numpy"
    with pytest.raises(FrameworkNotInstalled, match=f"'{missing}'.*{re.escape(hint)}"):
        get_adapter(framework)


@pytest.mark.framework("array-api")
def test_array_api_module_that_is_missing_or_not_an_array_library():
    with pytest.raises(FrameworkNotInstalled, match="no_such_array_library"):
        get_adapter("array-api:no_such_array_library")
    with pytest.raises(ValueError, match="has no asarray"):
        get_adapter("array-api:math")


def test_importing_the_adapters_imports_no_framework():
    heavy = ["torch", "tensorflow", "jax", "keras", "array_api_strict", "array_api_compat"]
    script = (
        "import sys, vae_spec.frameworks; "
        f"loaded = [name for name in {heavy!r} if name in sys.modules]; "
        "assert not loaded, loaded"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.framework("keras")
def test_keras_backends_without_an_adapter_are_refused(monkeypatch):
    import keras

    from vae_spec.frameworks.keras import KerasAdapter

    monkeypatch.setattr(keras.backend, "backend", lambda: "openvino")
    with pytest.raises(ValueError, match="'openvino' is not supported"):
        KerasAdapter()


KERAS_SCRIPT = textwrap.dedent(
    """
    import os
    import numpy as np
    from vae_spec.frameworks import get_adapter

    adapter = get_adapter("keras")
    import keras

    assert adapter.backend == os.environ["KERAS_BACKEND"], adapter.backend
    assert adapter.backend_adapter.name == adapter.backend
    witness = np.array([1 + 2**-8 + 2**-30, -0.5, 3.0])
    assert adapter.round_to(witness, "bfloat16").tolist() == [1 + 2**-7, -0.5, 3.0]
    assert adapter.round_to(witness, "float64").tolist() == witness.tolist()
    x = adapter.asarray(witness, "float32")
    assert adapter.is_native(x) and adapter.dtype_name(x) == "float32"
    assert not adapter.is_native(witness)
    fn = lambda x, y: keras.ops.sum(x * x) + keras.ops.sum(keras.ops.stop_gradient(y))
    output, grads = adapter.value_and_grad(fn, {"x": x, "y": x}, ["x", "y"])
    assert adapter.is_native(output)
    assert grads["x"].tolist() == (2 * adapter.to_numpy(x)).tolist(), grads
    assert grads["y"] is None
    print("ok")
    """
)


@pytest.mark.framework("keras")
@pytest.mark.parametrize(
    "backend",
    [pytest.param(name, marks=pytest.mark.framework(name)) for name in ("jax", "torch")],
)
def test_keras_under_other_backends(backend):
    environment = {**os.environ, "KERAS_BACKEND": backend}
    result = subprocess.run(
        [sys.executable, "-c", KERAS_SCRIPT], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-3000:]


# ---------------------------------------------------------------- jax: jit, or eager with a note

@pytest.mark.framework("jax")
def test_a_jax_loss_that_cannot_be_traced_is_checked_eagerly_with_a_note():
    import jax.numpy as jnp

    from vae_spec import Convention, Target, check

    def python_branch(x_recon, x, mu, logvar):
        kl = -0.5 * jnp.sum(1 + logvar - mu**2 - jnp.exp(logvar), axis=1)
        bce = -jnp.sum(x * jnp.log(x_recon) + (1 - x) * jnp.log1p(-x_recon), axis=1)
        if float(jnp.max(kl)) < 0:  # a Python branch on a value: jax.jit cannot trace it
            raise ValueError("negative KL")
        return jnp.mean(bce + kl)

    report = check(Target(python_branch, framework="jax", likelihood="bernoulli-probs",
                          convention=Convention()), max_examples=5, checks=["value"])
    assert report.passed
    assert any("cannot be compiled (ConcretizationTypeError" in note for note in report.notes)


@pytest.mark.framework("jax")
def test_jit_is_kept_when_the_function_raises_its_own_error():
    adapter = get_adapter("jax")
    calls = []

    def odd_batches_raise(a):
        calls.append(a.shape)
        if a.shape[0] % 2:
            raise ValueError("odd batch")
        return a.sum()

    run = adapter.prepare(odd_batches_raise)
    with pytest.raises(ValueError, match="odd batch"):
        run(adapter.asarray(np.ones(3), "float32"))
    assert run.fallback is None
    assert float(run(adapter.asarray(np.ones(2), "float32"))) == 2.0 and run.fallback is None


# ---------------------------------------------------------------- Target.device places every input

@pytest.mark.framework("torch")
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    "not __import__('torch').cuda.is_available()", reason="no CUDA device on this machine"))])
def test_every_input_is_placed_on_the_targets_device(device):
    import torch

    from vae_spec import Target, check, diagnose

    seen = set()

    def placed(x_recon, x, mu, logvar):
        seen.update(t.device.type for t in (x_recon, x, mu, logvar))
        bce = torch.nn.functional.binary_cross_entropy(x_recon, x, reduction="sum")
        return (bce - 0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())) / x.shape[0]

    target = Target(placed, framework="torch", likelihood="bernoulli-probs", device=device)
    assert check(target, max_examples=5).passed
    assert diagnose(Target(placed, framework="torch", device=device)).is_elbo
    assert seen == {device}


def test_a_device_the_framework_lacks_here_is_refused():
    from vae_spec import Target, check

    target = Target(lambda x_recon, x, mu, logvar: 0.0, framework="numpy", likelihood="bernoulli-probs",
                    device="cuda")
    with pytest.raises(ValueError, match="device: numpy cannot place arrays on 'cuda' here; available: cpu"):
        check(target)
