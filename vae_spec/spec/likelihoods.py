"""Decoder log-likelihoods log p(x | decoder output): per element, per example, magnitude, gradient.

``x_recon`` is the decoder output; its meaning depends on the likelihood:

=========================== ===========================================================
bernoulli-probs             p = x_recon in [0, 1]: x log p + (1-x) log(1-p)
bernoulli-logits            l = x_recon: x l - softplus(l)
continuous-bernoulli-probs  lambda in (0, 1): the Bernoulli term + log C(lambda),
                            C = 2 artanh(1 - 2 lambda) / (1 - 2 lambda), C(1/2) = 2
continuous-bernoulli-logits the same with lambda = sigmoid(l)
gaussian, gaussian:var=V    mean m, variance V (1): -(x-m)^2 / (2V) - 1/2 log(2 pi V)
gaussian-learned            variance exp(dec_logvar)
laplace, laplace:scale=S    location m, scale S (1): -|x-m| / S - log(2S)
laplace-learned             scale exp(dec_logscale)
=========================== ===========================================================

The continuous Bernoulli is Loaiza-Ganem & Cunningham (2019). For x in [0, 1] targets the
Bernoulli formulas are the cross-entropy form (0 log 0 = 0). p = 0 with x > 0 (or p = 1 with
x < 1) gives -inf: the log-likelihood of an impossible observation, not an error.

**How values are computed.** Each element's log-likelihood is built as a short list of float64
*pieces* whose exact sum is the value up to the error of the elementary functions (log, log1p,
exp) that produce some of them: differences and products of inputs are carried exactly as
unevaluated pairs (Knuth's two-sum, Dekker's two-product, with frexp/ldexp scaling so nothing
overflows early), the constants log(2 pi V), log(2S), log 2 as pairs computed in 60-digit decimal
arithmetic, and the continuous Bernoulli normalizer near lambda = 1/2 from power series with
positive coefficients summed in pair arithmetic. The element value is the compensated sum of its
pieces (Ogita-Rump-Oishi Sum2); the per-example value is the correctly rounded sum (math.fsum)
of every piece of the example.

**Accuracy.** U = 2^-53; eps_f <= 1.5 U is the relative error of numpy's log, log1p, exp
(3/4 ulp; the test suite checks it on the running platform, measured <= 0.67 ulp). The error
of an element value r, beyond its final rounding (ulp(r)/2), is at most:

- bernoulli-probs: eps_f |r| (every piece has r's sign), so r is within 2 ulp.
- bernoulli-logits: 2 eps_f log(1 + e^-|l|) (exp then log1p; the other pieces are exact),
  at most 2 eps_f |r|.
- gaussian, laplace with fixed V, S: 2^-60 of the pieces' sizes: correctly rounded but for
  ties, whatever the signs of the quadratic term and the constant.
- gaussian-learned, laplace-learned: (eps_f + 0.35 U) T, T = (x-m)^2 exp(-dec_logvar) / 2 or
  |x-m| exp(-dec_logscale), the only piece from exp: within 2.4 ulp where all pieces share
  r's sign (dec_logvar >= -log(2 pi), dec_logscale >= -log 2).
- continuous-bernoulli-logits: eps_f F(l), F = g(l/2) for |l| <= 6 (the series is exact to
  2^-60; log1p rounds), else log|l| + 2.01 |log1p(-e^-|l|)|.
- continuous-bernoulli-probs: 2^-60 of the pieces' sizes for |1 - 2 lambda| <= 1/2 (series
  and pair arithmetic only); beyond, eps_f (|x - E[x]| (|log lambda| + |log(1-lambda)|) + F(l))
  (l = log lambda - log(1-lambda) is exact but for the two logs' errors).

So bernoulli-probs and the fixed scales meet 2 ulp, bernoulli-logits 3.5 ulp by this bound
(measured: 1.12 ulp at worst); the continuous Bernoulli value crosses
zero (it is 0 at lambda = 1/2 and wherever the density is 1), and a learned scale's terms
cancel where dec_logvar < -log(2 pi): there the bound is relative to the sizes above, not
to |r| (measured over a few thousand adversarial points: up to 76 ulp of r, within the
bound). A per-example sum is rounded once from all its pieces: half an ulp of the sum plus
the elements' bounds. The gradients' bounds are stated in log_likelihood_grad.

Domain: inputs finite (probabilities in [0, 1], in (0, 1) for the continuous Bernoulli, where
C is infinite at 0 and 1), x - m representable (|x - m| < 2^1024).

The families live in ``_bernoulli``, ``_continuous_bernoulli`` and ``_location_scale``, the
exact arithmetic in ``_eft`` and ``_scaled``; this module parses names and dispatches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import _bernoulli, _continuous_bernoulli, _location_scale, _validate
from ._eft import dd_sum
from ._summation import example_sum

LIKELIHOODS = (
    "bernoulli-probs",
    "bernoulli-logits",
    "continuous-bernoulli-probs",
    "continuous-bernoulli-logits",
    "gaussian",
    "gaussian:var=V",
    "gaussian-learned",
    "laplace",
    "laplace:scale=S",
    "laplace-learned",
)

# canonical name -> (family, parameterization, extra decoder input)
_NAMED = {
    "bernoulli-probs": ("bernoulli", "probs", None),
    "bernoulli-logits": ("bernoulli", "logits", None),
    "continuous-bernoulli-probs": ("continuous-bernoulli", "probs", None),
    "continuous-bernoulli-logits": ("continuous-bernoulli", "logits", None),
    "gaussian": ("gaussian", "mean", None),
    "gaussian-learned": ("gaussian", "mean", "dec_logvar"),
    "laplace": ("laplace", "mean", None),
    "laplace-learned": ("laplace", "mean", "dec_logscale"),
}
_EXTRA_INPUTS = ("dec_logvar", "dec_logscale")


@dataclass(frozen=True)
class Likelihood:
    """A parsed likelihood name.

    ``variance`` (Gaussian) and ``scale`` (Laplace) are the fixed values (1.0 for the bare
    names) or None when ``learned`` names the decoder input that carries them.
    """

    name: str
    family: str
    parameterization: str
    variance: float | None = None
    scale: float | None = None
    learned: str | None = None


def parse_likelihood(likelihood) -> Likelihood:
    """The Likelihood for a name in LIKELIHOODS (V, S: positive finite numbers).

    ``gaussian:var=1`` and ``laplace:scale=1`` are named ``gaussian`` and ``laplace``; other
    values are written with Python's shortest repr (``gaussian:var=0.5``).
    """
    if isinstance(likelihood, Likelihood):
        if parse_likelihood(likelihood.name) != likelihood:
            raise ValueError(f"likelihood: {likelihood!r} is not what its name describes")
        return likelihood
    valid = ", ".join(LIKELIHOODS)
    if not isinstance(likelihood, str):
        raise ValueError(f"likelihood: expected a name (one of {valid}), got {likelihood!r}")
    if likelihood in _NAMED:
        family, parameterization, learned = _NAMED[likelihood]
        fixed = 1.0 if learned is None else None
        return Likelihood(
            likelihood, family, parameterization,
            variance=fixed if family == "gaussian" else None,
            scale=fixed if family == "laplace" else None,
            learned=learned,
        )
    for family, key, field in (("gaussian", "var", "variance"), ("laplace", "scale", "scale")):
        prefix = f"{family}:{key}="
        if likelihood.startswith(prefix):
            value = _validate.positive_number(f"likelihood ({key} in {likelihood!r})",
                                              likelihood[len(prefix):])
            name = family if value == 1.0 else f"{prefix}{value!r}"
            return Likelihood(name, family, "mean", **{field: value})
    raise ValueError(f"likelihood: unknown name {likelihood!r}; valid: {valid}")


def log_likelihood_elementwise(x, x_recon, likelihood="bernoulli-logits", *, constants=True,
                               dec_logvar=None, dec_logscale=None) -> np.ndarray:
    """log p(x_k | x_recon_k) per element (shape of x).

    ``constants=False`` drops the terms that depend on no model output: -1/2 log(2 pi V) for a
    fixed Gaussian, -1/2 log(2 pi) for a learned one, -log(2S) for a fixed Laplace, -log 2 for
    a learned one; the Bernoulli families have none.
    """
    lik, x, recon, extra = _inputs(x, x_recon, likelihood, constants, dec_logvar, dec_logscale)
    with np.errstate(all="ignore"):
        return np.asarray(dd_sum(_pieces(lik, x, recon, extra, constants))[0])


def log_likelihood(x, x_recon, likelihood="bernoulli-logits", *, constants=True,
                   **params) -> np.ndarray:
    """Per-example log p(x_b | x_recon_b): the element values summed over every axis but the
    first, exactly, then rounded once. ``params``: ``dec_logvar`` or ``dec_logscale``."""
    unknown = set(params) - set(_EXTRA_INPUTS)
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: not a likelihood parameter; "
                         f"expected {' or '.join(_EXTRA_INPUTS)}")
    lik, x, recon, extra = _inputs(x, x_recon, likelihood, constants,
                                   params.get("dec_logvar"), params.get("dec_logscale"))
    if x.ndim == 0:
        raise ValueError("x: expected a leading batch axis, got a scalar")
    with np.errstate(all="ignore"):
        pieces = _pieces(lik, x, recon, extra, constants)
        return example_sum(*(np.broadcast_to(piece, x.shape) for piece in pieces))


def log_likelihood_magnitude(x, x_recon, likelihood="bernoulli-logits", *, constants=True,
                             dec_logvar=None, dec_logscale=None) -> np.ndarray:
    """M per element: the scale of a correct implementation's rounding error (README, Error bounds).

    The sum of absolute values of the textbook formula's summands, and of the terms through
    which a rounded difference enters:

    - Bernoulli probs: |x log p| + |(1-x) log(1-p)|; logits: |x l| + softplus(l).
    - continuous Bernoulli: the Bernoulli M + |log C| + K, K = (|log lambda| +
      |log(1-lambda)|) / max(|l|, l0): log C evaluated as log|log(1-lambda) - log lambda| -
      log|1 - 2 lambda| amplifies the logs' rounding by their cancellation; implementations
      switch to a Taylor series within 10^-3 of lambda = 1/2 (the paper's code, torch, TFP),
      hence the cap l0 = logit(0.501).
    - Gaussian: (x-m)^2 / (2V) + (|x|+|m|) |x-m| / V (the rounding of x - m, carried through
      the square) + 1/2 log(2 pi) + 1/2 |log V| (the constant's two parts, which
      implementations often add separately); learned: V = exp(dec_logvar), 1/2 |dec_logvar|.
    - Laplace: |x-m| / S + (|x|+|m|) / S + log 2 + |log S|; learned: S = exp(dec_logscale),
      |dec_logscale|.

    ``constants=False`` leaves out the dropped constants (1/2 log(2 pi) and, fixed, 1/2 |log V|;
    log 2 and, fixed, |log S|).
    """
    lik, x, recon, extra = _inputs(x, x_recon, likelihood, constants, dec_logvar, dec_logscale)
    with np.errstate(all="ignore"):
        if lik.family in ("gaussian", "laplace"):
            return _location_scale.magnitude(lik, x, recon, extra, constants)
        return _family(lik).magnitude(lik, x, recon)


def log_likelihood_grad(x, x_recon, likelihood="bernoulli-logits", *, constants=True,
                        dec_logvar=None, dec_logscale=None) -> dict:
    """Element-wise derivatives of log p(x_k | .): ``{"x_recon": ...}`` and, for a learned
    likelihood, ``"dec_logvar"`` or ``"dec_logscale"``, each of x's shape (sum over any axes
    the parameter was broadcast along). The dropped constants do not depend on the inputs, so
    ``constants`` changes nothing here.

    - Bernoulli probs: (x - p) / (p (1-p)); at p = 0: +inf (x > 0) or -1 (x = 0); at p = 1:
      -inf (x < 1) or 1 (x = 1), the one-sided derivatives. Logits: x - sigmoid(l).
    - continuous Bernoulli, logits: x - E[x] = x - 1/2 - L(l/2) / 2, L(y) = coth y - 1/y;
      probs: the same divided by lambda (1 - lambda), l = logit(lambda).
    - Gaussian: (x-m)/V; learned: (x-m) exp(-dec_logvar) and d/d dec_logvar =
      (x-m)^2 exp(-dec_logvar) / 2 - 1/2.
    - Laplace: sign(x-m)/S, 0 at x = m (the subgradient of least norm); learned: sign(x-m)
      exp(-dec_logscale) and d/d dec_logscale = |x-m| exp(-dec_logscale) - 1.

    Accuracy beyond the final rounding (U = 2^-53, eps_f as in the module docstring): Bernoulli
    probs 3U |g|; logits (eps_f + 2U) sigmoid(-|l|) + U; continuous Bernoulli logits
    U |x - 1/2| + 3U |L|; probs that plus dl/12, dl = U |l| (+ eps_f (|log lambda| +
    |log(1-lambda)|) for |1 - 2 lambda| > 1/2), over lambda (1-lambda), plus 2U |g|; Gaussian
    and Laplace: fixed 2^-60 |g|, learned (eps_f + 0.35 U) |g| (and times the term T for the
    log-parameter derivatives). A score x - E[x] crosses zero, so these are not relative to g.
    """
    lik, x, recon, extra = _inputs(x, x_recon, likelihood, constants, dec_logvar, dec_logscale)
    with np.errstate(all="ignore"):
        if lik.family in ("gaussian", "laplace"):
            return _location_scale.grad(lik, x, recon, extra)
        return _family(lik).grad(lik, x, recon)


# ---------------------------------------------------------------------------------- validation

def _inputs(x, x_recon, likelihood, constants, dec_logvar, dec_logscale):
    lik = parse_likelihood(likelihood)
    if not isinstance(constants, (bool, np.bool_)):
        raise ValueError(f"constants: expected True or False, got {constants!r}")
    x = _validate.as_float_array("x", x)
    recon = _validate.as_float_array("x_recon", x_recon)
    _validate.same_shape(x=x, x_recon=recon)
    _validate.finite("x", x)
    if lik.family in ("bernoulli", "continuous-bernoulli"):
        _validate.in_unit_interval("x", x)
    if lik.parameterization == "probs":
        _validate.in_unit_interval("x_recon", recon)
        if lik.family == "continuous-bernoulli" and ((recon == 0) | (recon == 1)).any():
            raise ValueError("x_recon: continuous Bernoulli probabilities must lie in (0, 1) "
                             "(its normalizer is infinite at 0 and 1)")
    else:
        _validate.finite("x_recon", recon)
    given = {"dec_logvar": dec_logvar, "dec_logscale": dec_logscale}
    for name, value in given.items():
        if value is not None and name != lik.learned:
            raise ValueError(f"{name}: not used by likelihood {lik.name!r}"
                             + (f" (it takes {lik.learned})" if lik.learned else ""))
    if lik.learned is None:
        return lik, x, recon, None
    if given[lik.learned] is None:
        raise ValueError(f"{lik.learned}: required by likelihood {lik.name!r}")
    extra = _validate.finite(lik.learned, _validate.as_float_array(lik.learned,
                                                                   given[lik.learned]))
    return lik, x, recon, _validate.broadcastable_to(lik.learned, extra, x.shape)


# ------------------------------------------------------------------------------ the families

def _family(lik):
    """The module of a Bernoulli family: pieces, magnitude and grad of (lik, x, recon)."""
    return _bernoulli if lik.family == "bernoulli" else _continuous_bernoulli


def _pieces(lik, x, recon, extra, constants):
    """Float arrays whose exact sum is log p(x | recon), element-wise."""
    if lik.family in ("gaussian", "laplace"):
        return _location_scale.pieces(lik, x, recon, extra, constants)
    return _family(lik).pieces(lik, x, recon)
