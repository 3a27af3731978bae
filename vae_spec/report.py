"""Check results and reports: text and JSON rendering, and repro snippets."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np

from . import calls

@dataclass
class CheckResult:
    """The outcome of one named check on one target.

    ``status``: pass, fail (the target departs), skip (the check does not apply; the message
    says why) or error (the check itself could not run). ``severity`` is "error" or "warning":
    a failing warning does not fail the report. ``margin`` = max_error / bound.
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
    examples: int = 0
    seconds: float = 0.0
    seconds_to_failure: float | None = None

    @property
    def failed(self) -> bool:
        return self.status in ("fail", "error") and self.severity == "error"

    def as_dict(self) -> dict:
        return {
            "name": self.name, "status": self.status, "message": self.message,
            "code": self.code, "severity": self.severity,
            "max_error": _number(self.max_error), "bound": _number(self.bound),
            "margin": _number(self.margin), "counterexample": self.counterexample,
            "repro": self.repro, "examples": self.examples, "seconds": round(self.seconds, 4),
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

    @property
    def passed(self) -> bool:
        return not any(result.failed for result in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [result for result in self.checks if result.failed]

    def as_dict(self) -> dict:
        return {
            "target": self.target, "framework": self.framework, "passed": self.passed,
            "seconds": round(self.seconds, 3), "claim": self.claim, "seed": self.seed,
            "layout": self.layout_data,
            "checks": [result.as_dict() for result in self.checks],
            "findings": [f.as_dict() for f in self.findings],
            "not_elbo": list(self.not_elbo), "notes": list(self.notes),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def to_text(self) -> str:
        lines = [f"{self.target} [{self.framework}] claims: {self.claim}"]
        if self.not_elbo:
            lines.append(f"  this claim is not the ELBO: it states {', '.join(self.not_elbo)}")
        if self.layout:
            lines.append(f"  shapes: {self.layout}")
        if self.findings:
            lines.append("  departs from the claim:")
            lines.extend(f"    {f.code}: {f.message}" for f in self.findings)
        for result in self.checks:
            mark = {"pass": "ok", "skip": "skip"}.get(result.status, "FAIL" if result.failed else "warn")
            detail = f" [{result.code}]" if result.code and result.status in ("fail", "error") else ""
            lines.append(f"  {mark:4} {result.name}{detail}: {result.message}")
            if result.status in ("fail", "error") and result.counterexample:
                lines.extend("         " + line for line in format_counterexample(result).splitlines())
        lines.extend(f"  note: {note}" for note in self.notes)
        verdict = "PASSED" if self.passed else f"FAILED ({len(self.failures)} check(s))"
        lines.append(f"{verdict} in {self.seconds:.2f} s (seed {self.seed})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.to_text()


def format_counterexample(result: CheckResult) -> str:
    """The counterexample's inputs, error, bound and margin, for a text report."""
    example = result.counterexample or {}
    lines = [f"counterexample ({example.get('dtype', '?')}, {example.get('regime', '?')} regime):"]
    for name, values in example.get("inputs", {}).items():
        lines.append(f"  {name} = {_short(values)}")
    for key in ("output", "expected"):
        if key in example:
            lines.append(f"  {key}: {_short(example[key])}")
    if result.max_error is not None:
        lines.append(
            f"  error {result.max_error:.6g} > bound {result.bound:.3g} (margin {result.margin:.3g})"
            if result.margin is not None and result.margin > 1
            else f"  error {result.max_error:.6g}, bound {result.bound:.3g}"
        )
    if result.repro:
        lines.append("  repro:")
        lines.extend("    " + line for line in result.repro.splitlines())
    return "\n".join(lines)


def repro_snippet(target, inputs: dict[str, np.ndarray], dtype: str) -> str:
    """Framework-neutral numpy code that rebuilds the inputs and calls the target."""
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
    for name, values in inputs.items():
        lines.append(f"{name} = adapter.asarray(np.array({np.asarray(values).tolist()!r}), {dtype!r})")
    if target.call is not None:
        lines.append("call = ...  # the target's call= hook: call(fn, inputs)")
        lines.append(f"print(adapter.to_numpy(call(fn, dict({', '.join(f'{n}={n}' for n in inputs)}))))")
    else:
        lines.append(f"print(adapter.to_numpy({calls.expression(target.args, target.kwargs)}))")
    return "\n".join(lines)


def _short(values) -> str:
    array = np.asarray(values, dtype=np.float64)
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
