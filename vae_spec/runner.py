"""check(target) -> Report: run every applicable check and collect the results."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import replace

from . import profiles
from .checks import CHECKS, Context, run_checks
from .claims import not_elbo_codes
from .engine.call import DEFAULT_TIMEOUT
from .engine.inference import infer_layout
from .frameworks.base import adapter_for
from .report import CheckResult, Report
from .strategies import COMPILE_BUCKETS as BUCKETS, JIT_BUCKETS
from .declaration import require_likelihood
from .target import Target, TargetError

DEFAULT_DTYPES = ("float32", "float64")


class ConformanceError(AssertionError):
    """A target does not compute what it claims; ``.report`` holds every check's result."""

    def __init__(self, report: Report):
        super().__init__(report.to_text())
        self.report = report


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a check; ``.report`` holds what ran before it (a failure found stands)."""

    def __init__(self, report: Report):
        super().__init__("interrupted")
        self.report = report


def describe_claim(target: Target) -> str:
    """The claim in words: term, likelihood, posterior and convention."""
    c = target.convention
    parts = [target.term]
    if target.uses_likelihood:
        parts.append(f"likelihood={target.likelihood}")
    if target.computes.posterior:
        parts.append(f"posterior={target.posterior}")
    parts.append(f"data={c.data} latent={c.latent} batch={c.batch}"
                 + (f" kl_batch={c.kl_batch}" if c.kl_batch else "") + f" beta={c.beta:g} scale={c.scale:g}"
                 + ("" if c.constants else " constants dropped"))
    return ", ".join(parts)


def unsupported_dtype_results(layout) -> list[CheckResult]:
    """One warning per dtype the function raised in on every probe (left out of the checks)."""
    return [CheckResult("dtype_support", "fail",
                        f"the function raised in {dtype} on every probe ({error}); checked in "
                        f"{', '.join(layout.dtypes)} only", code="dtype-unsupported", severity="warning")
            for dtype, error in layout.unsupported]


def _context(target: Target, adapter, layout=None, timeout: float | None = DEFAULT_TIMEOUT) -> Context:
    """The context of a run, with the layout and dtypes the function takes (inferred unless given)."""
    ctx = Context(target=replace(target, fn=adapter.prepare(target.fn)), adapter=adapter,
                  dtypes=check_dtypes(target, adapter), timeout=timeout)
    ctx.layout = layout or infer_layout(ctx)
    ctx.dtypes = ctx.layout.dtypes
    if adapter.compiles_per_shape:
        ctx.buckets = JIT_BUCKETS
    return ctx


def infer(target: Target, timeout: float | None = DEFAULT_TIMEOUT):
    """The :class:`~vae_spec.engine.layout.Layout` (shapes and dtypes) ``target``'s function
    takes, found by probing; TargetError, with what was tried and a hint, if it runs at none."""
    return _context(target, adapter_for(target), timeout=timeout).layout


def check_dtypes(target: Target, adapter) -> tuple[str, ...]:
    """The dtypes to check in: the target's, else float32 and float64 where supported."""
    supported = adapter.dtypes()
    wanted = target.dtypes or tuple(d for d in DEFAULT_DTYPES if d in supported)
    missing = [d for d in wanted if d not in supported]
    if missing:
        raise TargetError(
            f"dtypes: {target.framework} does not compute in {', '.join(missing)} "
            f"(it supports {', '.join(supported)})"
        )
    return wanted


def check(
    target: Target,
    *tensors,
    max_examples: int | None = None,
    seed: int | None = None,
    profile: str | None = None,
    checks: tuple[str, ...] | None = None,
    raise_on_failure: bool = True,
    compile: bool = False,
    layout=None,
    timeout: float | None = DEFAULT_TIMEOUT,
    progress: Callable[[str], None] | None = None,
    artifacts: str | None = None,
    **named,
) -> Report:
    """Check that ``target`` computes its declared term; raise ConformanceError if not.

    Every applicable check draws ``max_examples`` cases (the profile's number by default)
    from a search seeded with ``seed``. Left out, the seed is 0 under a derandomized profile
    (the default ``vae-ci``) and drawn at random otherwise; the report records it, so
    ``check(target, seed=report.seed)`` reproduces any run. ``checks`` selects
    checks by name. With ``raise_on_failure=False`` the report is returned either way.

    ``compile=True`` also runs ``value[compiled]`` and ``gradient[compiled]``: the function
    compiled by its framework, on a few fixed shape buckets (:func:`_compiled_checks`).

    ``layout`` is what :func:`infer` returned for this target (the pytest plugin probes each
    target once, at collection); left out, it is inferred.

    ``timeout``: seconds per call (None: no limit); past it, a ``timeout`` finding
    (:mod:`vae_spec.engine.call`). Ctrl-C raises :class:`Interrupted` (a KeyboardInterrupt)
    with the ``report`` of what ran. ``progress(line)`` hears what runs now. Counterexamples too
    large to print go to an ``.npz`` under ``artifacts`` (:mod:`vae_spec.artifacts`).

    ``target`` may also be the function with the tensors of one real call and the claim's
    keywords (``check(loss_fn, recon_x=..., x=..., mu=..., logvar=...,
    likelihood="bernoulli-probs")``): see :meth:`Target.from_example`.
    """
    from .diagnosis import as_target

    target = require_likelihood(as_target("check", target, tensors, named))
    settings = profiles.resolve(profile)
    names = _selected(checks)
    _validate_limits(max_examples, timeout)
    start = time.perf_counter()
    if progress is not None:
        progress("probing the shapes and dtypes the function takes")
    ctx = _context(target, adapter_for(target), layout, timeout)
    ctx.progress, ctx.artifacts = progress, artifacts
    ctx.max_examples = max_examples or settings["max_examples"]
    ctx.seed = _seed(seed, settings)
    report = _empty_report(ctx)
    try:
        _run_into(report, ctx, names, compile or settings["compile"])
    finally:
        report.seconds = time.perf_counter() - start
    if raise_on_failure and not report.passed:
        raise ConformanceError(report)
    return report


def _run_into(report: Report, ctx, names, compile: bool) -> None:
    """Every check, then the compiled variants and the departures' names, into ``report``."""
    report.checks.extend(run_checks(ctx, names))
    report.notes.extend(_eager_fallback(ctx))
    if ctx.interrupted:
        report.interrupted = True
        report.notes.append("interrupted (Ctrl-C): the report holds what ran before it")
        raise Interrupted(report)
    if compile:
        report.checks.extend(_compiled_checks(ctx, names))
    if ctx.progress is not None and not report.passed:
        ctx.progress("naming the departures")
    name_the_departures(ctx, report)


def _validate_limits(max_examples, timeout) -> None:
    if max_examples is not None and (not isinstance(max_examples, int) or max_examples < 1):
        raise ValueError(f"max_examples: expected a positive integer, got {max_examples!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout: expected a positive number of seconds or None, got {timeout!r}")


def _empty_report(ctx) -> Report:
    """The report's header: the claim, the layout found, and the dtypes left out."""
    target = ctx.target
    report = Report(target=target.name, framework=target.framework, claim=describe_claim(target),
                    seed=ctx.seed, layout=ctx.layout.words(target), layout_data=ctx.layout.as_dict())
    if target.computes.combined:
        report.not_elbo = not_elbo_codes(target.convention)
    report.checks.extend(unsupported_dtype_results(ctx.layout))
    return report


def _selected(checks) -> tuple[str, ...]:
    names = tuple(checks) if checks else tuple(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ValueError(f"checks: unknown check(s) {', '.join(unknown)}; expected any of {', '.join(CHECKS)}")
    return names


def _eager_fallback(ctx) -> list[str]:
    """A note where the adapter ran the function eagerly because it could not compile it (jax)."""
    fallback = getattr(ctx.target.fn, "fallback", None)
    if not fallback:
        return []
    return [f"{ctx.target.framework}: the function cannot be compiled ({fallback}); it was checked "
            "as it runs eagerly"]


#: checks whose failure means the value departs from the claim, with the code each prefers
VALUE_CHECKS = {
    "value": None, "value[compiled]": None, "batch_scaling": "batch-", "batch_consistency": "batch-",
    "latent_scaling": "kl-latent-mean", "data_scaling": "recon-data-mean",
}
#: the generic codes a named departure replaces
GENERIC_CODES = ("kl-formula", "recon-formula", "batch-mismatch", "kl-latent-mean", "recon-data-mean")


def name_the_departures(ctx, report: Report) -> None:
    """Name a departing value with diagnose's codes and hold back the gradient's verdict.

    When a value check fails, the loss is read on the designed probes and compared with the
    claim by the rules :func:`~vae_spec.diagnose` uses; each departure becomes a report finding
    and the failing checks carry its code. A generic kl-formula or recon-formula stays only
    where no known departure fits. The gradient is judged only once the value conforms.
    """
    failing = [r for r in report.checks if r.name in VALUE_CHECKS and r.failed]
    gradients = [r for r in report.checks if r.name.startswith("gradient") and r.status == "fail"]
    if gradients and not any(r.name in VALUE_CHECKS for r in report.checks):
        # the gradient ran without the value (one check per pytest item): judge the value too
        value, = run_checks(ctx, ("value",))
        failing = [value] if value.failed else []
    if not failing:
        return
    for result in report.checks:
        if result.name.startswith("gradient") and result.status == "fail":
            result.status, result.message = "skip", (
                "the value departs from the claim; the gradient is judged once the value conforms")
            result.code = None
    from .diagnosis import name_departures

    try:
        found = name_departures(ctx)
    except Exception as exc:  # naming is an explanation: the failing checks keep their own codes
        report.notes.append(f"the departure could not be named: {type(exc).__name__}: {exc}")
        return
    report.findings.extend(found)
    if not found:
        return
    for result in failing:
        if result.code not in GENERIC_CODES:
            continue
        prefer = VALUE_CHECKS[result.name]
        chosen = next((f for f in found if prefer and f.code.startswith(prefer)), found[0])
        result.code = chosen.code  # the sentence is the report's finding; the message stays the evidence


COMPILED_CHECKS = ("value", "gradient")


def _compiled_checks(ctx, names) -> list[CheckResult]:
    """The value and gradient checks on the compiled function, over the fixed shape buckets."""
    selected = [n for n in COMPILED_CHECKS if n in names]
    try:
        compiled = ctx.adapter.compile(ctx.target.fn)
    except NotImplementedError as exc:
        return [CheckResult(f"{n}[compiled]", "skip", str(exc)) for n in selected]
    compiled_ctx = replace(ctx, target=replace(ctx.target, fn=compiled), buckets=BUCKETS, pin=False)
    results = run_checks(compiled_ctx, selected)
    for result in results:
        result.name = f"{result.name}[compiled]"
    return results


def _seed(seed, settings) -> int:
    if seed is not None:
        return int(seed)
    return 0 if settings["derandomize"] else random.randrange(2**32)
