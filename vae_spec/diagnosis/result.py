"""Diagnosis: what a loss computes, its findings, and the claim under which it conforms."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import fitting
from ..claims import Claim
from ..report import CheckResult, array_summary
from ..schema import dumps, header
from .rules import Finding, batch_word


@dataclass(frozen=True)
class Evidence:
    """What a diagnosis read: the probed target, its observations, and the fit judged (None
    where no form fits); ``reduced_rows`` when the fit is of the rows' mean over the batch."""

    target: object
    observations: object
    fit: fitting.Fit | None
    reduced_rows: bool = False


@dataclass
class Diagnosis:
    """What a loss computes, how it relates to the ELBO, and the claim under which it conforms."""

    target: str
    framework: str
    is_elbo: bool
    convention: dict | None
    scale: float | None
    beta: float | None
    likelihood: dict | None
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""
    form: dict | None = None
    residual: float | None = None
    implied_variance: float | None = None
    seconds: float = 0.0
    counterexamples: list[CheckResult] = field(default_factory=list)
    layout: str = ""  # the shapes and dtypes probed, and where each came from
    layout_data: dict | None = None
    claim: Claim | None = None
    no_claim: str | None = None  # why there is no claim, when there is none
    #: in memory only, never in as_dict: the probes, outputs and fit the verdict rests on
    #: (:class:`Evidence`), which the HTML report plots
    evidence: Evidence | None = field(default=None, repr=False, compare=False)

    @property
    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def as_dict(self, *, probes: bool = False) -> dict:
        """The JSON document. ``probes`` keeps the counterexamples' probe inputs (and their
        repro) in full; otherwise each input is summarized by its shape, dtype and range."""
        counterexamples = [c.as_dict() for c in self.counterexamples]
        if not probes:
            counterexamples = [_without_probe_inputs(c) for c in counterexamples]
        return {
            **header("diagnose"),
            "target": self.target, "framework": self.framework, "is_elbo": self.is_elbo,
            "convention": self.convention, "scale": self.scale, "beta": self.beta,
            "likelihood": self.likelihood, "findings": [f.as_dict() for f in self.findings],
            "summary": self.summary, "form": self.form, "residual": self.residual,
            "implied_variance": self.implied_variance, "seconds": round(self.seconds, 3),
            "probes": probes, "counterexamples": counterexamples,
            "layout": self.layout_data,
            "claim": self.claim.as_dict() if self.claim else None, "no_claim": self.no_claim,
        }

    def to_json(self, *, probes: bool = False) -> str:
        return dumps(self.as_dict(probes=probes))

    def to_text(self, target_spec: str | None = None) -> str:
        """The verdict, the findings, and the claim as a command line, a pyproject block and
        a Target expression (``target_spec`` is the ``module:attr`` they name)."""
        verdict = "is the ELBO" if self.is_elbo else "is NOT the ELBO"
        lines = [f"{self.target} [{self.framework}] {verdict}: {self.summary}"]
        if self.layout:
            lines.append(f"  shapes: {self.layout}")
        if self.likelihood:
            lines.append(f"  reads as: {_reads_as(self)}")
        for finding in self.findings:
            lines.append(f"  {finding.severity:7} {finding.code}: {finding.message}")
        lines.extend(self.claim_text(target_spec))
        return "\n".join(lines)

    def claim_text(self, target_spec: str | None = None) -> list[str]:
        """The claim, three ways, or why there is none."""
        if self.claim is None:
            return [f"  no claim: {self.no_claim}"] if self.no_claim else []
        where = target_spec or self.target
        stated = "" if not self.claim.not_elbo else (
            f" (it states the departure{'s' if len(self.claim.not_elbo) > 1 else ''} "
            f"{', '.join(self.claim.not_elbo)}: not an ELBO)")
        approximately = " (approximately: see the precision warning)" if "precision" in self.codes else ""
        lines = [f"  claim under which it conforms{approximately}{stated}:"]
        command, block = self.claim.command_line(where), self.claim.pyproject_block(where)
        if command:
            lines += [f"    {command}", "  pyproject.toml:"] + ["    " + line for line in block.splitlines()]
        lines.append("  Python:")
        lines.append(f"    {self.claim.python_expression()}")
        return lines

    def __str__(self) -> str:
        return self.to_text()


def _without_probe_inputs(result: dict) -> dict:
    """A counterexample's result with each input summarized, and its repro only where that
    loads the inputs from the artifact file (a repro without one writes the arrays out)."""
    example = result.get("counterexample")
    if not example or "inputs" not in example:
        return result
    inputs = {name: _input_summary(values, example.get("dtype")) for name, values in example["inputs"].items()}
    repro = result.get("repro") if result.get("artifact") else None
    return {**result, "counterexample": {**example, "inputs": inputs}, "repro": repro}


def _input_summary(values, dtype: str | None) -> dict:
    summary = array_summary(values)
    return {"shape": summary["shape"], "dtype": dtype, "min": summary["min"], "max": summary["max"]}


def _reads_as(diagnosis: Diagnosis) -> str:
    """The likelihood and reductions the fit settled on, in one line."""
    info = diagnosis.likelihood or {}
    parts = [info.get("name", "?")]
    if info.get("variance") is not None:
        parts[0] += f" with decoder variance {info['variance']:.4g}"
    if info.get("scale") is not None:
        parts[0] += f" with scale {info['scale']:.4g}"
    form = diagnosis.form or {}
    if form.get("data"):
        parts.append(f"data {form['data']}")
    if form.get("latent"):
        parts.append(f"latent {form['latent']}")
    if form.get("kl_param"):
        parts.append(f"KL reads the scale as {form['kl_param']}")
    batch = form.get("batch_recon") or form.get("batch_kl")
    if batch:
        parts.append(f"batch {batch}")
    constants = (diagnosis.convention or {}).get("constants")
    if constants is not None:  # None: the likelihood has no normalizing constants
        parts.append("constants kept" if constants else "constants dropped")
    return ", ".join(parts)


def form_words(form: fitting.Form) -> str:
    reduced = {"sum": "summed", "mean": "averaged"}
    parts = []
    if form.likelihood:
        parts.append(f"{form.likelihood} reconstruction {reduced[form.data]} over data, "
                     f"{batch_word(form.batch_recon)} over the batch")
    if form.kl_param:
        parts.append(f"KL reading the scale as {form.kl_param}, {reduced[form.latent]} over latent, "
                     f"{batch_word(form.batch_kl)} over the batch")
    return "; ".join(parts)


def form_dict(form: fitting.Form) -> dict:
    return {
        "likelihood": form.likelihood, "kl_param": form.kl_param, "prior": form.prior,
        "data": form.data, "latent": form.latent, "batch_recon": form.batch_recon,
        "batch_kl": form.batch_kl,
    }
