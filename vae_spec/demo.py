"""``vae-spec demo``: diagnose and check every bundled example, and print a table."""

from __future__ import annotations

import textwrap

from .diagnosis import diagnose
from .examples import EXAMPLES
from .frameworks.base import is_installed
from .runner import check


def run_demo(*, check_examples: bool = True, stream=print) -> list[dict]:
    """Diagnose each example (likelihood undeclared) and check its author's claim."""
    rows = []
    for example in EXAMPLES:
        if not is_installed(example.framework):
            rows.append({"example": example.name, "framework": example.framework,
                         "skipped": f"{example.framework} is not installed"})
            continue
        diagnosis = diagnose(example.load(declare_likelihood=False))
        row = {"example": example.name, "framework": example.framework, "about": example.about,
               "is_elbo": diagnosis.is_elbo, "diagnosis": diagnosis}
        if check_examples:
            report = check(example.load(), profile="vae-dev", raise_on_failure=False)
            row["check"] = report
        rows.append(row)
        stream(_format_row(row))
    stream(_footer(rows))
    return rows


def _format_row(row) -> str:
    diagnosis = row["diagnosis"]
    verdict = "ELBO" if row["is_elbo"] else "NOT ELBO"
    lines = [f"{row['example']:16} {row['framework']:10} {verdict:9} {row['about']}"]
    errors = [f for f in diagnosis.findings if f.severity == "error"]
    notes = errors or [f for f in diagnosis.findings if f.code in ("gaussian-variance", "beta", "precision")]
    for finding in notes:
        wrapped = textwrap.wrap(f"{finding.code}: {finding.message}", 88)
        lines.extend(" " * 37 + part for part in wrapped)
    claim = diagnosis.claim
    lines.append(" " * 37 + (f"conforms as: {claim.words()}" if claim else f"no claim: {diagnosis.no_claim}"))
    if "check" in row:
        report = row["check"]
        failed = ", ".join(f"{r.name} [{r.code}]" for r in report.failures)
        lines.append(" " * 37 + ("check of the author's claim: " + ("passes" if report.passed else f"fails ({failed})")))
    return "\n".join(lines)


def _footer(rows) -> str:
    done = [r for r in rows if "diagnosis" in r]
    elbo = sum(r["is_elbo"] for r in done)
    skipped = [r["example"] for r in rows if "skipped" in r]
    text = f"\n{len(done)} examples diagnosed: {elbo} ELBO, {len(done) - elbo} not."
    if skipped:
        text += f" Skipped (framework missing): {', '.join(skipped)}."
    return text
