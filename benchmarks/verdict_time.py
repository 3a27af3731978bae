"""Time to a verdict: check() and diagnose() of a correct loss, against the loss's own cost.

Per framework, in one process: the framework's import (excluded from the rest), then
- ``calls``: 1000 direct calls of the loss at one shape (B = 4, d = 5, D = 12, float32, native
  inputs built once, one warm-up call first; jax's loss under ``jax.jit``, as check calls it);
- ``check``: ``check()`` with the default profile and shapes declared (data (12,), latent (5,)),
  on a new function object after one untimed check of another (so that vae_spec's own
  first-use costs are left out, and jax compiles the new function anew), and its ratio to
  ``calls``;
- ``inferred``: the same check with no shape declared (the layout found by probing), and its
  ratio to the declared-shape check;
- ``diagnose``: ``diagnose()`` of the same loss, shapes declared.

    python benchmarks/verdict_time.py [--frameworks numpy,torch,tensorflow,jax,keras]

Each framework runs in its own subprocess, so that no framework's import or compilation cache
helps another. Goals: numpy and torch check <= 25x calls, TensorFlow eager
check <= 2 s, jax check <= 100x calls, diagnose <= 0.5 s for numpy and torch, inferred <= 2x
declared.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
import time

import numpy as np

MODULES = {"numpy": "numpy", "torch": "torch", "tensorflow": "tensorflow", "jax": "jax", "keras": "keras"}
ARGS = ("x_recon", "x", "mu", "logvar")
SHAPES = {"data_shape": (12,), "latent_shape": (5,)}


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


def direct_calls(framework: str, n: int = 1000) -> float:
    """Seconds for ``n`` calls of the loss on native float32 inputs of one shape."""
    from vae_spec.frameworks.base import get_adapter

    adapter = get_adapter(framework)
    loss = adapter.prepare(make_loss(framework))  # what check calls (jax: jitted)
    rng = np.random.default_rng(0)
    values = {"x_recon": rng.uniform(0.1, 0.9, (4, 12)), "x": rng.integers(0, 2, (4, 12)).astype(float),
              "mu": rng.normal(size=(4, 5)), "logvar": rng.normal(size=(4, 5))}
    natives = [adapter.asarray(values[name], "float32") for name in ARGS]
    adapter.to_numpy(loss(*natives))  # warm-up (jax: compiles)
    start = time.perf_counter()
    for _ in range(n):
        out = loss(*natives)
    adapter.to_numpy(out)  # jax dispatches asynchronously: wait for the last result
    return time.perf_counter() - start


def measure(framework: str) -> dict:
    from vae_spec import Target, check, diagnose

    start = time.perf_counter()
    importlib.import_module(MODULES[framework])
    row = {"framework": framework, "import_s": time.perf_counter() - start}
    row["calls_s"] = direct_calls(framework)

    def timed_check(**shapes):
        target = Target(make_loss(framework), framework=framework, args=ARGS,
                        likelihood="bernoulli-probs", name=f"{framework}-bernoulli", **shapes)
        start = time.perf_counter()
        report = check(target, raise_on_failure=False)
        return time.perf_counter() - start, report

    timed_check(**SHAPES)  # warm-up on another function object: vae_spec's own first-use costs
    row["check_s"], report = timed_check(**SHAPES)
    row["passed"] = report.passed
    row["failures"] = [f"{c.name}: {c.message}" for c in report.failures]
    row["inferred_s"], inferred = timed_check()
    row["passed"] = row["passed"] and inferred.passed
    start = time.perf_counter()
    verdict = diagnose(Target(make_loss(framework), framework=framework, args=ARGS, **SHAPES))
    row["diagnose_s"] = time.perf_counter() - start
    row["is_elbo"] = verdict.is_elbo
    return row


GOALS = {
    "numpy": ("ratio", 25.0), "torch": ("ratio", 25.0), "tensorflow": ("seconds", 2.0),
    "jax": ("ratio", 100.0), "keras": (None, None),
}


def verdict(row) -> str:
    kind, limit = GOALS[row["framework"]]
    ratio = row["check_s"] / row["calls_s"]
    if kind == "ratio":
        goal = f"check <= {limit:g}x: {'met' if ratio <= limit else 'not met'}"
    elif kind == "seconds":
        goal = f"check <= {limit:g} s: {'met' if row['check_s'] <= limit else 'not met'}"
    else:
        goal = "no goal"
    if row["framework"] in ("numpy", "torch"):
        goal += f"; diagnose <= 0.5 s: {'met' if row['diagnose_s'] <= 0.5 else 'not met'}"
    goal += f"; inferred <= 2x: {'met' if row['inferred_s'] <= 2 * row['check_s'] else 'not met'}"
    return goal


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frameworks", default="numpy,torch,tensorflow,jax,keras")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a subprocess measures one framework
    options = parser.parse_args()
    if options.one:
        print(json.dumps(measure(options.one)))
        return
    print(f"load average {os.getloadavg()[0]:.1f}; KERAS_BACKEND={os.environ.get('KERAS_BACKEND', 'tensorflow')}")
    print("| framework | import s | 1000 calls s | check s | ratio | inferred s | inferred / declared "
          "| diagnose s | verdicts | goals |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    for framework in options.frameworks.split(","):
        out = subprocess.run([sys.executable, __file__, "--one", framework], capture_output=True, text=True,
                             env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        if out.returncode != 0:
            print(f"| {framework} | failed: {out.stderr.strip().splitlines()[-1:]} |")
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        verdicts = (f"check {'pass' if row['passed'] else 'FAIL'}, "
                    f"diagnose {'ELBO' if row['is_elbo'] else 'NOT ELBO'}")
        print(f"| {framework} | {row['import_s']:.2f} | {row['calls_s']:.3f} | {row['check_s']:.2f} "
              f"| {row['check_s'] / row['calls_s']:.0f}x | {row['inferred_s']:.2f} "
              f"| {row['inferred_s'] / row['check_s']:.2f} | {row['diagnose_s']:.2f} | {verdicts} "
              f"| {verdict(row)} |")
        for failure in row["failures"]:
            print("    ", failure)


if __name__ == "__main__":
    main()
