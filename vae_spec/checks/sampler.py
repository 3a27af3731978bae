"""Reparameterization samplers: z = mu + sigma * eps, with eps standard normal and pathwise gradients.

``sampler_value`` (eps bound): z equals mu + sigma eps within the derived bound, with
sigma = exp(logvar / 2) (or the declared parameterization's sigma) and magnitude
M = |mu| + sigma |eps|.

``sampler_distribution`` (eps drawn inside): eps_hat = (z - mu) / sigma over N draws must be
standard normal. Four tests, each at a false-failure probability of FALSE_FAILURE / 4
(so <= 1e-6 together, by the union bound):

* mean: sqrt(N) |mean(eps_hat)| against the normal quantile (exact for normal draws);
* variance: (N - 1) var(eps_hat) against the chi-square quantiles with N - 1 degrees of freedom;
* Kolmogorov-Smirnov distance against N(0, 1) (scipy.stats.kstest, exact p-value);
* excess kurtosis: its standard error is sqrt(24 / N) for normal draws, compared with the
  normal quantile (N = 2^15 makes the normal approximation accurate far into the tail).

With N = 2^15 they detect, with probability >= 0.999, a mean shift of 0.046, a variance off
by 6.5% (a standard deviation off by 3.3%), and the flat tails of uniform noise (excess kurtosis -1.2, about 44
standard errors). ``sampler_gradient``: dz/dmu = 1 and dz/dlogvar = sigma eps / 2 = (z - mu) / 2
(per parameterization: dz/dlogstd = z - mu, dz/dstd = (z - mu) / std, dz/dvar = (z - mu) / (2 var)).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st
from scipy import stats

from .. import tolerance
from ..strategies import Case, value_range
from ..vocabulary import POSTERIOR
from ._engine import SKIP, Failure, Property
from .registry import register

FALSE_FAILURE = 1e-6
DRAWS = 2**15
_SAMPLER = ("sampler",)


def _sigma(target, inputs):
    return np.exp(POSTERIOR[target.posterior].to_logvar(inputs[target.posterior]) / 2)


def _z(ctx, call, inputs):
    """The output as z, or a Failure when it is not shaped like mu."""
    if not call.ok:
        return SKIP
    if call.output.shape != inputs["mu"].shape:
        return Failure(f"returned shape {call.output.shape}, expected mu's shape {inputs['mu'].shape}",
                       code="shape")
    return call.output


@register("sampler_value", "sampler", lambda t, a: None if "eps" in t.canonical_args else "eps is not an input",
          terms=_SAMPLER)
def sampler_value(ctx):
    """With eps given, z = mu + sigma * eps within the derived bound."""

    def prop(case):
        inputs = ctx.round(case)
        z = _z(ctx, ctx.call(inputs, case.dtype), inputs)
        if not isinstance(z, np.ndarray):
            return z
        sigma = _sigma(ctx.target, inputs)
        want = inputs["mu"] + sigma * inputs["eps"]
        magnitude = np.abs(inputs["mu"]) + sigma * np.abs(inputs["eps"])
        if not tolerance.representable(want, case.dtype).all():
            return SKIP
        comparison = tolerance.compare(z, want, magnitude, case.dtype, 4, ctx.adapter.elementary_ulps(case.dtype))
        if comparison.passed:
            return None
        index = comparison.index or ()
        return Failure.beyond(
            f"z{list(index)} = {z[index]:.6g}, but mu + sigma * eps = {want[index]:.6g} "
            f"(sigma = {sigma[index]:.6g} from {ctx.target.posterior})",
            comparison, z, want,
        )

    return Property("sampler_value", "sampler", prop)


@st.composite
def _large_cases(draw, ctx):
    """A large batch (DRAWS elements per input) of typical mu and scale values."""
    dtype = draw(st.sampled_from(tuple(ctx.dtypes)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    latent = ctx.layout.latent.sized(32)
    batch = max(1, DRAWS // math.prod(latent))
    inputs = {}
    for name in ctx.target.array_args:
        low, high = value_range(name, "typical", dtype)
        inputs[name] = rng.uniform(low, high, size=(batch, *latent))
    return Case(inputs=inputs, dtype=dtype, regime="typical")


def _normality_failures(eps: np.ndarray) -> list[str]:
    """The tests eps fails at FALSE_FAILURE / 4 each (empty when it looks standard normal)."""
    n = eps.size
    alpha = FALSE_FAILURE / 4
    z_reject = stats.norm.ppf(1 - alpha / 2)
    failures = []
    mean = eps.mean()
    if math.sqrt(n) * abs(mean) > z_reject:
        failures.append(f"mean {mean:.4g} (|z| > {z_reject:.2f})")
    variance = eps.var(ddof=1)
    low, high = stats.chi2.ppf([alpha / 2, 1 - alpha / 2], n - 1) / (n - 1)
    if not low <= variance <= high:
        failures.append(f"variance {variance:.4g} outside [{low:.4g}, {high:.4g}]")
    ks = stats.kstest(eps, "norm")
    if ks.pvalue < alpha:
        failures.append(f"Kolmogorov-Smirnov distance {ks.statistic:.4g} (p = {ks.pvalue:.2g})")
    kurtosis = stats.kurtosis(eps)
    if abs(kurtosis) / math.sqrt(24 / n) > z_reject:
        failures.append(f"excess kurtosis {kurtosis:.3g} (normal: 0)")
    return failures


@register("sampler_distribution", "sampler",
          lambda t, a: "eps is an input" if "eps" in t.canonical_args else None, terms=_SAMPLER)
def sampler_distribution(ctx):
    """(z - mu) / sigma is standard normal: mean, variance, Kolmogorov-Smirnov and kurtosis at 1e-6 together."""

    def prop(case):
        inputs = ctx.round(case)
        with ctx.adapter.seeded(ctx.seed):
            z = _z(ctx, ctx.call(inputs, case.dtype), inputs)
        if not isinstance(z, np.ndarray):
            return z
        eps = ((z - inputs["mu"]) / _sigma(ctx.target, inputs)).ravel()
        if not np.isfinite(eps).all():
            return Failure("(z - mu) / sigma is not finite for typical inputs", code="nonfinite")
        failures = _normality_failures(eps)
        if not failures:
            return None
        return Failure(f"(z - mu) / sigma over {eps.size} draws is not standard normal: "
                       + "; ".join(failures) + f" (false-failure probability <= {FALSE_FAILURE:g})")

    return Property("sampler_distribution", "sampler", prop, strategy=_large_cases(ctx),
                    pinned=False, max_examples=2)


def _gradient_applies(target, adapter):
    return None if adapter.supports_grad else f"{adapter.name} has no automatic differentiation"


@register("sampler_gradient", "gradient", _gradient_applies, terms=_SAMPLER)
def sampler_gradient(ctx):
    """Pathwise gradients: dz/dmu = 1 and dz/d(scale) = (z - mu) times the parameterization's factor."""
    posterior = ctx.target.posterior

    def prop(case):
        inputs = ctx.round(case)
        call, grads = ctx.value_and_grad(inputs, case.dtype, ("mu", posterior))
        z = _z(ctx, call, inputs)
        if not isinstance(z, np.ndarray):
            return z
        deviation = z - inputs["mu"]
        expected = {
            "mu": np.ones_like(z),
            posterior: POSTERIOR[posterior].dz_dscale(deviation, inputs[posterior]),
        }
        # z - mu is exact to u (|z| + |mu|); the gradient's own error is a few u of its size
        magnitude = {
            "mu": np.ones_like(z),
            posterior: np.abs(POSTERIOR[posterior].dz_dscale(np.abs(z) + np.abs(inputs["mu"]), inputs[posterior])),
        }
        for name, want in expected.items():
            got = grads.get(name)
            if got is None:
                return Failure(f"no gradient flows to {name!r}: z is not a pathwise (reparameterized) sample",
                               expected=want)
            comparison = tolerance.compare(got, want, magnitude[name], case.dtype, 8,
                                           ctx.adapter.elementary_ulps(case.dtype))
            if not comparison.passed:
                index = comparison.index or ()
                return Failure.beyond(
                    f"dz/d{name}{list(index)} = {np.asarray(got)[index]:.6g}, the pathwise gradient is "
                    f"{want[index]:.6g}",
                    comparison, got, want,
                )
        return None

    return Property("sampler_gradient", "gradient", prop)
