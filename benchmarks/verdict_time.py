"""Time to a verdict: check() and diagnose() on a correct loss in each framework.

Prints, per framework: the framework's import time (excluded from the rest), check()'s wall
time with the default profile and the share of it spent inside the user's function, and
diagnose()'s wall time. With --compile, also check(compile=True)'s compiled-variant checks.

    python benchmarks/verdict_time.py [--frameworks numpy,torch,...] [--compile] [--repeats 1]
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import time

from vae_spec import Target, check, diagnose

MODULES = {"numpy": "numpy", "torch": "torch", "tensorflow": "tensorflow", "jax": "jax", "keras": "keras"}


def make_loss(framework: str):
    """A correct Bernoulli-probs ELBO loss (per-example sums, batch mean) in the framework's ops."""
    if framework == "tensorflow":
        import tensorflow as tf

        def loss(x_recon, x, mu, logvar):
            b = tf.shape(x)[0]
            bce = -(x * tf.math.log(x_recon) + (1 - x) * tf.math.log1p(-x_recon))
            kl = 0.5 * (mu * mu + tf.exp(logvar) - 1 - logvar)
            per_example = tf.reduce_sum(tf.reshape(bce, (b, -1)), 1) + tf.reduce_sum(tf.reshape(kl, (b, -1)), 1)
            return tf.reduce_mean(per_example)

        return loss
    xp = {"numpy": "numpy", "torch": "torch", "jax": "jax.numpy", "keras": "keras.ops"}[framework]
    xp = importlib.import_module(xp)

    def loss(x_recon, x, mu, logvar):
        b = x.shape[0]
        bce = -(x * xp.log(x_recon) + (1 - x) * xp.log1p(-x_recon))
        kl = 0.5 * (mu * mu + xp.exp(logvar) - 1 - logvar)
        per_example = xp.sum(xp.reshape(bce, (b, -1)), 1) + xp.sum(xp.reshape(kl, (b, -1)), 1)
        return xp.mean(per_example)

    return loss


class Timed:
    """The user's function, with the time spent inside it accumulated."""

    def __init__(self, fn):
        self.fn, self.seconds = fn, 0.0

    def __call__(self, *args):
        start = time.perf_counter()
        try:
            return self.fn(*args)
        finally:
            self.seconds += time.perf_counter() - start


def measure(framework: str, compile_: bool, repeats: int) -> dict:
    start = time.perf_counter()
    importlib.import_module(MODULES[framework])
    imported = time.perf_counter() - start
    rows = {"framework": framework, "import_s": imported, "check_s": [], "inside_s": [], "diagnose_s": []}
    for _ in range(repeats):
        timed = Timed(make_loss(framework))
        target = Target(timed, framework=framework, args=("x_recon", "x", "mu", "logvar"),
                        likelihood="bernoulli-probs", name=f"{framework}-bernoulli")
        start = time.perf_counter()
        report = check(target, raise_on_failure=False)
        rows["check_s"].append(time.perf_counter() - start)
        rows["inside_s"].append(timed.seconds)
        rows["passed"] = report.passed
        if not report.passed:
            rows["failures"] = [f"{c.name}: {c.message}" for c in report.failures]
        start = time.perf_counter()
        verdict = diagnose(Target(make_loss(framework), framework=framework, args=("x_recon", "x", "mu", "logvar")))
        rows["diagnose_s"].append(time.perf_counter() - start)
        rows["is_elbo"] = verdict.is_elbo
    if compile_ and framework in ("torch", "tensorflow", "jax"):
        target = Target(make_loss(framework), framework=framework, args=("x_recon", "x", "mu", "logvar"),
                        likelihood="bernoulli-probs")
        start = time.perf_counter()
        report = check(target, checks=("value", "gradient"), compile=True, raise_on_failure=False)
        rows["compile_total_s"] = time.perf_counter() - start
        rows["compiled"] = {c.name: round(c.seconds, 2) for c in report.checks if "compiled" in c.name}
        rows["compiled_passed"] = report.passed
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default="numpy,torch,tensorflow,jax,keras")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--repeats", type=int, default=1)
    options = parser.parse_args()
    print(f"{'framework':11} {'import s':>8} {'check s':>8} {'in fn':>6} {'diagnose s':>10}  verdicts")
    for framework in options.frameworks.split(","):
        row = measure(framework, options.compile, options.repeats)
        check_s = statistics.median(row["check_s"])
        share = statistics.median(i / c for i, c in zip(row["inside_s"], row["check_s"]))
        print(f"{framework:11} {row['import_s']:8.2f} {check_s:8.2f} {share:6.0%} "
              f"{statistics.median(row['diagnose_s']):10.2f}  check {'pass' if row['passed'] else 'FAIL'}, "
              f"diagnose {'ELBO' if row['is_elbo'] else 'NOT ELBO'}")
        for failure in row.get("failures", []):
            print("    ", failure)
        if "compiled" in row:
            print(f"{'':11} compiled: {row['compiled']} (total {row['compile_total_s']:.1f} s, "
                  f"{'pass' if row['compiled_passed'] else 'FAIL'})")


if __name__ == "__main__":
    main()
