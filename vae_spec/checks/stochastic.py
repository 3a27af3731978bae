"""A loss that samples z inside: its mean over calls is the analytic negative ELBO.

Statistics. For one case, the batch is repeated ``REPEATS`` times (each call averages or sums
that many independent per-example draws) and the function is called ``CALLS`` = n times with
the framework's generator seeded, giving outputs y_1..y_n with sample mean m and standard
error se = s / sqrt(n). Each y_i is itself a mean of REPEATS * B independent draws, so m is
close to normal, and |m - mu| / se follows Student's t with n - 1 degrees of freedom when the
estimator is unbiased. The check fails when

    |m - expected| > t_{1 - a/2, n-1} se + (the derived rounding bound of the expected value),

with a = FALSE_FAILURE / cases per check, so the whole check raises a false alarm with
probability at most FALSE_FAILURE = 1e-6 (a union bound over its cases). Its power: the
smallest relative bias detected with probability >= 0.999 (the noncentral-t shift of
:func:`vae_spec.montecarlo.detectable_shift`), which the report states for the largest case.
Each output element's mean is a :class:`vae_spec.montecarlo.Estimate` with n - 1 degrees of
freedom, the same estimate the spec's own Monte Carlo tests use.
"""

from __future__ import annotations

import numpy as np

from .. import tolerance
from ..montecarlo import Estimate, detectable_shift
from ._engine import SKIP, Failure, Property, shape_ok
from .registry import register

FALSE_FAILURE = 1e-6
POWER = 0.999
CALLS = 64
REPEATS = 64
CASES = 6


@register("stochastic_mean", "kl-formula", terms=("stochastic_loss",))
def stochastic_mean(ctx):
    """The mean over seeded calls equals the negative ELBO, within a t-interval at a 1e-6 false-failure rate."""
    cases = min(CASES, ctx.max_examples)
    alpha = FALSE_FAILURE / cases
    power = {"relative": 0.0}

    def prop(case):
        inputs = {k: np.concatenate([v] * REPEATS) for k, v in ctx.round(case).items()}
        outputs = []
        with ctx.adapter.seeded(ctx.seed):
            for _ in range(CALLS):
                call = ctx.call(inputs, case.dtype)
                if not call.ok or not shape_ok(ctx.target, call.output, REPEATS * case.batch_size):
                    return SKIP
                outputs.append(call.output.reshape(-1))
        samples = np.stack(outputs)  # (calls, 1) or (calls, B)
        expected = ctx.expected(inputs)
        want = np.ravel(expected.value)
        if not tolerance.representable(want, case.dtype).all() or not np.isfinite(samples).all():
            return SKIP
        mean = samples.mean(axis=0)
        se = samples.std(axis=0, ddof=1) / np.sqrt(CALLS)
        estimates = [Estimate(float(m), float(s), n=CALLS, replicates=CALLS) for m, s in zip(mean, se)]
        rounding = np.ravel(tolerance.bound(expected.magnitude, case.dtype, expected.n_summands,
                                            ctx.adapter.elementary_ulps(case.dtype)))
        limit = np.array([e.interval(alpha) for e in estimates]) + rounding
        detectable = (np.array([detectable_shift(e, alpha, POWER) for e in estimates])
                      / np.maximum(np.abs(want), 1e-300))
        power["relative"] = max(power["relative"], float(np.max(detectable)))
        error = np.abs(mean - want)
        worst = int(np.argmax(error / limit))
        if error[worst] <= limit[worst]:
            return None
        return Failure(
            f"the mean over {CALLS} calls is {mean[worst]:.6g} +- {se[worst]:.3g} (standard error), "
            f"the negative ELBO is {want[worst]:.6g}: a bias of {error[worst] / se[worst]:.1f} "
            f"standard errors (false-failure probability <= {FALSE_FAILURE:g})",
            error=float(error[worst]), bound=float(limit[worst]), margin=float(error[worst] / limit[worst]),
            output=mean, expected=want,
        )

    def finish(result):
        if result.status == "pass":
            result.message += (
                f"; false-failure probability <= {FALSE_FAILURE:g}, detects a relative bias of "
                f"{power['relative']:.2g} with probability {POWER:g}"
            )
        return result

    return Property("stochastic_mean", "kl-formula", prop, pinned=False, max_examples=cases, finish=finish)
