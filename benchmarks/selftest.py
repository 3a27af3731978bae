"""Mutation self-test: time to the first failing example per mutant, and the N-seed false-alarm audit.

Every mutant runs every check and diagnose (no early stop) under seeds 0..M-1. Its time to the
first failing example is the fastest catching check's ``CheckResult.seconds_to_failure`` (the
framework is imported and its adapter built before timing); per mutant the median and the
worst over its seeds are kept, then the median and the worst over all mutants are reported.
The audit runs every correct variant under seeds 0..N-1 (check and diagnose) and counts the
runs where anything failed.

    python benchmarks/selftest.py [--seeds 20] [--mutant-seeds 3] [--max-examples N] [--no-diagnose]
                                  [--frameworks numpy,torch,...] [--jobs 2] [--json out.json]

``--mutant-seeds 0`` runs the audit alone.

Entries are spread over ``--jobs`` worker processes (spawned; with ``--tasks-per-worker`` each
is replaced after that many entries, since compiled-function caches grow with every check).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from vae_spec import profiles
from vae_spec.selftest import corpus
from vae_spec.selftest.runner import audit_correct, evaluate_mutant


def _entry(entry_id):
    return next(e for e in corpus.ENTRIES if e.id == entry_id)


def run_mutant(entry_id, seeds, max_examples):
    entry = _entry(entry_id)
    return [evaluate_mutant(entry, seed=s, max_examples=max_examples).as_dict() for s in range(seeds)]


def run_audit(entry_id, seeds, max_examples, with_diagnose=True):
    return audit_correct(_entry(entry_id), seeds=range(seeds), max_examples=max_examples,
                         with_diagnose=with_diagnose).as_dict()


def corpus_table() -> str:
    """Mutants per class and framework; a reason where a class cannot exist in a framework."""
    classes = [str(c) for c in range(1, 21)] + ["extra"]
    lines = [f"{'class':6}" + "".join(f"{f:>12}" for f in corpus.FRAMEWORKS)]
    for cls in classes:
        row = f"{cls:6}"
        for framework in corpus.FRAMEWORKS:
            n = sum(1 for e in corpus.entries("mutant", [framework]) if e.cls == cls)
            row += f"{(str(n) if n else ('n/a' if (cls, framework) in corpus.NOT_APPLICABLE else '-')):>12}"
        lines.append(row)
    totals = [len(corpus.entries("mutant", [f])) for f in corpus.FRAMEWORKS]
    lines.append(f"{'total':6}" + "".join(f"{t:>12}" for t in totals))
    correct = [len(corpus.entries("correct", [f])) for f in corpus.FRAMEWORKS]
    lines.append(f"{'correct':6}" + "".join(f"{c:>12}" for c in correct))
    lines.extend(f"n/a {cls} in {framework}: {why}" for (cls, framework), why in corpus.NOT_APPLICABLE.items())
    return "\n".join(lines)


def mutant_table(rows) -> tuple[str, dict]:
    lines = [f"{'mutant':42} {'class':5} {'caught':>6} {'by (seed 0)':46} {'median s':>8} {'worst s':>8} {'size':>5}"]
    medians, worsts, runs, caught_runs, always = [], [], 0, 0, 0
    for results in rows:
        first = results[0]
        times = [r["seconds_to_failure"] for r in results if r["seconds_to_failure"] is not None]
        caught = sum(r["caught"] for r in results)
        runs += len(results)
        caught_runs += caught
        always += caught == len(results)
        median = statistics.median(times) if times else None
        worst = max(times) if times else None
        if median is not None:
            medians.append(median)
            worsts.append(worst)
        lines.append(
            f"{first['framework'] + ':' + first['name']:42} {first['class']:5} {f'{caught}/{len(results)}':>6} "
            f"{', '.join(first['caught_by']) or first['error'] or '-':46} "
            f"{'-' if median is None else f'{median:.3f}':>8} {'-' if worst is None else f'{worst:.3f}':>8} "
            f"{first['counterexample_size'] if first['counterexample_size'] is not None else '-':>5}"
        )
    summary = {
        "mutants": len(rows), "runs": runs, "caught_runs": caught_runs, "caught_every_seed": always,
        "kill_rate": caught_runs / runs if runs else None,
        "median_seconds_to_failure": statistics.median(medians) if medians else None,
        "worst_seconds_to_failure": max(worsts) if worsts else None,
    }
    return "\n".join(lines), summary


def audit_table(audits) -> tuple[str, dict]:
    lines = [f"{'correct variant':42} {'seeds':>5} {'false alarms':>12} {'seconds':>8}  failures"]
    for a in audits:
        detail = "; ".join(f"seed {f['seed']}: {', '.join(f['checks'] + f['diagnose'])}" for f in a["failures"])
        lines.append(f"{a['framework'] + ':' + a['name']:42} {a['seeds']:5} {a['false_alarms']:12} "
                     f"{a['seconds']:8.1f}  {detail}")
    summary = {"correct_variants": len(audits), "runs": sum(a["seeds"] for a in audits),
               "false_alarms": sum(a["false_alarms"] for a in audits)}
    return "\n".join(lines), summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="audit seeds 0..N-1 (default 20)")
    parser.add_argument("--mutant-seeds", type=int, default=3, help="mutant seeds 0..M-1 (default 3)")
    parser.add_argument("--max-examples", type=int, default=None,
                        help=f"cases per check (default: the {profiles.DEFAULT_PROFILE} profile's)")
    parser.add_argument("--frameworks", default=",".join(corpus.FRAMEWORKS))
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--tasks-per-worker", type=int, default=None,
                        help="entries a worker runs before it is replaced (bounds the memory jit caches "
                             "hold; default never: Python 3.11's pool can hang replacing a worker)")
    parser.add_argument("--no-diagnose", action="store_true",
                        help="audit with check only (diagnose's probes are seeded apart from the search)")
    parser.add_argument("--json", help="also write every result to this JSON file")
    options = parser.parse_args()
    frameworks = [f for f in options.frameworks.split(",") if f]
    max_examples = options.max_examples or profiles.resolve(None)["max_examples"]
    mutants = [e.id for e in corpus.entries("mutant", frameworks)] if options.mutant_seeds > 0 else []
    correct = [e.id for e in corpus.entries("correct", frameworks)]
    print(f"Mutation self-test: {len(mutants)} mutants x {options.mutant_seeds} seeds, {len(correct)} correct "
          f"variants x {options.seeds} seeds, {max_examples} cases per check, {options.jobs} worker(s); "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    start = time.perf_counter()
    with ProcessPoolExecutor(options.jobs, mp_context=get_context("spawn"),
                             max_tasks_per_child=options.tasks_per_worker) as pool:
        mutant_futures = [pool.submit(run_mutant, i, options.mutant_seeds, max_examples) for i in mutants]
        audit_futures = [pool.submit(run_audit, i, options.seeds, max_examples, not options.no_diagnose)
                         for i in correct]
        for done, _ in enumerate(as_completed(mutant_futures + audit_futures), 1):
            print(f"{done}/{len(mutants) + len(correct)} entries done, "
                  f"{(time.perf_counter() - start) / 60:.1f} min", file=sys.stderr, flush=True)
        mutant_rows = [f.result() for f in mutant_futures]
        audits = [f.result() for f in audit_futures]
    seconds = time.perf_counter() - start
    print("\nCorpus (mutants per class and framework)\n" + corpus_table())
    text, mutant_summary = mutant_table(mutant_rows)
    print("\nMutants (caught: seeds caught / seeds run; time to the first failing example over the seeds)\n" + text)
    text, audit_summary = audit_table(audits)
    print(f"\nFalse-alarm audit ({options.seeds} seeds)\n" + text)
    m, a = mutant_summary, audit_summary
    mutant_line = (
        f"{m['caught_runs']}/{m['runs']} mutant runs caught (kill rate {100 * m['kill_rate']:.1f}%; "
        f"{m['caught_every_seed']}/{m['mutants']} mutants caught under every seed); median time to the "
        f"first failing example {m['median_seconds_to_failure']:.3f} s, worst "
        f"{m['worst_seconds_to_failure']:.3f} s; " if m["runs"] else "no mutant run; ")
    print(f"\n{mutant_line}{a['false_alarms']} false alarms in {a['runs']} runs of "
          f"{a['correct_variants']} correct variants; {seconds / 60:.1f} min, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if options.json:
        with open(options.json, "w") as handle:
            json.dump({"mutants": mutant_rows, "audit": audits,
                       "summary": {**mutant_summary, **audit_summary, "max_examples": max_examples,
                                   "seconds": seconds}}, handle, indent=2)


if __name__ == "__main__":
    main()
