"""``vae-spec demo``: diagnose and check every bundled example, and print a table.

The examples run in worker processes, one group per framework stack (TensorFlow with Keras on
its default backend, torch, jax, numpy), so that each framework is imported once and the
groups run side by side; rows are printed in the examples' order as soon as they are ready.
"""

from __future__ import annotations

import os
import textwrap
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from .examples import EXAMPLES
from .frameworks.base import is_installed


def run_demo(*, check_examples: bool = True, stream=print, jobs: int | None = None) -> list[dict]:
    """Diagnose each example (likelihood undeclared) and check its author's claim.

    Returns one row per example: its name, framework, about, ``is_elbo`` and the printed
    ``text``, or ``skipped`` with the reason. ``jobs`` worker processes run the framework
    groups (default: one per CPU core, at most one per group; 1 runs them here).
    """
    rows: list[dict | None] = [None] * len(EXAMPLES)
    groups: dict[str, list[int]] = {}
    for index, example in enumerate(EXAMPLES):
        if not is_installed(example.framework):
            rows[index] = {"example": example.name, "framework": example.framework,
                           "skipped": f"{example.framework} is not installed"}
        else:
            groups.setdefault(_stack(example.framework), []).append(index)
    printed = 0

    def show_ready():
        nonlocal printed
        while printed < len(rows) and rows[printed] is not None:
            if "text" in rows[printed]:
                stream(rows[printed]["text"])
            printed += 1

    jobs = min(jobs or os.cpu_count() or 1, len(groups)) if groups else 1
    if jobs <= 1:
        for indices in groups.values():
            for index, row in zip(indices, run_group(indices, check_examples)):
                rows[index] = row
                show_ready()
    else:
        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(run_group, indices, check_examples): indices for indices in groups.values()}
            for future in as_completed(futures):
                for index, row in zip(futures[future], future.result()):
                    rows[index] = row
                show_ready()
    show_ready()
    stream(_footer(rows))
    return rows


def _stack(framework: str) -> str:
    """The group an example runs in: Keras on TensorFlow shares TensorFlow's import."""
    if framework == "keras":
        return os.environ.get("KERAS_BACKEND", "tensorflow")
    return framework


def run_group(indices: list[int], check_examples: bool) -> list[dict]:
    """The rows of the examples at ``indices``, diagnosed and checked one after another."""
    from .diagnosis import diagnose
    from .runner import check

    rows = []
    for index in indices:
        example = EXAMPLES[index]
        diagnosis = diagnose(example.load(declare_likelihood=False))
        report = check(example.load(), profile="vae-dev", raise_on_failure=False) if check_examples else None
        rows.append({"example": example.name, "framework": example.framework, "about": example.about,
                     "is_elbo": diagnosis.is_elbo, "text": _format_row(example, diagnosis, report)})
    return rows


def _format_row(example, diagnosis, report) -> str:
    verdict = "ELBO" if diagnosis.is_elbo else "NOT ELBO"
    lines = [f"{example.name:16} {example.framework:10} {verdict:9} {example.about}"]
    errors = [f for f in diagnosis.findings if f.severity == "error"]
    notes = errors or [f for f in diagnosis.findings if f.code in ("gaussian-variance", "beta", "precision")]
    for finding in notes:
        wrapped = textwrap.wrap(f"{finding.code}: {finding.message}", 88)
        lines.extend(" " * 37 + part for part in wrapped)
    claim = diagnosis.claim
    lines.append(" " * 37 + (f"conforms as: {claim.words()}" if claim else f"no claim: {diagnosis.no_claim}"))
    if report is not None:
        failed = ", ".join(f"{r.name} [{r.code}]" for r in report.failures)
        lines.append(" " * 37 + ("check of the author's claim: " + ("passes" if report.passed else f"fails ({failed})")))
    return "\n".join(lines)


def _footer(rows) -> str:
    done = [r for r in rows if "is_elbo" in r]
    elbo = sum(r["is_elbo"] for r in done)
    skipped = [r["example"] for r in rows if "skipped" in r]
    text = f"\n{len(done)} examples diagnosed: {elbo} ELBO, {len(done) - elbo} not."
    if skipped:
        text += f" Skipped (framework missing): {', '.join(skipped)}."
    return text
