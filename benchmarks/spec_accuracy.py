"""Spec accuracy: worst ulp error of each spec function against a 200-bit mpmath oracle, and
the accuracy of randomized QMC against plain Monte Carlo for the KL.

Part 1 evaluates each per-example spec function on random rows (3 elements) and on
adversarial rows (1 element: cancellation, extreme exponents, switch points of series), and
compares with the references in tests/spec/oracle_gaussian.py and oracle_likelihoods.py
(textbook formulas in mpmath, precise to 200 bits; per-example values are their exact sums).
It prints the worst and median error in ulps and the worst error in units of u * M (u = 2^-53,
M the sum of |textbook summands|; vae_spec.tolerance bounds a correct implementation by a small
multiple of it).

Part 2 estimates KL(N(mu, diag e^lv) || N(0, I)) for one 8-dimensional example with
vae_spec.montecarlo.kl_estimate from 2^10 ... 2^20 draws in all, plain Monte Carlo against
RQMC (16 scrambled Sobol' nets), and prints the mean absolute error over repetitions.

Run from the repository root: .venv/bin/python benchmarks/spec_accuracy.py
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import mpmath
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.spec import oracle_gaussian as og  # noqa: E402
from tests.spec import oracle_likelihoods as ol  # noqa: E402
from tests.ulp import ulp_error  # noqa: E402  (sets mpmath to 200 bits)
from vae_spec import spec  # noqa: E402
from vae_spec.montecarlo import kl_estimate  # noqa: E402

U = 2.0**-53
TINY = 5e-324


def neighbours(value: float, steps: int = 2) -> list[float]:
    """value and the floats up to ``steps`` ulps either side."""
    out, low, high = [value], value, value
    for _ in range(steps):
        low, high = math.nextafter(low, -math.inf), math.nextafter(high, math.inf)
        out += [low, high]
    return out


def signed(values) -> list[float]:
    return sorted({s * v for v in values for s in (1.0, -1.0)})


# ------------------------------------------------------------------------------ the cases
# A case: name, inputs (dict of (B, D) arrays for the spec call), the spec's per-example
# values, the oracle for row b, and the per-example magnitude M (or None).

def kl_standard_normal_case(posterior, rng, rows):
    identity = {"logvar": 0.0, "logstd": 0.0, "std": 1.0, "var": 1.0}[posterior]
    log_form = posterior.startswith("log")
    near = [identity + d for d in signed([TINY, 1e-300, 1e-20, 1e-12, 1e-8, 1e-5, 2.0**-10,
                                          2.0**-10 + 2.0**-40, 1e-3, 0.1, 0.5])]
    near = [v for v in near if log_form or v > 0] + neighbours(identity, 4)
    far = (signed([1.0, 3.0, 30.0, 300.0, 700.0, 1e4]) if log_form
           else [1e-300, 1e-150, 1e-20, 1e-3, 0.3, 3.0, 1e3, 1e20, 1e150])
    mus = signed([0.0, TINY, 1e-160, 1e-8, 0.5, 1.0, 1e8, 1e150])
    adversarial = [(m, s) for s in near + far for m in mus]
    random_lv = rng.uniform(-25, 25, (rows, 3))
    random_scale = {"logvar": random_lv, "logstd": 0.5 * random_lv,
                    "std": np.exp(0.5 * random_lv), "var": np.exp(random_lv)}[posterior]
    random_mu = rng.standard_normal((rows, 3)) * 10.0 ** rng.uniform(-3, 3, (rows, 3))
    batches = [dict(mu=random_mu, scale=random_scale),
               dict(mu=np.array([[m] for m, _ in adversarial]),
                    scale=np.array([[s] for _, s in adversarial]))]

    def run(b):
        return (spec.kl_standard_normal(b["mu"], b["scale"], posterior),
                np.sum(spec.kl_standard_normal_magnitude(b["mu"], b["scale"], posterior), 1))

    def oracle(b, i):
        args = list(zip(b["mu"][i].tolist(), b["scale"][i].tolist()))
        return og.evaluate(lambda: [t for m, s in args for t in og.kl_standard_normal_summands(
            mpmath.mpf(m), mpmath.mpf(s), posterior)])

    return f"kl_standard_normal ({posterior})", batches, run, oracle


def kl_diagonal_case(rng, rows):
    lp = rng.uniform(-20, 20, (rows, 3))
    mp = rng.standard_normal((rows, 3)) * 3

    def near(base):  # q close to p at every scale, down to 1e-8 relative
        return base + rng.standard_normal((rows, 3)) * 10.0 ** rng.uniform(-8, 1, (rows, 3))

    random = dict(mu_q=near(mp), logvar_q=near(lp), mu_p=mp, logvar_p=lp)
    adversarial = []
    for base_lp in (-700.0, -30.0, -1.0, 0.0, 0.7, 30.0, 700.0):
        for d_lv in signed([0.0, TINY, 1e-300, 1e-16, 1e-8, 2.0**-10, 0.01, 1.0, 50.0]):
            for base_mp, d_mu in ((0.0, 0.0), (1.0, 1e-12), (-3.0, 2.0), (1e100, 1e90)):
                adversarial.append((base_mp + d_mu, base_lp + d_lv, base_mp, base_lp))
    adv = np.array(adversarial)
    batches = [random, dict(mu_q=adv[:, :1], logvar_q=adv[:, 1:2], mu_p=adv[:, 2:3],
                            logvar_p=adv[:, 3:])]
    keys = ("mu_q", "logvar_q", "mu_p", "logvar_p")

    def run(b):
        args = [b[k] for k in keys]
        return spec.kl_diagonal(*args), np.sum(spec.kl_diagonal_magnitude(*args), 1)

    def oracle(b, i):
        elements = list(zip(*(b[k][i].tolist() for k in keys)))
        return og.evaluate(lambda: [t for e in elements for t in og.kl_diagonal_summands(
            *map(mpmath.mpf, e))])

    return "kl_diagonal", batches, run, oracle


def log_density_case(rng, rows):
    random = dict(x=rng.standard_normal((rows, 3)) * 5, mu=rng.standard_normal((rows, 3)) * 5,
                  logvar=rng.uniform(-20, 20, (rows, 3)))
    adversarial = []
    for lv in neighbours(-math.log(2 * math.pi), 3) + [-30.0, -1.0, 0.0, 1.0, 30.0, 700.0]:
        # (x - mu)^2 e^-lv = -(log 2 pi + lv) makes the density's log 0: cancellation.
        target = -(math.log(2 * math.pi) + lv)
        offsets = [0.0, 1e-8, 1.0, 1e10]
        if target > 0:
            offsets += neighbours(math.sqrt(target * math.exp(lv)), 3)
        for d in offsets:
            adversarial.append((1.5 + d, 1.5, lv))
            adversarial.append((1e200 + d, 1e200, lv))
    adv = np.array(adversarial)
    batches = [random, dict(x=adv[:, :1], mu=adv[:, 1:2], logvar=adv[:, 2:])]

    def run(b):
        magnitude = 0.5 * (math.log(2 * math.pi) + np.abs(b["logvar"])
                           + (b["x"] - b["mu"]) ** 2 * np.exp(-b["logvar"]))
        return spec.gaussian_log_density(b["x"], b["mu"], b["logvar"]), np.sum(magnitude, 1)

    def oracle(b, i):
        elements = list(zip(b["x"][i].tolist(), b["mu"][i].tolist(), b["logvar"][i].tolist()))
        return og.evaluate(lambda: [t for e in elements for t in og.log_density_summands(
            *map(mpmath.mpf, e))])

    return "gaussian_log_density", batches, run, oracle


def entropy_case(rng, rows):
    zero = -(1.0 + math.log(2 * math.pi))  # entropy 0 here
    adversarial = neighbours(zero, 20) + signed([0.0, TINY, 1e-300, 1.0, 1e10, 1e300])
    batches = [dict(logvar=rng.uniform(-100, 100, (rows, 3))),
               dict(logvar=np.array(adversarial)[:, None])]

    def run(b):
        magnitude = 0.5 * (1.0 + math.log(2 * math.pi) + np.abs(b["logvar"]))
        return spec.gaussian_entropy(b["logvar"]), np.sum(magnitude, 1)

    def oracle(b, i):
        values = b["logvar"][i].tolist()
        return og.evaluate(lambda: [t for v in values for t in og.entropy_summands(mpmath.mpf(v))])

    return "gaussian_entropy", batches, run, oracle


def likelihood_case(name, rng, rows):
    lik = spec.parse_likelihood(name)
    family = {"bernoulli": "bernoulli", "continuous-bernoulli": "continuous-bernoulli",
              "gaussian": "gaussian", "laplace": "laplace"}[lik.family]
    if lik.family in ("bernoulli", "continuous-bernoulli"):
        family = f"{family}-{lik.parameterization}"
        x = np.where(rng.random((rows, 3)) < 0.3, np.round(rng.random((rows, 3))),
                     rng.random((rows, 3)))
        targets = [0.0, 1.0, 0.5, 1e-10, 1 - 1e-10, 0.3]
        if lik.parameterization == "probs":
            recon = 1.0 / (1.0 + np.exp(-rng.uniform(-30, 30, (rows, 3))))
            special = ([TINY, 1e-300, 1e-16, 1e-3, 0.25, 0.75, 1 - 1e-3, 1 - 2.0**-53]
                       + neighbours(0.5, 4) + [0.5 + d for d in signed([1e-12, 1e-6, 2.0**-4])])
            if lik.family == "bernoulli":
                special += [0.0, 1.0]
        else:
            recon = rng.uniform(-40, 40, (rows, 3))
            # |l| <= 700: the oracle's 1400 bits resolve sigmoid(l) only up to |l| ~ 970.
            special = (signed([0.0, TINY, 1e-300, 1e-8, 0.5, 1.0, 30.0, 40.0, 700.0])
                       + neighbours(6.0, 2) + neighbours(-6.0, 2))
        pairs = [(t, r) for t in targets for r in special
                 if not (r == 0.0 and t > 0) and not (r == 1.0 and t < 1)]
        extra_random = extra_special = None
    else:
        fixed = lik.variance if lik.family == "gaussian" else lik.scale
        x = rng.standard_normal((rows, 3)) * 10.0 ** rng.uniform(-2, 3, (rows, 3))
        recon = x + rng.standard_normal((rows, 3)) * 10.0 ** rng.uniform(-8, 2, (rows, 3))
        pairs, extra_special = [], []
        for log_extra in ([-20.0, -1.0, 0.0, 2.0, 20.0] if lik.learned else [math.log(fixed)]):
            extra = math.exp(log_extra)
            # |x - m| where the log-likelihood is 0: the quadratic (absolute) term equals the
            # constant, the worst cancellation
            # (|x - m| = sqrt(-V log(2 pi V)) or -S log(2S); no zero for large V or S).
            if lik.family == "gaussian":
                zero = -extra * math.log(2 * math.pi * extra)
                zero = math.sqrt(zero) if zero > 0 else 1.0
            else:
                zero = -extra * math.log(2 * extra) if 2 * extra < 1 else 1.0
            for d in neighbours(zero, 3) + [0.0, 1e-8, 1.0, 1e5]:
                for base in (0.25, -3.0, 1e100):
                    pairs.append((base + d, base))
                    extra_special.append(log_extra)
        extra_random = rng.uniform(-20, 20, (rows, 3)) if lik.learned else None
    adv = np.array(pairs)
    batches = [dict(x=x, recon=recon, extra=extra_random),
               dict(x=adv[:, :1], recon=adv[:, 1:],
                    extra=np.array(extra_special)[:, None] if lik.learned else None)]

    def run(b):
        params = {lik.learned: b["extra"]} if lik.learned else {}
        return (spec.log_likelihood(b["x"], b["recon"], name, **params),
                np.sum(spec.log_likelihood_magnitude(b["x"], b["recon"], name, **params), 1))

    def oracle(b, i):
        with mpmath.workprec(ol.PRECISION):
            terms = []
            for k, (xv, rv) in enumerate(zip(b["x"][i].tolist(), b["recon"][i].tolist())):
                if lik.learned:
                    extra = mpmath.exp(mpmath.mpf(float(b["extra"][i, k])))
                else:
                    extra = lik.variance if lik.family == "gaussian" else lik.scale
                terms.append(ol.log_likelihood(family, xv, rv, extra))
            return mpmath.fsum(terms)

    return f"log_likelihood ({name})", batches, run, oracle


def accuracy_table(rows: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    cases = [kl_standard_normal_case(p, rng, rows) for p in spec.POSTERIORS]
    cases += [kl_diagonal_case(rng, rows), log_density_case(rng, rows), entropy_case(rng, rows)]
    cases += [likelihood_case(n, rng, rows) for n in (
        "bernoulli-probs", "bernoulli-logits", "continuous-bernoulli-probs",
        "continuous-bernoulli-logits", "gaussian", "gaussian:var=0.3", "gaussian-learned",
        "laplace", "laplace:scale=2.5", "laplace-learned")]
    print(f"Part 1. Error against the 200-bit oracle ({rows} random rows of 3 elements per "
          "function, plus adversarial rows of 1 element)")
    header = (f"{'function':<46} {'points':>6} {'max ulp':>9} {'median ulp':>10} "
              f"{'max err/(u M)':>13}")
    print(header)
    print("-" * len(header))
    for name, batches, run, oracle in cases:
        ulps, margins = [], []
        for batch in batches:
            values, magnitudes = run(batch)
            for i, value in enumerate(values.tolist()):
                exact = oracle(batch, i)
                ulps.append(ulp_error(value, exact))
                if math.isfinite(value) and mpmath.isfinite(exact) and 0 < magnitudes[i] < math.inf:
                    error = abs(mpmath.mpf(value) - exact)
                    margins.append(float(error / (mpmath.mpf(U) * float(magnitudes[i]))))
        print(f"{name:<46} {len(ulps):>6} {max(ulps):>9.3g} {statistics.median(ulps):>10.3g} "
              f"{max(margins):>13.3g}")


def mc_table(repetitions: int) -> None:
    rng = np.random.default_rng(2024)
    mu = rng.standard_normal(8)
    logvar = rng.uniform(-2.0, 1.0, 8)
    exact = float(spec.kl_standard_normal(mu[None], logvar[None])[0])
    print()
    print(f"Part 2. KL of one 8-dim example (KL = {exact:.6f}): mean |estimate - KL| and mean "
          f"standard error over {repetitions} repetitions; RQMC uses 16 replicates; "
          "same total draws")
    header = (f"{'draws':>8} {'MC error':>11} {'RQMC error':>11} {'ratio':>7} "
              f"{'MC stderr':>11} {'RQMC stderr':>11} {'ratio':>7}")
    print(header)
    print("-" * len(header))
    ratios = {}
    for power in range(10, 21, 2):
        n = 2**power
        errors = {"mc": [], "rqmc": []}
        stderrs = {"mc": [], "rqmc": []}
        for rep in range(repetitions):
            for method in errors:
                estimate = kl_estimate(mu, logvar, n, method=method, replicates=16, seed=rep)
                errors[method].append(abs(estimate.mean - exact))
                stderrs[method].append(estimate.stderr)
        error = {m: statistics.fmean(v) for m, v in errors.items()}
        stderr = {m: statistics.fmean(v) for m, v in stderrs.items()}
        ratios[power] = (error["mc"] / error["rqmc"], stderr["mc"] / stderr["rqmc"])
        print(f"  2^{power:<4} {error['mc']:>11.3e} {error['rqmc']:>11.3e} "
              f"{ratios[power][0]:>7.1f} {stderr['mc']:>11.3e} {stderr['rqmc']:>11.3e} "
              f"{ratios[power][1]:>7.1f}")
    print(f"At 2^18 draws RQMC is {ratios[18][0]:.0f}x more accurate than MC by mean |error| "
          f"and {ratios[18][1]:.0f}x by standard error (goal: >= 100x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2000, help="random rows per function")
    parser.add_argument("--repetitions", type=int, default=16, help="Monte Carlo repetitions")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    accuracy_table(args.rows, args.seed)
    mc_table(args.repetitions)
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
