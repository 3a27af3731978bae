"""The machinery every check shares: calling the target on a case, and the hypothesis search.

A check is a property of one case: it returns None when the case conforms, a
:class:`Failure` when it does not, or :data:`SKIP` when the case says nothing (the function
raised, which the ``returns_array`` check reports; the expected value overflows the dtype).
:func:`search` runs the property under hypothesis, keeps the shrunk minimal failing case and
turns it into a :class:`~vae_spec.report.CheckResult` with a counterexample and a repro.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis.errors import HypothesisException

from .. import reference, tolerance
from ..frameworks.base import AdapterTypeError
from ..engine.layout import Layout, declared_layout
from ..report import CheckResult, repro_snippet
from ..strategies import Case, cases, classic_cases

SKIP = object()


@dataclass
class Call:
    """One call of the target: its output as float64, or what went wrong."""

    output: np.ndarray | None = None
    error: BaseException | None = None
    dtype: str | None = None
    mutated: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Failure:
    """Why a case does not conform."""

    message: str
    error: float | None = None
    bound: float | None = None
    margin: float | None = None
    output: object = None
    expected: object = None
    code: str | None = None
    severity: str = "error"


@dataclass
class Context:
    """A target with its adapter and the search settings of one ``check`` run."""

    target: object
    adapter: object
    dtypes: tuple[str, ...]
    max_examples: int = 50
    seed: int = 0
    regimes: tuple[str, ...] = ("typical", "near-prior", "wide")
    buckets: tuple | None = None  # fixed (B, d, D) size parameters, for compiled variants
    layout: Layout | None = None  # the shapes the function takes (the declared ones by default)
    calls: int = 0

    def __post_init__(self):
        if self.layout is None:
            self.layout = declared_layout(self.target, self.dtypes)

    def cases(self, **kwargs):
        """The strategy of cases for this target, within its layout and dtypes."""
        return cases(self.target, self.dtypes, self.regimes, buckets=self.buckets, layout=self.layout, **kwargs)

    def round(self, case: Case) -> dict[str, np.ndarray]:
        """The case's inputs rounded to its dtype, as float64 (what the function receives).

        A value that rounds to a subnormal number of the dtype becomes 0: TensorFlow and XLA
        read subnormal inputs as 0 (denormals-are-zero, see :mod:`vae_spec.tolerance`), and a
        zeroed mu of 1e-45 moves a gradient scaled by 1 / sigma^2 = e^23 by 1e-35, more than
        any bound in output units allows. No VAE input lives there.
        """
        return {name: _flush_subnormals(self.adapter.round_to(value, case.dtype), case.dtype)
                for name, value in case.inputs.items()}

    def natives(self, inputs: dict[str, np.ndarray], dtype: str) -> dict:
        """Fresh native arrays for ``inputs``, and a fresh random key if the target takes one."""
        device = self.target.device
        natives = {name: self.adapter.asarray(value, dtype, device) for name, value in inputs.items()}
        if "key" in self.target.canonical_args:
            self.calls += 1
            natives["key"] = self.adapter.random_key(self.seed * 1_000_003 + self.calls)
        return natives

    def call(self, inputs: dict[str, np.ndarray], dtype: str) -> Call:
        """Call the target on fresh native copies of ``inputs`` (float64, already rounded)."""
        natives = self.natives(inputs, dtype)
        bound = self.target.bind(natives)
        try:
            raw = self.adapter.call(bound, natives)
        except Exception as exc:  # the user's function raising is a finding, not a crash
            return Call(error=exc)
        return self._finish(raw, inputs, natives)

    def value_and_grad(self, inputs: dict[str, np.ndarray], dtype: str, wrt: Iterable[str]):
        """(Call, gradients) for d(sum of output)/d(input) per name in ``wrt``."""
        natives = self.natives(inputs, dtype)
        bound = self.target.bind(natives)
        try:
            with self.adapter.precision_guard():
                raw, grads = self.adapter.value_and_grad(bound, natives, tuple(wrt))
        except Exception as exc:  # an AdapterTypeError (a non-array output) or the function raising
            return Call(error=exc), {}
        return self._finish(raw, inputs, natives), grads

    def _finish(self, raw, inputs, natives) -> Call:
        try:
            output = self.adapter.to_numpy(raw)
        except AdapterTypeError as exc:
            return Call(error=exc)
        mutated = tuple(
            name for name, value in inputs.items()
            if not _same(self.adapter.to_numpy(natives[name]), value)
        )
        return Call(output=output, dtype=self.adapter.dtype_name(raw), mutated=mutated)

    def expected(self, inputs: dict[str, np.ndarray]) -> reference.Expected:
        return reference.expected(self.target, inputs)


def _flush_subnormals(values: np.ndarray, dtype: str) -> np.ndarray:
    smallest_normal = tolerance.SMALLEST_NORMAL[dtype]
    return np.where(np.abs(values) < smallest_normal, 0.0, values)


def _same(after: np.ndarray, before: np.ndarray) -> bool:
    return after.shape == before.shape and bool(np.array_equal(after, before, equal_nan=True))


def expected_shape(target, batch: int) -> tuple[int, ...]:
    """() for a batch mean or sum, (B,) where either term is kept per example."""
    return (batch,) if target.convention.per_example_output else ()


def shape_ok(target, output: np.ndarray, batch: int) -> bool:
    """The declared shape; a size-1 vector is accepted where a scalar is declared."""
    want = expected_shape(target, batch)
    return output.shape == want or (want == () and output.shape == (1,))


@dataclass
class Evaluation:
    """A conforming-shaped, finite output with the spec's value and the derived bound."""

    output: np.ndarray
    expected: reference.Expected
    limit: np.ndarray


def evaluate(ctx: Context, inputs: dict[str, np.ndarray], dtype: str) -> Evaluation | None:
    """Call the target and the spec on ``inputs``; None when the case says nothing here.

    Nothing is said when the call fails or has the wrong shape (returns_array and shape
    report those), when the output is not finite (the finite check), or when the spec's value
    overflows the dtype.
    """
    call = ctx.call(inputs, dtype)
    if not call.ok or not shape_ok(ctx.target, call.output, next(iter(inputs.values())).shape[0]):
        return None
    expected = ctx.expected(inputs)
    if not tolerance.representable(expected.value, dtype).all() or not np.isfinite(call.output).all():
        return None
    limit = tolerance.bound(expected.magnitude, dtype, expected.n_summands, ctx.adapter.elementary_ulps(dtype))
    return Evaluation(call.output.reshape(expected.value.shape), expected, limit)


class _CaseFailed(AssertionError):
    pass


def search(
    ctx: Context,
    name: str,
    code: str,
    prop: Callable[[Case], object],
    *,
    strategy=None,
    pinned: bool = True,
    max_examples: int | None = None,
) -> CheckResult:
    """Run ``prop`` over drawn cases; return the check's result with the minimal failure.

    ``max_examples`` caps the cases below the context's number (for expensive properties).
    """
    state = {"examples": 0, "skipped": 0, "last": None, "first_failure": None, "warning": None}
    start = time.perf_counter()

    def test(case):
        state["examples"] += 1
        outcome = prop(case)
        if outcome is SKIP:
            state["skipped"] += 1
            return
        if isinstance(outcome, Failure) and outcome.severity == "warning":
            # a warning does not stop the search: an error may still be found; the worst is kept
            worst = state["warning"]
            if worst is None or (outcome.margin or 0.0) > (worst[1].margin or 0.0):
                state["warning"] = (case, outcome)
            return
        if isinstance(outcome, Failure):
            state["last"] = (case, outcome)
            if state["first_failure"] is None:
                state["first_failure"] = time.perf_counter() - start
            raise _CaseFailed(outcome.message)

    strategy = strategy if strategy is not None else ctx.cases()
    wrapped = given(strategy)(test)
    if pinned and not ctx.buckets:
        for dtype in ctx.dtypes:
            for case in classic_cases(ctx.target, dtype, ctx.layout):
                wrapped = example(case)(wrapped)
        real = ctx.target.example
        if real is not None:  # the user's own call, in its own dtype where it is checked
            dtype = real.dtype if real.dtype in ctx.dtypes else ctx.dtypes[0]
            wrapped = example(Case(dict(real.inputs), dtype, "example"))(wrapped)
    wrapped = settings(
        max_examples=min(ctx.max_examples, max_examples or ctx.max_examples), deadline=None, database=None, derandomize=False,
        report_multiple_bugs=False, print_blob=False,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
    )(wrapped)
    wrapped = seed(ctx.seed)(wrapped)
    try:
        wrapped()
    except _CaseFailed:
        pass
    except HypothesisException as exc:
        if state["last"] is None:
            return CheckResult(name, "error", f"the search could not run: {exc}", code=code,
                               examples=state["examples"], seconds=time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if state["last"] is None and state["warning"] is not None:
        state["last"] = state["warning"]  # reported as a warning: the check does not fail
    if state["last"] is None:
        ran = state["examples"] - state["skipped"]
        if ran == 0:
            return CheckResult(name, "skip", "no case could be evaluated (see the other checks)",
                               examples=state["examples"], seconds=seconds)
        return CheckResult(name, "pass", f"{ran} cases conform", examples=ran, seconds=seconds)
    drawn, failure = state["last"]
    # strategies of the batch checks draw (case, repeats) or (case, order); the failure's
    # message states the repeats or the order, the counterexample holds the case
    case = drawn[0] if isinstance(drawn, tuple) else drawn
    inputs = ctx.round(case)
    counterexample = {
        "dtype": case.dtype, "regime": case.regime,
        "inputs": {k: v.tolist() for k, v in inputs.items()},
    }
    if failure.output is not None:
        counterexample["output"] = np.asarray(failure.output, dtype=np.float64).tolist()
    if failure.expected is not None:
        counterexample["expected"] = np.asarray(failure.expected, dtype=np.float64).tolist()
    return CheckResult(
        name, "fail", failure.message, code=failure.code or code, severity=failure.severity,
        max_error=failure.error, bound=failure.bound, margin=failure.margin,
        counterexample=counterexample, repro=repro_snippet(ctx.target, inputs, case.dtype),
        examples=state["examples"], seconds=seconds, seconds_to_failure=state["first_failure"],
    )
