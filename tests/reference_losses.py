r"""Correct VAE losses written in every framework: what the engine must never flag.

Each loss is assembled from small pieces, written once against a framework's primitives
(:class:`vae_spec.selftest.ops.Ops`, which the self-test's corpus is written against too: exp,
expm1, log, log1p, softplus, tanh, abs, where and reductions, each the framework's own
function), so the same formulas run as numpy, torch, tensorflow, jax and keras.ops code, in
every dtype the framework computes in, for any batch size and any trailing latent or data
shape (per-example reductions run over every axis but the first).

Per element (lv = logvar, ls = logstd, s = std, v = var, mp / lp = prior mean / log-variance):

    KL textbook   -1/2 (1 + lv - mu^2 - exp(lv))
    KL stable      1/2 (mu^2 + expm1(lv) - lv)       (no 1 - 1 cancellation)
    KL logstd      1/2 (mu^2 + exp(2 ls) - 1 - 2 ls)
    KL std         1/2 (mu^2 + s^2 - 1 - 2 log s)
    KL var         1/2 (mu^2 + v - 1 - log v)
    KL prior       1/2 (exp(lv - lp) + (mu - mp)^2 exp(-lp) - 1 - lv + lp)

    NLL bernoulli probs p     -(x log p + (1 - x) log1p(-p))
    NLL bernoulli logits l    softplus(l) - x l
    NLL continuous bernoulli  the Bernoulli NLL - log C, C(lambda) = 2 artanh(1 - 2 lambda) / (1 - 2 lambda)
    NLL gaussian (m, V)       (x - m)^2 / (2 V) + 1/2 log(2 pi V)
    NLL gaussian learned      (x - m)^2 exp(-dec_logvar) / 2 + dec_logvar / 2 + 1/2 log(2 pi)
    NLL laplace (m, S)        |x - m| / S + log(2 S)
    NLL laplace learned       |x - m| exp(-dec_logscale) + dec_logscale + log 2

log C near lambda = 1/2 (where both forms divide two vanishing quantities) comes from its
Taylor series, as torch's ContinuousBernoulli does: with t = lambda - 1/2,
log C = log 2 + 4/3 t^2 + 104/45 t^4 + O(t^6), and in logits l, lambda = sigmoid(l),
C = l / tanh(l/2) and log C = log 2 + l^2/12 - 7 l^4/1440 + O(l^6). The window is
|lambda - 1/2| < 1e-3 (|l| < logit(0.501)); the first omitted term there is below 2^-53 log 2.

A loss is ``scale * reduce_batch(reduce_data(NLL) + beta * reduce_latent(KL))`` (with a
``kl_batch``, each term reduced over the batch on its own). Softplus is
the framework's accurate one (logaddexp(l, 0); tf.math.softplus; keras.ops.softplus), not
torch's F.softplus, whose linear branch above l = 20 errs by up to log(1 + e^-20) ~ 2e-9, far
above float64's rounding. jax losses (and keras losses under the jax backend) are jitted, as they
are in training: XLA may fuse and reorder their operations.

:func:`reference_cases` lists the cases; :func:`reference_targets` builds every case in every
framework as ``(id, Target)`` pairs. Frameworks are imported only when a case's function is
built, so importing this module imports none.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from vae_spec import Convention, Target
from vae_spec.selftest.ops import ops

FRAMEWORKS = ("numpy", "torch", "tensorflow", "jax", "keras")

LOG_2 = math.log(2.0)
LOG_2PI = math.log(2.0 * math.pi)
CB_PROBS_WINDOW = 1e-3  # Taylor series for |lambda - 1/2| below this
CB_LOGITS_WINDOW = math.log(0.501 / 0.499)  # the same window in logits


def keras_backend() -> str:
    import keras

    return keras.backend.backend()


def example_axes(a) -> tuple[int, ...]:
    """Every axis but the first."""
    return tuple(range(1, len(a.shape)))


# -- KL element terms: (ops, mu, scale[, prior_mu, prior_logvar]) -> elements ------------------
def kl_textbook(o, mu, logvar):
    return -0.5 * (1.0 + logvar - mu * mu - o.exp(logvar))


def kl_stable(o, mu, logvar):
    return 0.5 * (mu * mu + (o.expm1(logvar) - logvar))


def kl_logstd(o, mu, logstd):
    return 0.5 * (mu * mu + o.exp(2.0 * logstd) - 1.0 - 2.0 * logstd)


def kl_std(o, mu, std):
    return 0.5 * (mu * mu + std * std - 1.0 - 2.0 * o.log(std))


def kl_var(o, mu, var):
    return 0.5 * (mu * mu + var - 1.0 - o.log(var))


def kl_prior(o, mu, logvar, prior_mu, prior_logvar):
    diff = mu - prior_mu
    return 0.5 * (o.exp(logvar - prior_logvar) + diff * diff * o.exp(-prior_logvar)
                  - 1.0 - logvar + prior_logvar)


# -- negative log-likelihood element terms: (ops, x, x_recon[, decoder parameter]) ------------
def nll_bernoulli_probs(o, x, p):
    return -(x * o.log(p) + (1.0 - x) * o.log1p(-p))


def nll_bernoulli_logits(o, x, logits):
    return o.softplus(logits) - x * logits


def cb_log_norm_probs(o, p):
    """log C(lambda) = log|log(1 - lambda) - log lambda| - log|1 - 2 lambda|, series near 1/2."""
    t = p - 0.5
    near = o.abs(t) < CB_PROBS_WINDOW
    safe = o.where(near, 0.25 * o.ones_like(p), p)  # keeps the unused branch (and its gradient) finite
    exact = o.log(o.abs(o.log1p(-safe) - o.log(safe))) - o.log(o.abs(1.0 - 2.0 * safe))
    t2 = t * t
    series = LOG_2 + t2 * (4.0 / 3.0 + t2 * (104.0 / 45.0))
    return o.where(near, series, exact)


def cb_log_norm_logits(o, logits):
    """log C = log(l / tanh(l / 2)) (even in l), series near l = 0."""
    near = o.abs(logits) < CB_LOGITS_WINDOW
    safe = o.where(near, o.ones_like(logits), logits)
    exact = o.log(safe / o.tanh(0.5 * safe))
    l2 = logits * logits
    series = LOG_2 + l2 * (1.0 / 12.0 - l2 * (7.0 / 1440.0))
    return o.where(near, series, exact)


def nll_cb_probs(o, x, p):
    return nll_bernoulli_probs(o, x, p) - cb_log_norm_probs(o, p)


def nll_cb_logits(o, x, logits):
    return nll_bernoulli_logits(o, x, logits) - cb_log_norm_logits(o, logits)


def nll_gaussian(o, x, mean, *, variance=1.0, constants=True):
    d = x - mean
    return d * d * (0.5 / variance) + (0.5 * math.log(2.0 * math.pi * variance) if constants else 0.0)


def nll_gaussian_learned(o, x, mean, dec_logvar, *, constants=True):
    d = x - mean
    return 0.5 * (d * d * o.exp(-dec_logvar) + dec_logvar) + (0.5 * LOG_2PI if constants else 0.0)


def nll_laplace(o, x, mean, *, scale=1.0, constants=True):
    return o.abs(x - mean) * (1.0 / scale) + (math.log(2.0 * scale) if constants else 0.0)


def nll_laplace_learned(o, x, mean, dec_logscale, *, constants=True):
    return o.abs(x - mean) * o.exp(-dec_logscale) + dec_logscale + (LOG_2 if constants else 0.0)


# -- reductions --------------------------------------------------------------------------------
def reduce_example(o, elements, how: str):
    """Sum or mean over every axis but the first: (B, ...) -> (B,)."""
    return (o.sum if how == "sum" else o.mean)(elements, axis=example_axes(elements))


def reduce_batch(o, per_example, how: str):
    """Mean or sum over the batch, or the (B,) vector itself."""
    if how == "none":
        return per_example
    return (o.sum if how == "sum" else o.mean)(per_example)


# -- the three terms as user functions ---------------------------------------------------------
def kl_term(o, kl, convention, mu, scale, *prior):
    """scale * reduce_batch(reduce_latent(KL))."""
    per_example = reduce_example(o, kl(o, mu, scale, *prior), convention.latent)
    return convention.scale * reduce_batch(o, per_example, convention.batch)


def reconstruction_term(o, nll, convention, x_recon, x, *decoder):
    """scale * reduce_batch(reduce_data(NLL))."""
    per_example = reduce_example(o, nll(o, x, x_recon, *decoder), convention.data)
    return convention.scale * reduce_batch(o, per_example, convention.batch)


def loss(o, nll, kl, convention, x_recon, x, mu, scale, *decoder):
    """scale * reduce_batch(reduce_data(NLL) + beta * reduce_latent(KL)): the negative ELBO;
    with ``kl_batch``, each term reduced over the batch on its own and the two added (a
    reduced term broadcast over per-example rows)."""
    recon = reduce_example(o, nll(o, x, x_recon, *decoder), convention.data)
    divergence = reduce_example(o, kl(o, mu, scale), convention.latent)
    if convention.kl_batch is None:
        return convention.scale * reduce_batch(o, recon + convention.beta * divergence, convention.batch)
    return convention.scale * (reduce_batch(o, recon, convention.batch)
                               + convention.beta * reduce_batch(o, divergence, convention.kl_batch))


# -- the table ---------------------------------------------------------------------------------
# likelihood name -> (negative log-likelihood with constants, the same without, extra input)
LIKELIHOOD_NLL = {
    "bernoulli-probs": (nll_bernoulli_probs, nll_bernoulli_probs, None),
    "bernoulli-logits": (nll_bernoulli_logits, nll_bernoulli_logits, None),
    "continuous-bernoulli-probs": (nll_cb_probs, nll_cb_probs, None),
    "continuous-bernoulli-logits": (nll_cb_logits, nll_cb_logits, None),
    "gaussian": (nll_gaussian, functools.partial(nll_gaussian, constants=False), None),
    "gaussian:var=0.5": (functools.partial(nll_gaussian, variance=0.5),
                         functools.partial(nll_gaussian, variance=0.5, constants=False), None),
    "gaussian-learned": (nll_gaussian_learned,
                         functools.partial(nll_gaussian_learned, constants=False), "dec_logvar"),
    "laplace": (nll_laplace, functools.partial(nll_laplace, constants=False), None),
    "laplace:scale=2.0": (functools.partial(nll_laplace, scale=2.0),
                          functools.partial(nll_laplace, scale=2.0, constants=False), None),
    "laplace-learned": (nll_laplace_learned,
                        functools.partial(nll_laplace_learned, constants=False), "dec_logscale"),
}

# KL form -> (element function, posterior, extra inputs)
KL_FORMS = {
    "textbook": (kl_textbook, "logvar", ()),
    "stable": (kl_stable, "logvar", ()),
    "logstd": (kl_logstd, "logstd", ()),
    "std": (kl_std, "std", ()),
    "var": (kl_var, "var", ()),
    "prior": (kl_prior, "logvar", ("prior_mu", "prior_logvar")),
}

# loss cases: id -> (likelihood, KL form, convention)
LOSS_CASES = {
    "batch-mean": ("bernoulli-logits", "stable", Convention()),
    "batch-sum": ("bernoulli-probs", "textbook", Convention(batch="sum")),
    "batch-none": ("gaussian", "stable", Convention(batch="none")),
    "beta": ("bernoulli-logits", "textbook", Convention(beta=4.0)),
    "scale": ("gaussian-learned", "stable", Convention(scale=0.25)),
    "constants-dropped": ("gaussian:var=0.5", "stable", Convention(constants=False)),
    "latent-mean": ("laplace-learned", "textbook", Convention(latent="mean")),
    "data-mean": ("continuous-bernoulli-logits", "stable", Convention(data="mean")),
    # stated departures: the KL summed over the batch beside a batch-mean reconstruction, and
    # per-example rows each carrying the batch-mean KL (as Keras losses add a scalar KL)
    "kl-batch-sum": ("bernoulli-probs", "textbook", Convention(kl_batch="sum")),
    "rows-plus-kl-mean": ("gaussian", "stable", Convention(batch="none", kl_batch="mean", latent="mean")),
}


@dataclass(frozen=True)
class ReferenceCase:
    """A reference loss not yet bound to a framework: ``target(framework)`` builds it."""

    id: str
    term: str
    likelihood: str | None = None
    kl: str | None = None
    convention: Convention = Convention()

    def function(self, framework: str):
        """The loss in ``framework``; jax code (keras on jax too) is jitted, as in training."""
        fn = self._function(ops(framework))
        if framework == "jax" or (framework == "keras" and keras_backend() == "jax"):
            import jax

            return jax.jit(fn)
        return fn

    def _function(self, o):
        if self.term == "kl":
            return functools.partial(kl_term, o, KL_FORMS[self.kl][0], self.convention)
        nll = self._nll()
        if self.term == "reconstruction":
            return functools.partial(reconstruction_term, o, nll, self.convention)
        return functools.partial(loss, o, nll, KL_FORMS[self.kl][0], self.convention)

    def _nll(self):
        with_constants, without, _ = LIKELIHOOD_NLL[self.likelihood]
        return with_constants if self.convention.constants else without

    def args(self) -> tuple[str, ...]:
        latent = ()
        if self.kl is not None:
            _, posterior, extra = KL_FORMS[self.kl]
            latent = ("mu", posterior, *extra)
        decoder = ()
        if self.likelihood is not None:
            extra = LIKELIHOOD_NLL[self.likelihood][2]
            decoder = ("x_recon", "x") + ((extra,) if extra else ())
        if self.term == "kl":
            return latent
        if self.term == "reconstruction":
            return decoder
        return decoder[:2] + latent + decoder[2:]

    def target(self, framework: str, dtypes=None, **kwargs) -> Target:
        return Target(
            self.function(framework), framework=framework, term=self.term, args=self.args(),
            likelihood=self.likelihood, convention=self.convention, dtypes=dtypes,
            name=f"{framework}/{self.id}", **kwargs,
        )


def reference_cases() -> list[ReferenceCase]:
    """Every reference loss: each KL form, each likelihood, each loss convention."""
    cases = [ReferenceCase(f"kl-{form}", "kl", kl=form) for form in KL_FORMS]
    cases += [ReferenceCase(f"reconstruction-{name}", "reconstruction", likelihood=name)
              for name in LIKELIHOOD_NLL]
    cases += [ReferenceCase(f"loss-{name}", "loss", likelihood=likelihood, kl=form, convention=convention)
              for name, (likelihood, form, convention) in LOSS_CASES.items()]
    return cases


def reference_targets(frameworks=FRAMEWORKS, dtypes=None) -> list[tuple[str, Target]]:
    """``(id, Target)`` for every reference case in every framework (imports the frameworks)."""
    return [(f"{framework}/{case.id}", case.target(framework, dtypes))
            for framework in frameworks for case in reference_cases()]
