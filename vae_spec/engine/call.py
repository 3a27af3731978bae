"""One call of a user's function, as every part of vae_spec makes it.

``check``, ``diagnose``, the self-test and the compiled variants call a target only through
:class:`Caller`: fresh native copies of the inputs in the dtype and on the target's device, a
fresh random key where the function takes one, the output read back as float64, the inputs the
function modified in place, and the wall time. A deterministic target (no key, no sampling)
is called once per distinct input and dtype (:mod:`vae_spec.memo`).

Every call has a time limit (``timeout`` seconds, default 60). On the main thread of a POSIX
process, a real-time timer interrupts the call when it runs past the limit: Python code (a
``time.sleep``, a loop) stops at once, and native code when it next returns to the interpreter;
the call then fails with :class:`CallTimeout`. A target that timed out once is not called again
in the run: every later call fails at once with the same error, so the report comes without
waiting for each call. A call stuck in native code that ignores the interruption is stopped by a
watchdog ``timeout + 5`` seconds in: the reason goes to stderr and the process exits with status
1 (the stuck thread holds the run's partial results, so no report is printed). A real-time timer
already armed by someone else (pytest-timeout's signal method) is left alone: then only the
watchdog limits the call. Off the main thread calls run without a limit.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import KW_ONLY, dataclass, field

import numpy as np

from ..frameworks.base import AdapterTypeError
from ..memo import Memo, fingerprint


#: seconds a call of the user's function may take, unless the run says otherwise
DEFAULT_TIMEOUT = 60.0
#: seconds a call may run past its timeout, uninterruptible, before the watchdog stops the run
GRACE = 5.0


class CallTimeout(Exception):
    """A call of the user's function ran past its time limit."""

    def __init__(self, seconds: float, inputs: dict):
        shapes = ", ".join(f"{name} {tuple(value.shape)}" for name, value in inputs.items())
        super().__init__(f"the call did not return within {seconds:g} s (inputs {shapes})")


@dataclass
class Call:
    """One call of the target: its output as float64, or what went wrong."""

    output: np.ndarray | None = None
    error: BaseException | None = None
    dtype: str | None = None
    mutated: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Caller:
    """Calls ``target`` through ``adapter``; ``seed`` seeds the random keys it makes."""

    target: object
    adapter: object
    _: KW_ONLY
    seed: int = 0
    calls: int = 0  # random keys made so far
    remember: bool = True  # call a deterministic target once per distinct input and dtype
    timeout: float | None = DEFAULT_TIMEOUT  # seconds per call (None: no limit)
    timed_out: CallTimeout | None = field(default=None, init=False, repr=False)
    # a search revisits the inputs of its current case (the relations of every check), rarely older ones
    memo: Memo = field(default_factory=lambda: Memo(256), init=False, repr=False)

    @property
    def deterministic(self) -> bool:
        """Whether a call is a function of its inputs alone (no random key, no sampling)."""
        return self.target.computes.deterministic and "key" not in self.target.canonical_args

    def natives(self, inputs: dict[str, np.ndarray], dtype: str) -> dict:
        """Fresh native arrays for ``inputs`` on the target's device, and a fresh random key if
        the target takes one."""
        device = self.target.device
        natives = {name: self.adapter.asarray(value, dtype, device) for name, value in inputs.items()}
        if "key" in self.target.canonical_args:
            self.calls += 1
            natives["key"] = self.adapter.random_key(self.seed * 1_000_003 + self.calls)
        return natives

    def call(self, inputs: dict[str, np.ndarray], dtype: str) -> Call:
        """Call the target on fresh native copies of ``inputs`` (float64, already rounded)."""
        if self.remember and self.deterministic:
            return self.memo.get(fingerprint(("call", dtype), inputs.items()).digest(),
                                 lambda: self._call(inputs, dtype))
        return self._call(inputs, dtype)

    def value_and_grad(self, inputs: dict[str, np.ndarray], dtype: str, wrt: Iterable[str]):
        """(Call, gradients) for d(sum of output)/d(input) per name in ``wrt``."""
        wrt = tuple(wrt)
        if self.remember and self.deterministic:
            return self.memo.get(fingerprint(("grad", dtype, wrt), inputs.items()).digest(),
                                 lambda: self._value_and_grad(inputs, dtype, wrt))
        return self._value_and_grad(inputs, dtype, wrt)

    def _call(self, inputs, dtype) -> Call:
        if self.timed_out is not None:
            return Call(error=self.timed_out)
        natives = self.natives(inputs, dtype)
        bound = self.target.bind(natives)
        start = time.perf_counter()
        try:
            with self._limited(inputs):
                raw = self.adapter.call(bound, natives)
        except Exception as exc:  # the user's function raising is a finding, not a crash
            return Call(error=exc, seconds=time.perf_counter() - start)
        return self._finish(raw, inputs, natives, time.perf_counter() - start)

    def _value_and_grad(self, inputs, dtype, wrt):
        if self.timed_out is not None:
            return Call(error=self.timed_out), {}
        natives = self.natives(inputs, dtype)
        bound = self.target.bind(natives)
        start = time.perf_counter()
        try:
            with self._limited(inputs), self.adapter.precision_guard():
                raw, grads = self.adapter.value_and_grad(bound, natives, wrt)
        except Exception as exc:  # an AdapterTypeError (a non-array output) or the function raising
            return Call(error=exc, seconds=time.perf_counter() - start), {}
        return self._finish(raw, inputs, natives, time.perf_counter() - start), grads

    @contextlib.contextmanager
    def _limited(self, inputs):
        """The block under the time limit: CallTimeout when it runs past it (see the module's doc)."""
        if not self.timeout or threading.current_thread() is not threading.main_thread():
            yield
            return
        def interrupt(signum, frame):
            raise CallTimeout(self.timeout, inputs)

        signalled = _timer_is_free()
        if signalled:
            previous = signal.signal(signal.SIGALRM, interrupt)
            signal.setitimer(signal.ITIMER_REAL, self.timeout)
        _watchdog().arm(self.timeout + GRACE, lambda: self._hang(str(CallTimeout(self.timeout, inputs))))
        try:
            yield
        except CallTimeout as exc:
            self.timed_out = exc
            raise
        finally:
            if signalled:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
            _watchdog().disarm()

    def _hang(self, message: str) -> None:
        """The watchdog: the call ignored its interruption; stop the run."""
        message = f"{message} and cannot be interrupted (native code that does not return)"
        from ..quiet import write_now

        write_now(f"vae-spec: {message}; stopping\n")
        os._exit(1)

    def _finish(self, raw, inputs, natives, seconds) -> Call:
        try:
            output = self.adapter.to_numpy(raw)
        except AdapterTypeError as exc:
            return Call(error=exc, seconds=seconds)
        mutated = tuple(
            name for name, value in inputs.items()
            if not _same(self.adapter.to_numpy(natives[name]), value)
        )
        return Call(output=output, dtype=self.adapter.dtype_name(raw), mutated=mutated, seconds=seconds)


def _same(after: np.ndarray, before: np.ndarray) -> bool:
    return after.shape == before.shape and bool(np.array_equal(after, before, equal_nan=True))


def _timer_is_free() -> bool:
    """The real-time timer is ours to use: the platform has one, and none is armed already (one
    armed by pytest-timeout's signal method, say, is left alone; the watchdog still limits)."""
    return hasattr(signal, "setitimer") and signal.getitimer(signal.ITIMER_REAL)[0] == 0


class _Watchdog:
    """One thread that runs an action when a call outlives its deadline (armed per call)."""

    def __init__(self):
        self._condition = threading.Condition()
        self._deadline: float | None = None
        self._action: Callable[[], None] | None = None
        threading.Thread(target=self._watch, name="vae-spec watchdog", daemon=True).start()

    def arm(self, seconds: float, action: Callable[[], None]) -> None:
        with self._condition:
            self._deadline, self._action = time.monotonic() + seconds, action
            self._condition.notify()

    def disarm(self) -> None:
        with self._condition:
            self._deadline = self._action = None

    def _watch(self) -> None:
        while True:
            with self._condition:
                while self._deadline is None or time.monotonic() < self._deadline:
                    self._condition.wait(None if self._deadline is None
                                         else max(self._deadline - time.monotonic(), 0.0))
                action, self._deadline, self._action = self._action, None, None
            action()


_WATCHDOG: list[_Watchdog] = []


def _watchdog() -> _Watchdog:
    if not _WATCHDOG:
        _WATCHDOG.append(_Watchdog())
    return _WATCHDOG[0]
