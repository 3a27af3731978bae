"""PyTorch: float16, bfloat16, float32 and float64; gradients through torch.autograd."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from vae_spec.frameworks.base import (
    DTYPES,
    Adapter,
    AdapterTypeError,
    _native_dtype,
    _round_nearest_even,
    describe,
    restoring,
)

_DTYPES = {name: getattr(torch, name) for name in DTYPES}


class TorchAdapter(Adapter):
    """torch tensors on ``"cpu"`` or ``"cuda"`` (any device string torch accepts)."""

    name = "torch"
    module = "torch"
    extra = "torch"

    def dtypes(self) -> tuple[str, ...]:
        return tuple(_DTYPES)

    def devices(self) -> tuple[str, ...]:
        return ("cpu", "cuda") if torch.cuda.is_available() else ("cpu",)

    def asarray(self, array: np.ndarray, dtype: str, device: str | None = None) -> torch.Tensor:
        """A leaf tensor that does not require grad, on ``device`` (None: torch's default)."""
        native = _native_dtype(self.name, _DTYPES, dtype)
        return torch.tensor(_round_nearest_even(array, dtype), dtype=native, device=device)

    def is_native(self, value) -> bool:
        return isinstance(value, torch.Tensor)

    def _to_numpy(self, value: torch.Tensor) -> np.ndarray:
        """The tensor on the CPU; bfloat16 comes back as float32 (exact), numpy having none."""
        tensor = value.detach().cpu()
        if tensor.dtype == torch.bfloat16:
            tensor = tensor.float()
        return tensor.numpy()

    def dtype_name(self, value: torch.Tensor) -> str:
        return str(value.dtype).removeprefix("torch.")

    def value_and_grad(
        self, fn: Callable, kwargs: Mapping[str, object], wrt: Sequence[str]
    ) -> tuple[torch.Tensor, dict[str, np.ndarray | None]]:
        """torch.autograd.grad of the output's sum with respect to fresh leaves.

        Each input in ``wrt`` becomes a new leaf that requires grad, and the function receives
        a copy made from it: a non-leaf tensor, as an encoder's mu and logvar are in training,
        so in-place operations behave as they would there. The caller's tensors are untouched.
        """
        leaves = {name: kwargs[name].detach().clone().requires_grad_(True) for name in wrt}
        inputs = {**kwargs, **{name: leaf.clone() for name, leaf in leaves.items()}}
        with self.precision_guard():
            output = fn(**inputs)
            if not self.is_native(output):
                raise AdapterTypeError(f"{describe(output)}, not a torch tensor")
            if not output.requires_grad:  # no input reaches the output through autograd
                return output, dict.fromkeys(wrt)
            grads = torch.autograd.grad(output.sum(), list(leaves.values()), allow_unused=True)
        return output, {
            name: None if grad is None else self.to_numpy(grad) for name, grad in zip(wrt, grads)
        }

    def precision_guard(self) -> contextlib.AbstractContextManager:
        """float32 matmul, convolution and RNN in full float32 (no TF32, no oneDNN bfloat16),
        and no reduced-precision accumulation in float16 and bfloat16 matmuls."""
        return _restoring_all(_full_precision_settings())

    def compile(self, fn):
        """torch.compile with dynamic shapes, so a new batch size does not recompile."""
        return torch.compile(fn, dynamic=True)

    @contextlib.contextmanager
    def seeded(self, seed: int):
        """torch's CPU and CUDA generators seeded (``torch.manual_seed``), forked and restored."""
        with torch.random.fork_rng(devices=range(torch.cuda.device_count())):
            torch.manual_seed(seed)
            yield


def _full_precision_settings() -> list[tuple[Callable, Callable, object]]:
    """(getter, setter, value) for every setting that trades float32 accuracy for speed.

    torch >= 2.9 sets precision per backend and operation (``fp32_precision``); mixing those
    with the older ``allow_tf32`` flags makes torch's own getters raise, so the older flags
    serve only older torch. The older global matmul precision goes first so that, restored
    last, it wins over the ``allow_tf32`` flag it is coupled to.
    """
    backends = torch.backends
    reductions = [
        _attribute(backends.cuda.matmul, "allow_fp16_reduced_precision_reduction", False),
        _attribute(backends.cuda.matmul, "allow_bf16_reduced_precision_reduction", False),
    ]
    if hasattr(backends, "fp32_precision"):
        operations = [
            backends.cuda.matmul, backends.cudnn.conv, backends.cudnn.rnn,
            backends.mkldnn.matmul, backends.mkldnn.conv, backends.mkldnn.rnn,
        ]
        precision = [_attribute(operation, "fp32_precision", "ieee") for operation in operations]
    else:
        precision = [
            (torch.get_float32_matmul_precision, torch.set_float32_matmul_precision, "highest"),
            _attribute(backends.cuda.matmul, "allow_tf32", False),
            _attribute(backends.cudnn, "allow_tf32", False),
        ]
    return precision + reductions


def _attribute(owner: object, attribute: str, value) -> tuple[Callable, Callable, object]:
    return (
        lambda: getattr(owner, attribute),
        lambda previous: setattr(owner, attribute, previous),
        value,
    )


@contextlib.contextmanager
def _restoring_all(settings: list[tuple[Callable, Callable, object]]) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        for getter, setter, value in settings:
            stack.enter_context(restoring(getter, setter, value))
        yield
