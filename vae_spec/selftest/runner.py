"""run_selftest: the corpus's mutation score and its false-alarm audit.

A mutant is caught when a failing check's code is among its expected codes (the specific
ones wherever the departure has a name). Where diagnose reads the term, its error findings are
recorded too, and ``diagnose_agrees`` says whether it names the mutant with one of the same
codes: check and diagnose share one vocabulary. For each mutant the result says by
which checks, with which codes, how long the catching check took to its first failing example
(``CheckResult.seconds_to_failure``; the framework is imported before timing) and how many
input elements its shrunk counterexample holds. The audit runs every correct variant under
seeds 0..N-1 (``check(seed=s)`` and ``diagnose(seed=s)``); any failing check, any error
finding, or a loss not diagnosed as the ELBO counts as a false alarm.
"""

from __future__ import annotations

import contextlib
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..checks import CHECKS
from ..diagnosis import diagnose
from ..frameworks.base import get_adapter, is_installed
from ..runner import VALUE_CHECKS, check
from ..schema import dumps, header
from .corpus import Entry, entries


@dataclass
class MutantResult:
    """How the suite did on one mutant under one seed."""

    entry: Entry
    seed: int
    caught: bool = False
    failed_checks: list[str] = field(default_factory=list)  # every failing check, "name [code]"
    codes: list[str] = field(default_factory=list)  # the failing checks' codes
    matched: list[str] = field(default_factory=list)  # codes among the expected ones
    caught_by: list[str] = field(default_factory=list)  # checks giving a matched code
    diagnose_codes: list[str] = field(default_factory=list)  # diagnose's error codes
    diagnose_agrees: bool | None = None  # diagnose names it with an expected code (None: not read)
    seconds_to_failure: float | None = None  # the fastest catching check's time to its first failure
    counterexample_size: int | None = None  # input elements in that check's shrunk counterexample
    seconds: float = 0.0
    backend: str | None = None
    error: str | None = None

    def progress_line(self) -> str:
        verdict = "caught" if self.caught else "NOT caught"
        return f"{self.entry.id} seed {self.seed}: {verdict} by {', '.join(self.caught_by) or '-'}"

    def as_dict(self) -> dict:
        e = self.entry
        return {
            "id": e.id, "name": e.name, "class": e.cls, "framework": e.framework, "backend": self.backend,
            "target": e.target, "seed": self.seed, "expected_codes": list(e.expected_codes),
            "caught": self.caught, "caught_by": self.caught_by, "matched_codes": self.matched,
            "codes": self.codes, "failed_checks": self.failed_checks,
            "diagnose_codes": self.diagnose_codes, "diagnose_agrees": self.diagnose_agrees,
            "seconds_to_failure": _rounded(self.seconds_to_failure),
            "counterexample_size": self.counterexample_size, "seconds": round(self.seconds, 3),
            "error": self.error,
        }


@dataclass
class AuditResult:
    """One correct variant under several seeds: the seeds at which anything failed."""

    entry: Entry
    seeds: list[int] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)  # {"seed", "checks", "diagnose"}
    seconds: float = 0.0
    backend: str | None = None

    @property
    def false_alarms(self) -> int:
        return len(self.failures)

    def progress_line(self) -> str:
        return f"{self.entry.id}: {self.false_alarms} false alarm(s) in {len(self.seeds)} seed(s)"

    def as_dict(self) -> dict:
        e = self.entry
        return {
            "id": e.id, "name": e.name, "framework": e.framework, "backend": self.backend,
            "target": e.target, "seeds": len(self.seeds), "false_alarms": self.false_alarms,
            "failures": self.failures, "seconds": round(self.seconds, 3),
        }


@dataclass
class SelftestResult:
    """Every mutant's result, the audit, and the summary (kill rate, false alarms)."""

    mutants: list[MutantResult]
    audit: list[AuditResult]
    skipped: list[dict]
    seeds: int
    max_examples: int | None
    seconds: float = 0.0

    @property
    def summary(self) -> dict:
        caught = sum(m.caught for m in self.mutants)
        read = [m for m in self.mutants if m.diagnose_agrees is not None]
        times = [m.seconds_to_failure for m in self.mutants if m.seconds_to_failure is not None]
        return {
            "mutants": len(self.mutants),
            "caught": caught,
            "kill_rate": caught / len(self.mutants) if self.mutants else None,
            "diagnosed": len(read), "diagnose_agrees": sum(bool(m.diagnose_agrees) for m in read),
            "correct_variants": len(self.audit),
            "seeds": self.seeds,
            "audit_runs": sum(len(a.seeds) for a in self.audit),
            "false_alarms": sum(a.false_alarms for a in self.audit),
            "median_seconds_to_failure": _rounded(statistics.median(times)) if times else None,
            "worst_seconds_to_failure": _rounded(max(times)) if times else None,
            "skipped": len(self.skipped),
            "max_examples": self.max_examples,
            "seconds": round(self.seconds, 1),
        }

    @property
    def passed(self) -> bool:
        s = self.summary
        return s["kill_rate"] == 1.0 and s["false_alarms"] == 0

    def as_dict(self) -> dict:
        return {
            **header("selftest"),
            "mutants": [m.as_dict() for m in self.mutants],
            "audit": [a.as_dict() for a in self.audit],
            "skipped": self.skipped,
            "summary": self.summary,
        }

    def to_json(self) -> str:
        return dumps(self.as_dict())

    def to_text(self) -> str:
        lines = [f"{'mutant':42} {'class':5} {'caught':6} {'by':44} {'code':30} {'t_first':>7} {'size':>5}"]
        for m in self.mutants:
            by = ", ".join(m.caught_by) or (m.error or "-")
            t = f"{m.seconds_to_failure:.2f}" if m.seconds_to_failure is not None else "-"
            size = str(m.counterexample_size) if m.counterexample_size is not None else "-"
            lines.append(f"{m.entry.framework + ':' + m.entry.name:42} {m.entry.cls:5} "
                         f"{'yes' if m.caught else 'NO':6} {by:44} {','.join(m.matched) or '-':30} "
                         f"{t:>7} {size:>5}")
        lines.append("")
        lines.append(f"{'correct variant':42} {'seeds':>5} {'false alarms':>12}  failures")
        for a in self.audit:
            detail = "; ".join(f"seed {f['seed']}: {', '.join(f['checks'] + f['diagnose'])}" for f in a.failures)
            lines.append(f"{a.entry.framework + ':' + a.entry.name:42} {len(a.seeds):5} {a.false_alarms:12}  {detail}")
        for s in self.skipped:
            lines.append(f"skipped {s['id']}: {s['reason']}")
        s = self.summary
        rate = f"{100 * s['kill_rate']:.1f}%" if s["kill_rate"] is not None else "n/a"
        lines.append("")
        lines.append(
            f"{s['caught']}/{s['mutants']} mutants caught (kill rate {rate}); diagnose names "
            f"{s['diagnose_agrees']}/{s['diagnosed']} it reads with the same code; "
            f"{s['false_alarms']} false alarms in {s['audit_runs']} runs of {s['correct_variants']} "
            f"correct variants ({s['seeds']} seed(s)); median time to first failure "
            f"{s['median_seconds_to_failure']} s, worst {s['worst_seconds_to_failure']} s; {s['seconds']} s"
        )
        return "\n".join(lines)


def _rounded(value):
    return None if value is None else round(float(value), 4)


@contextlib.contextmanager
def _quiet():
    """Mutants take logs of negative numbers and overflow on purpose: keep their warnings quiet."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        yield


def prepare(entry: Entry):
    """The entry's Target, its framework imported and its adapter built (so timing excludes both)."""
    target = entry.load()
    adapter = get_adapter(entry.framework)
    return target, getattr(adapter, "backend", None)


def _counterexample_size(result) -> int | None:
    example = result.counterexample if result is not None else None
    if not example or "inputs" not in example:
        return None
    return int(sum(np.asarray(values).size for values in example["inputs"].values()))


def evaluate_mutant(entry: Entry, *, seed: int = 0, max_examples: int | None = None,
                    stop_at_first: bool = False, with_diagnose: bool = True) -> MutantResult:
    """Run every check, then diagnose, on a mutant; with ``stop_at_first``, stop the checks once
    one names it.

    ``stop_at_first`` runs first the checks registered with an expected code and the value
    checks (whose failures carry the departure's name), then the rest only if those did not
    name it: the verdict is the same, sooner.
    """
    result = MutantResult(entry, seed)
    expected = set(entry.expected_codes)
    start = time.perf_counter()
    try:
        target, result.backend = prepare(entry)
    except Exception as exc:  # a corpus entry that cannot load is a defect to report
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    names = list(CHECKS)
    if stop_at_first:  # one check() call per group: each call prepares (jax: jits) the function anew
        first = tuple(n for n in names if CHECKS[n].code in expected or n in VALUE_CHECKS)
        groups = [first, tuple(n for n in names if n not in first)]
    else:
        groups = [tuple(names)]
    catching = []
    with _quiet():
        for group in groups:
            if not group:
                continue
            report = check(target, seed=seed, max_examples=max_examples, checks=group,
                           raise_on_failure=False)
            for failure in report.failures:
                result.failed_checks.append(f"{failure.name} [{failure.code}]")
                if failure.code not in result.codes:
                    result.codes.append(failure.code)
                if failure.code in expected:
                    catching.append((failure.name, failure.seconds_to_failure,
                                     _counterexample_size(failure)))
            if stop_at_first and catching:
                break
        if with_diagnose and target.computes.diagnosable:
            try:
                diagnosis = diagnose(target, seed=seed)
                result.diagnose_codes = [f.code for f in diagnosis.findings if f.severity == "error"]
                result.diagnose_agrees = bool(set(result.diagnose_codes) & expected)
            except Exception as exc:
                result.diagnose_codes = [f"diagnose crashed: {type(exc).__name__}: {exc}"]
                result.diagnose_agrees = False
    result.seconds = time.perf_counter() - start
    result.matched = [c for c in result.codes if c in expected]
    result.caught = bool(result.matched)
    result.caught_by = [name for name, _, _ in catching]
    timed = [c for c in catching if c[1] is not None]
    if timed:
        _, result.seconds_to_failure, result.counterexample_size = min(timed, key=lambda c: c[1])
    return result


def audit_correct(entry: Entry, *, seeds=(0,), max_examples: int | None = None,
                  with_diagnose: bool = True) -> AuditResult:
    """Check (and diagnose) a correct variant under each seed; record every seed where anything fails."""
    result = AuditResult(entry)
    start = time.perf_counter()
    try:
        target, result.backend = prepare(entry)
    except Exception as exc:
        result.failures.append({"seed": None, "checks": [f"load: {type(exc).__name__}: {exc}"], "diagnose": []})
        return result
    with _quiet():
        for seed in seeds:
            result.seeds.append(seed)
            report = check(target, seed=seed, max_examples=max_examples, raise_on_failure=False)
            failed = [f"{f.name} [{f.code}]: {f.message}" for f in report.failures]
            diagnosed = []
            if with_diagnose and target.computes.diagnosable:
                diagnosis = diagnose(target, seed=seed)
                diagnosed = [f"diagnose {f.code}: {f.message}" for f in diagnosis.findings if f.severity == "error"]
                if target.term == "loss" and not diagnosis.is_elbo and not diagnosed:
                    diagnosed = [f"diagnose: not the ELBO ({diagnosis.summary})"]
            if failed or diagnosed:
                result.failures.append({"seed": seed, "checks": failed, "diagnose": diagnosed})
    result.seconds = time.perf_counter() - start
    return result


def run_selftest(seeds: int = 1, frameworks=None, max_examples: int | None = None, *,
                 mutant_seeds: int = 1, jobs: int = 1,
                 progress: Callable[[int, int, str], None] | None = None) -> SelftestResult:
    """Run every mutant (under seeds 0..mutant_seeds-1) and audit every correct variant (seeds 0..seeds-1).

    ``frameworks`` restricts the corpus; entries whose framework is not installed are skipped and
    listed. ``max_examples`` is the number of cases per check (the profile's by default).
    ``jobs`` > 1 spreads the entries over that many worker processes. ``progress(done, total,
    line)`` is called as each entry finishes.
    """
    if seeds < 1 or mutant_seeds < 1:
        raise ValueError(f"seeds: expected a positive number, got {min(seeds, mutant_seeds)}")
    if jobs < 1:
        raise ValueError(f"jobs: expected a positive number, got {jobs}")
    start = time.perf_counter()
    skipped, tasks = [], []
    for kind in ("mutant", "correct"):
        for entry in entries(kind, frameworks):
            if not is_installed(entry.framework):
                skipped.append({"id": entry.id, "reason": f"{entry.framework} is not installed"})
            elif kind == "mutant":
                tasks += [(_mutant_task, (entry, seed, max_examples)) for seed in range(mutant_seeds)]
            else:
                tasks.append((_audit_task, (entry, seeds, max_examples)))
    results = [None] * len(tasks)

    def finished(index, result, done):
        results[index] = result
        if progress:
            progress(done, len(tasks), result.progress_line())

    if jobs == 1:
        for index, (task, args) in enumerate(tasks):
            finished(index, task(*args), index + 1)
    else:
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from multiprocessing import get_context

        with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(task, *args): index for index, (task, args) in enumerate(tasks)}
            for done, future in enumerate(as_completed(futures), 1):
                finished(futures[future], future.result(), done)
    mutants = [r for r in results if isinstance(r, MutantResult)]
    audit = [r for r in results if isinstance(r, AuditResult)]
    return SelftestResult(mutants, audit, skipped, seeds, max_examples, time.perf_counter() - start)


def _mutant_task(entry: Entry, seed: int, max_examples: int | None) -> MutantResult:
    return evaluate_mutant(entry, seed=seed, max_examples=max_examples)


def _audit_task(entry: Entry, seeds: int, max_examples: int | None) -> AuditResult:
    return audit_correct(entry, seeds=range(seeds), max_examples=max_examples)
