"""The machinery every check shares: calling the target on a case, and the hypothesis search.

A check is a property of one case: it returns None when the case conforms, a
:class:`Failure` when it does not, or :data:`SKIP` when the case says nothing (the function
raised, which the ``returns_array`` check reports; the expected value overflows the dtype).
:func:`run` searches the properties of every check of a run on one set of cases; a property
that fails there is searched again alone (:func:`search`), which shrinks its failing case to a
minimal one, and becomes a :class:`~vae_spec.report.CheckResult` with a counterexample and a
repro.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis.errors import HypothesisException

from .. import artifacts, reference, tolerance
from ..engine.call import Caller
from ..engine.layout import Layout, declared_layout
from ..memo import fingerprint
from ..report import CheckResult, repro_snippet
from ..strategies import Case, cases, classic_cases, reproducible_draws

SKIP = object()


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

    @classmethod
    def beyond(cls, message: str, comparison, output, expected, **rest) -> "Failure":
        """A failure whose evidence is a comparison past its bound (:func:`vae_spec.tolerance.compare`)."""
        return cls(message, error=comparison.error, bound=comparison.bound, margin=comparison.margin,
                   output=output, expected=expected, **rest)


@dataclass
class Context(Caller):
    """A target with its adapter and the search settings of one ``check`` run.

    Calls go through :class:`~vae_spec.engine.call.Caller`: a deterministic target is called
    once per distinct input, so the checks of one search share the cases' calls.
    """

    dtypes: tuple[str, ...]
    max_examples: int = 50
    regimes: tuple[str, ...] = ("typical", "near-prior", "wide")
    buckets: tuple | None = None  # fixed (B, d, D) size parameters, for functions that compile per shape
    pin: bool = True  # search the pinned classic cases and the user's example first
    layout: Layout | None = None  # the shapes the function takes (the declared ones by default)
    examples: reference.ExampleCache = field(default_factory=reference.ExampleCache, init=False, repr=False)
    interrupted: bool = field(default=False, init=False)  # Ctrl-C stopped a search: results are partial
    progress: Callable[[str], None] | None = field(default=None, repr=False)  # a line of what runs now
    artifacts: str | None = None  # where large counterexamples are saved (artifacts.DEFAULT_DIRECTORY)

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

    def expected(self, inputs: dict[str, np.ndarray]) -> reference.Expected:
        return self.memo.get(fingerprint("expected", inputs.items()).digest(),
                             lambda: reference.expected(self.target, inputs, self.examples))


def _flush_subnormals(values: np.ndarray, dtype: str) -> np.ndarray:
    smallest_normal = tolerance.SMALLEST_NORMAL[dtype]
    return np.where(np.abs(values) < smallest_normal, 0.0, values)


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


@dataclass
class Property:
    """A check's property of one case, to be searched: ``holds(case)`` gives None, SKIP or a
    :class:`Failure`.

    Properties on the shared cases (no ``strategy`` or ``max_examples`` of their own) are
    searched together, one hypothesis search for all of them (:func:`run`).
    """

    name: str
    code: str
    holds: Callable[[Case], object]
    strategy: object = None  # a strategy of its own, searched alone
    max_examples: int | None = None  # fewer cases than the context's (expensive properties)
    pinned: bool = True  # run on the pinned classic cases and the user's example too
    finish: Callable[[CheckResult], CheckResult] | None = None  # a last word on the result

    @property
    def shared(self) -> bool:
        return self.strategy is None and self.max_examples is None


class _CaseFailed(AssertionError):
    pass


@dataclass
class _Outcome:
    """What a search learned about one property."""

    examples: int = 0
    skipped: int = 0
    failure: tuple | None = None  # (case, Failure) of the first error
    warning: tuple | None = None  # (case, Failure) of the worst warning
    seconds_to_failure: float | None = None
    crash: BaseException | None = None

    def record(self, case, outcome, elapsed: float) -> bool:
        """Count ``outcome`` of ``case``; True when it is an error (the search for it may stop)."""
        self.examples += 1
        if outcome is SKIP:
            self.skipped += 1
            return False
        if isinstance(outcome, Failure) and outcome.severity == "warning":
            # a warning does not stop the search: an error may still be found; the worst is kept
            if self.warning is None or (outcome.margin or 0.0) > (self.warning[1].margin or 0.0):
                self.warning = (case, outcome)
            return False
        if isinstance(outcome, Failure):
            self.failure = (case, outcome)
            self.seconds_to_failure = elapsed
            return True
        return False


def run(ctx: Context, properties: list[Property]) -> list[CheckResult]:
    """Search every property; one result each, in the order given.

    The shared properties run on one search: each drawn case is checked against every property
    that has not failed yet, and the function is called once per distinct input (the
    context's memo). A property that fails there is searched again alone, with the same seed and
    cases, so hypothesis reaches the same failing case and shrinks it to a minimal one; if that
    search does not fail again (a function that is not a function of its inputs), the case the
    shared search found is reported as it was drawn.
    """
    shared = [p for p in properties if p.shared]
    results = {}
    if shared:
        start = time.perf_counter()
        outcomes = {p.name: _Outcome() for p in shared}
        drawn = iter(range(1, 1 << 30))

        def test(case):
            elapsed = time.perf_counter() - start
            active = [p.name for p in shared if outcomes[p.name].failure is None and outcomes[p.name].crash is None]
            for prop in shared:
                if prop.name in active:
                    _hold(prop, case, outcomes[prop.name], elapsed)
            if ctx.progress is not None:
                names = ", ".join(active[:3]) + (f" and {len(active) - 3} more" if len(active) > 3 else "")
                ctx.progress(f"checking {names}: case {next(drawn)} of about {ctx.max_examples}")

        error = _hypothesis(ctx, test, ctx.cases(), pinned=True, max_examples=ctx.max_examples, shrink=False)
        seconds = time.perf_counter() - start
        for prop in shared:
            outcome = outcomes[prop.name]
            if ctx.interrupted:
                results[prop.name] = _partial(_result(ctx, prop, outcome, seconds))
            elif error is not None and outcome.failure is None:
                results[prop.name] = CheckResult(prop.name, "error", f"the search could not run: {error}",
                                                 code=prop.code, examples=outcome.examples, seconds=seconds)
            elif outcome.failure is not None:
                results[prop.name] = _shrunk(ctx, prop, outcome, seconds)
            else:
                results[prop.name] = _result(ctx, prop, outcome, seconds)
    for prop in properties:
        if not prop.shared:
            results[prop.name] = search(ctx, prop) if not ctx.interrupted else _interrupted(prop)
    return [prop.finish(results[prop.name]) if prop.finish else results[prop.name] for prop in properties]


def _interrupted(prop: Property) -> CheckResult:
    return CheckResult(prop.name, "skip", "interrupted (Ctrl-C) before this check ran")


def _partial(result: CheckResult) -> CheckResult:
    """A result of an interrupted search: a failure found stands; a pass is only partial."""
    if result.status != "pass":
        return result
    return CheckResult(result.name, "skip", f"interrupted (Ctrl-C) after {result.examples} cases, which conform",
                       examples=result.examples, seconds=result.seconds)


def _hold(prop: Property, case, outcome: _Outcome, elapsed: float) -> bool:
    if case.pinned and not prop.pinned:
        return False  # the shared search's pinned cases are not this property's
    try:
        return outcome.record(case, prop.holds(case), elapsed)
    except Exception as exc:  # a defect in a check must not hide the other checks
        outcome.crash = exc
        return False


def search(ctx: Context, prop: Property, *, pinned: bool | None = None) -> CheckResult:
    """Search ``prop`` alone, shrinking its first failing case to a minimal one."""
    outcome = _Outcome()
    start = time.perf_counter()

    def test(case):
        if ctx.progress is not None:
            ctx.progress(f"searching {prop.name} alone: case {outcome.examples + 1}")
        if _hold(prop, case, outcome, time.perf_counter() - start):
            raise _CaseFailed(outcome.failure[1].message)

    strategy = prop.strategy if prop.strategy is not None else ctx.cases()
    cap = min(ctx.max_examples, prop.max_examples or ctx.max_examples)
    error = _hypothesis(ctx, test, strategy, pinned=prop.pinned if pinned is None else pinned,
                        max_examples=cap, shrink=True)
    seconds = time.perf_counter() - start
    if ctx.interrupted:
        return _partial(_result(ctx, prop, outcome, seconds))
    if error is not None and outcome.failure is None:
        return CheckResult(prop.name, "error", f"the search could not run: {error}", code=prop.code,
                           examples=outcome.examples, seconds=seconds)
    return _result(ctx, prop, outcome, seconds)


def _shrunk(ctx: Context, prop: Property, outcome: _Outcome, seconds: float) -> CheckResult:
    """The shared search's failure of ``prop``, shrunk by a search of ``prop`` alone."""
    again = shrink(ctx, prop)
    if again.status != "fail" or again.severity != "error":
        return _result(ctx, prop, outcome, seconds)  # not reproduced: the case as drawn
    again.examples = outcome.examples
    again.seconds = seconds + again.seconds
    again.seconds_to_failure = outcome.seconds_to_failure
    return again


def shrink(ctx: Context, prop: Property) -> CheckResult:
    """A failing property's minimal counterexample: from the typical regime where it fails there
    (values a person reads at a glance), else from every regime.

    A wide-regime array is drawn from one seed, fewer choices than a typical one's values, so
    hypothesis, which shrinks toward fewer choices, would otherwise settle on it.
    """
    regimes = ctx.regimes
    if "typical" in regimes and len(regimes) > 1:
        ctx.regimes = ("typical",)
        try:
            typical = search(ctx, prop)
        finally:
            ctx.regimes = regimes
        if (typical.status == "fail" and typical.severity == "error") or ctx.interrupted:
            return typical
    return search(ctx, prop)


def _hypothesis(ctx: Context, test, strategy, *, pinned: bool, max_examples: int, shrink: bool):
    """Run ``test`` over ``strategy`` under the context's seed; the HypothesisException
    that stopped the search, or None."""
    wrapped = given(strategy)(test)
    if pinned:
        for case in reversed(_pinned_cases(ctx)):
            wrapped = example(case)(wrapped)
    phases = (Phase.explicit, Phase.generate, Phase.shrink) if shrink else (Phase.explicit, Phase.generate)
    wrapped = settings(
        max_examples=max_examples, deadline=None, database=None, derandomize=False,
        report_multiple_bugs=False, print_blob=False, suppress_health_check=list(HealthCheck),
        phases=phases,
    )(wrapped)
    wrapped = seed(ctx.seed)(wrapped)
    try:
        with reproducible_draws():
            wrapped()
    except _CaseFailed:
        pass
    except KeyboardInterrupt:  # the report says what ran; the caller stops the run
        ctx.interrupted = True
    except HypothesisException as exc:
        return exc
    return None


def _pinned_cases(ctx: Context) -> list[Case]:
    """The classic cases in every dtype, then the user's own call in its own dtype where it is checked."""
    if not ctx.pin:
        return []
    pinned = [case for dtype in ctx.dtypes for case in classic_cases(ctx.target, dtype, ctx.layout)]
    real = ctx.target.example
    if real is not None:
        dtype = real.dtype if real.dtype in ctx.dtypes else ctx.dtypes[0]
        pinned.append(Case(dict(real.inputs), dtype, "example", pinned=True))
    return pinned


def _result(ctx: Context, prop: Property, outcome: _Outcome, seconds: float) -> CheckResult:
    """The check's result from what the search learned."""
    if outcome.crash is not None:
        exc = outcome.crash
        return CheckResult(prop.name, "error", f"the check crashed: {type(exc).__name__}: {exc}",
                           code=prop.code, examples=outcome.examples, seconds=seconds)
    found = outcome.failure or outcome.warning  # a warning is reported; the check does not fail
    if found is None:
        ran = outcome.examples - outcome.skipped
        if ran == 0:
            return CheckResult(prop.name, "skip", "no case could be evaluated (see the other checks)",
                               examples=outcome.examples, seconds=seconds)
        return CheckResult(prop.name, "pass", f"{ran} cases conform", examples=ran, seconds=seconds)
    case, failure = found
    inputs = ctx.round(case)
    counterexample = {
        "dtype": case.dtype, "regime": case.regime,
        "inputs": {k: v.tolist() for k, v in inputs.items()},
    }
    if failure.output is not None:
        counterexample["output"] = np.asarray(failure.output, dtype=np.float64).tolist()
    if failure.expected is not None:
        counterexample["expected"] = np.asarray(failure.expected, dtype=np.float64).tolist()
    artifact = (artifacts.save(ctx.artifacts, ctx.target.name, prop.name, inputs, case.dtype)
                if artifacts.needs_file(inputs) else None)
    return CheckResult(
        prop.name, "fail", failure.message, code=failure.code or prop.code, severity=failure.severity,
        max_error=failure.error, bound=failure.bound, margin=failure.margin,
        counterexample=counterexample, repro=repro_snippet(ctx.target, inputs, case.dtype, artifact),
        artifact=None if artifact is None else str(artifact),
        examples=outcome.examples, seconds=seconds, seconds_to_failure=outcome.seconds_to_failure,
    )
