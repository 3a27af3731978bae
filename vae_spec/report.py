"""Check results and reports: text and JSON rendering, and repro snippets."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import calls
from .schema import dumps, header

@dataclass
class CheckResult:
    """The outcome of one named check on one target.

    ``status``: pass, fail (the target departs), skip (the check does not apply; the message
    says why) or error (the check itself could not run). ``severity`` is "error" or "warning":
    a failing warning does not fail the report; the JSON gives a passing or skipped check no
    severity (null). ``margin`` = max_error / bound.
    """

    name: str
    status: str
    message: str = ""
    code: str | None = None
    severity: str = "error"
    max_error: float | None = None
    bound: float | None = None
    margin: float | None = None
    counterexample: dict | None = None
    repro: str | None = None
    artifact: str | None = None  # the .npz holding the counterexample's inputs, where it is large
    examples: int = 0
    seconds: float = 0.0
    seconds_to_failure: float | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("fail", "error") and self.severity == "error"

    def as_dict(self) -> dict:
        return {
            "name": self.name, "status": self.status, "message": self.message,
            "code": self.code, "severity": self.severity if self.status in ("fail", "error") else None,
            "max_error": _number(self.max_error), "bound": _number(self.bound),
            "margin": _number(self.margin), "counterexample": self.counterexample,
            "repro": self.repro, "artifact": self.artifact, "examples": self.examples,
            "seconds": round(self.seconds, 4),
            "seconds_to_failure": _number(self.seconds_to_failure),
        }


@dataclass
class Report:
    """Every check's result for one target."""

    target: str
    framework: str
    checks: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    claim: str = ""
    seed: int | None = None
    layout: str = ""  # the shapes and dtypes checked, and where each came from
    layout_data: dict | None = None
    findings: list = field(default_factory=list)  # departures from the claim, named as diagnose names them
    not_elbo: tuple[str, ...] = ()  # departures from the ELBO the claim itself states
    notes: list[str] = field(default_factory=list)
    interrupted: bool = False  # Ctrl-C stopped the run: the checks hold what ran before it

    @property
    def passed(self) -> bool:
        return not any(result.failed for result in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.checks if result.failed]

    def as_dict(self) -> dict:
        return {
            **header("check"),
            "target": self.target, "framework": self.framework, "passed": self.passed,
            "seconds": round(self.seconds, 3), "claim": self.claim, "seed": self.seed,
            "layout": self.layout_data,
            "checks": [result.as_dict() for result in self.checks],
            "findings": [f.as_dict() for f in self.findings],
            "not_elbo": list(self.not_elbo), "notes": list(self.notes), "interrupted": self.interrupted,
        }

    def to_json(self) -> str:
        return dumps(self.as_dict())

    def to_text(self) -> str:
        """The report as text, at most TEXT_LIMIT bytes: past it, the counterexamples after the
        first are cut to a line (the JSON and the .npz artifacts keep them whole)."""
        text = self._text(detail=True)
        return text if len(text.encode()) <= TEXT_LIMIT else self._text(detail=False)

    def _text(self, detail: bool) -> str:
        lines = [f"{self.target} [{self.framework}] claims: {self.claim}"]
        if self.not_elbo:
            lines.append(f"  this claim is not the ELBO: it states {', '.join(self.not_elbo)}")
        if self.layout:
            lines.append(f"  shapes: {self.layout}")
        if self.findings:
            lines.append("  departs from the claim:")
            lines.extend(f"    {f.code}: {f.message}" for f in self.findings)
        repro_shown = False
        for result in self.checks:
            mark = {"pass": "ok", "skip": "skip"}.get(result.status, "FAIL" if result.failed else "warn")
            code = f" [{result.code}]" if result.code and result.status in ("fail", "error") else ""
            lines.append(f"  {mark:4} {result.name}{code}: {_clipped(result.message, 400 if detail else 200)}")
            if result.status in ("fail", "error") and result.counterexample:
                text = (format_counterexample(result, with_repro=not repro_shown) if detail or not repro_shown
                        else _one_line(result))
                lines.extend("         " + line for line in text.splitlines())
                repro_shown = repro_shown or bool(result.repro)
        lines.extend(f"  note: {note}" for note in self.notes)
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.failures)} check(s))"
        if self.interrupted:
            verdict = "INTERRUPTED" + ("" if self.passed else f", {verdict}")
        lines.append(f"{verdict} in {self.seconds:.2f} s (seed {self.seed})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def format_counterexample(result: CheckResult, with_repro: bool = True) -> str:
    """The counterexample's inputs, error, bound and margin, for a text report: a large array is
    summarized (shape, range; the output by its element farthest from the expected one), and
    the repro is left out where an earlier one in the report shows how (``with_repro``)."""
    example = result.counterexample or {}
    dtype = example.get("dtype", "?")
    lines = [f"counterexample ({dtype}, {example.get('regime', '?')} regime):"]
    for name, values in example.get("inputs", {}).items():
        lines.append(f"  {name} = {short_array(values, dtype)}")
    lines.extend(_output_lines(example))
    if result.max_error is not None:
        lines.append(
            f"  error {result.max_error:.6g} > bound {result.bound:.3g} (margin {result.margin:.3g})"
            if result.margin is not None and result.margin > 1
            else f"  error {result.max_error:.6g}, bound {result.bound:.3g}"
        )
    if result.repro and with_repro:
        lines.append("  repro:")
        lines.extend("    " + line for line in result.repro.splitlines())
    elif result.repro:
        lines.append("  repro: as above" + (f", with the inputs in {result.artifact}" if result.artifact else
                                            " with these inputs"))
    return "\n".join(lines)


#: elements an array may have and still be printed whole in a text report
PRINTED_ELEMENTS = 12
#: bytes a text report may take
TEXT_LIMIT = 4096


def _one_line(result: CheckResult) -> str:
    example = result.counterexample or {}
    shapes = ", ".join(f"{name} {np.shape(values)}" for name, values in example.get("inputs", {}).items())
    where = f"; inputs in {result.artifact}" if result.artifact else ""
    return f"counterexample ({example.get('dtype', '?')}, {example.get('regime', '?')}): {shapes}{where}"


def _output_lines(example: dict) -> list[str]:
    if "output" not in example:
        return []
    output = np.asarray(example["output"], dtype=np.float64)
    expected = np.asarray(example["expected"], dtype=np.float64) if "expected" in example else None
    if output.size <= PRINTED_ELEMENTS or expected is None or expected.shape != output.shape:
        return [f"  {key}: {short_array(example[key])}" for key in ("output", "expected") if key in example]
    gap = np.abs(np.nan_to_num(output - expected, nan=np.inf))
    index = np.unravel_index(int(np.argmax(gap)), output.shape)
    return [f"  output {output.shape}: at {list(index)} {output[index]:.6g} where {expected[index]:.6g} "
            f"is expected (the largest gap)"]


def _clipped(message: str, limit: int = 400) -> str:
    return message if len(message) <= limit else message[:limit - 3] + "..."


def repro_snippet(target, inputs: dict[str, np.ndarray], dtype: str, artifact=None) -> str:
    """Framework-neutral numpy code that rebuilds the inputs (from the ``artifact`` file, where
    the counterexample was saved to one) and calls the target."""
    module, _, attr = (target.name or "").partition(":")
    lines = ["import numpy as np", "from vae_spec.frameworks import get_adapter"]
    if module.endswith(".py") or "/" in module or "\\" in module:
        lines.append("from vae_spec.target import load_callable")
        lines.append(f"fn = load_callable({target.name!r})")
    elif module and attr and "<" not in attr and not module.startswith("_vae_spec_target_"):
        lines.append(f"from {module} import {attr.split('.')[0]} as fn")
    else:
        lines.append(f"fn = ...  # {target.name}")
    lines.append(f"adapter = get_adapter({target.framework!r})")
    if artifact is not None:
        lines.append(f"arrays = np.load({str(artifact)!r})")
    for name, values in inputs.items():
        source = f"arrays[{name!r}]" if artifact is not None else f"np.array({np.asarray(values).tolist()!r})"
        lines.append(f"{name} = adapter.asarray({source}, {dtype!r})")
    if target.call is not None:
        lines.append("call = ...  # the target's call= hook: call(fn, inputs)")
        lines.append(f"print(adapter.to_numpy(call(fn, dict({', '.join(f'{n}={n}' for n in inputs)}))))")
    else:
        lines.append(f"print(adapter.to_numpy({calls.expression(target.args, target.kwargs)}))")
    return "\n".join(lines)


def array_summary(values) -> dict:
    """An array's shape, the range of its finite values (None where it has none), and how many
    values are NaN or infinite: what a report shows of an array too large to print."""
    array = np.asarray(values, dtype=np.float64)
    finite = array[np.isfinite(array)]
    return {"shape": list(array.shape), "min": float(finite.min()) if finite.size else None,
            "max": float(finite.max()) if finite.size else None, "nonfinite": int(array.size - finite.size)}


def short_array(values, dtype: str | None = None) -> str:
    """An array as printed, or, past PRINTED_ELEMENTS, its shape, dtype and range."""
    array = np.asarray(values, dtype=np.float64)
    if array.size > PRINTED_ELEMENTS:
        summary = array_summary(array)
        span = (f"in [{summary['min']:.6g}, {summary['max']:.6g}]" if summary["min"] is not None
                else "no finite value")
        bad = f", {summary['nonfinite']} not finite" if summary["nonfinite"] else ""
        return f"<shape {array.shape}{', ' + dtype if dtype else ''}, {span}{bad}>"
    with np.printoptions(precision=6, threshold=24, edgeitems=3, linewidth=100):
        return np.array2string(array, separator=", ")


def _number(value):
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value
