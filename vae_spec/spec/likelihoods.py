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
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np

from . import _validate
from ._summation import example_sum, two_product

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
        return np.asarray(_compensated_sum(_pieces(lik, x, recon, extra, constants)))


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
        if lik.family == "gaussian":
            log_var = extra if lik.learned else math.log(lik.variance)
            inverse = np.exp(-log_var)
            d = np.abs(x - recon)
            value = 0.5 * d * d * inverse + (np.abs(x) + np.abs(recon)) * d * inverse
            if lik.learned:
                value = value + 0.5 * np.abs(log_var)
            if constants:
                value = value + (0.5 * math.log(2 * math.pi)
                                 + (0.0 if lik.learned else 0.5 * abs(log_var)))
            return value
        if lik.family == "laplace":
            log_scale = extra if lik.learned else math.log(lik.scale)
            inverse = np.exp(-log_scale)
            value = (np.abs(x - recon) + np.abs(x) + np.abs(recon)) * inverse
            if lik.learned:
                value = value + np.abs(log_scale)
            if constants:
                value = value + (math.log(2.0) + (0.0 if lik.learned else abs(log_scale)))
            return value
        if lik.parameterization == "probs":
            neg_log_p, neg_log_q = -np.log(recon), -np.log1p(-recon)
            value = _zero_times(x, neg_log_p) + _zero_times(1.0 - x, neg_log_q)
        else:
            neg_log_p, neg_log_q = _softplus(-recon), _softplus(recon)
            value = np.abs(x * recon) + neg_log_q
        if lik.family == "continuous-bernoulli":
            logit = neg_log_q - neg_log_p
            log_c = _log_normalizer(lik, recon)
            value = value + np.abs(log_c) + (neg_log_p + neg_log_q) / np.maximum(
                np.abs(logit), _TAYLOR_LOGIT)
        return value


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
            d_hi, d_lo = _two_sum(x, -recon)
            weight = _weight(lik, extra)
            if lik.family == "gaussian":
                grad = _scaled_product((d_hi, d_lo), 0, *weight)
                if lik.learned is None:
                    return {"x_recon": 2.0 * _compensated_sum(grad)}
                half_square = _scaled_product(*_square(d_hi, d_lo), *weight)
                return {"x_recon": 2.0 * _compensated_sum(grad),
                        "dec_logvar": _compensated_sum([*half_square, -0.5])}
            weight_value = _compensated_sum(_scaled_product((1.0, 0.0), 0, *weight))
            grad = np.where(d_hi == 0, 0.0, np.sign(d_hi) * weight_value)
            if lik.learned is None:
                return {"x_recon": grad}
            scaled = _scaled_product((np.abs(d_hi), np.sign(d_hi) * d_lo), 0, *weight)
            return {"x_recon": grad, "dec_logscale": _compensated_sum([*scaled, -1.0])}
        if lik.family == "bernoulli":
            if lik.parameterization == "logits":
                tail = _sigmoid_of_minus_abs(recon)  # sigmoid(-|l|)
                return {"x_recon": np.where(recon >= 0, tail - (1.0 - x), x - tail)}
            p = recon
            grad = (x - p) / (p * (1.0 - p))
            grad = np.where(p == 0, np.where(x > 0, np.inf, -1.0), grad)
            return {"x_recon": np.where(p == 1, np.where(x < 1, -np.inf, 1.0), grad)}
        logit = recon if lik.parameterization == "logits" else _logit_pair(recon)[0]
        score = (x - 0.5) - 0.5 * _coth_minus_reciprocal(0.5 * logit)
        if lik.parameterization == "probs":
            score = score / (recon * (1.0 - recon))
        return {"x_recon": score}


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


# ------------------------------------------------------------------------- exact arithmetic

def _two_sum(a, b):
    """a + b = s + e exactly (Knuth); e = 0 where s is not finite."""
    s = a + b
    b_virtual = s - a
    e = (a - (s - b_virtual)) + (b - b_virtual)
    return s, np.where(np.isfinite(s), e, 0.0)


def _compensated_sum(pieces):
    """Sum with error <= ulp/2 + (n u)^2 sum |pieces| (Ogita, Rump & Oishi 2005, Sum2)."""
    total, carry = pieces[0], 0.0
    for piece in pieces[1:]:
        total, error = _two_sum(total, piece)
        carry = carry + error
    return total + carry


def _zero_times(a, b):
    """a * b with 0 * inf = 0 (the 0 log 0 = 0 convention)."""
    return np.where(a == 0, 0.0, a * b)


def _product(a, b):
    """a * b = hi + lo exactly (b may be -inf: lo = 0), with 0 * inf = 0."""
    hi, lo = two_product(a, b)
    zero = a == 0
    return np.where(zero, 0.0, hi), np.where(zero | ~np.isfinite(hi), 0.0, lo)


def _square(hi, lo):
    """(hi + lo)^2 as (pair, binary exponent): frexp scaling keeps the square in range."""
    mantissa, exponent = np.frexp(hi)
    mantissa_lo = np.ldexp(lo, -exponent)
    sq_hi, sq_lo = two_product(mantissa, mantissa)
    return (sq_hi, sq_lo + 2.0 * mantissa * mantissa_lo), 2 * exponent


def _scaled_product(a, a_exponent, w, w_exponent):
    """(a_hi + a_lo) 2^a_exponent * (w_hi + w_lo) 2^w_exponent as an ldexp-scaled pair."""
    (a_hi, a_lo), (w_hi, w_lo) = a, w
    mantissa, exponent = np.frexp(a_hi)
    mantissa_lo = np.ldexp(a_lo, -exponent)
    hi, lo = two_product(mantissa, w_hi)
    lo = lo + (mantissa * w_lo + mantissa_lo * w_hi)
    shift = exponent + a_exponent + w_exponent
    hi = np.ldexp(hi, shift)
    return [hi, np.where(np.isfinite(hi), np.ldexp(lo, shift), 0.0)]


def _pair(value) -> tuple[float, float]:
    """A Fraction or Decimal as hi + lo floats (about 106 bits)."""
    hi = float(value)
    return hi, float(value - type(value)(hi))


_PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494")


def _ln_pair(*factors) -> tuple[float, float]:
    """ln of a product of floats and Decimals as a pair, in 60-digit decimal arithmetic."""
    with localcontext() as context:
        context.prec = 60
        product = Decimal(1)
        for factor in factors:
            product *= Decimal(factor)
        return _pair(product.ln())


_LN2 = _ln_pair(2)
_LN_2PI = _ln_pair(2, _PI)
_HALF_LN_2PI = (0.5 * _LN_2PI[0], 0.5 * _LN_2PI[1])
# ln 2 split for Cody-Waite reduction: _LN2_HIGH has 32 significant bits, so k * _LN2_HIGH is
# exact for |k| < 2^21.
_LN2_HIGH = math.ldexp(math.floor(math.ldexp(_LN2[0], 32)), -32)
_LN2_LOW = float(Fraction(_LN2[0]) - Fraction(_LN2_HIGH)) + _LN2[1]


def _exp_split(a):
    """exp(a) = m 2^k (m = exp(r), |r| <= ln2/2 + tiny): exp's accuracy with no overflow."""
    a = np.clip(a, -5000.0, 5000.0)  # beyond, every use over/underflows anyway
    k = np.rint(a / _LN2[0])
    r = (a - k * _LN2_HIGH) - k * _LN2_LOW
    return np.exp(r), k.astype(np.int64)


def _reciprocal_pair(value: float):
    """1/value as ((hi, lo), exponent), exactly to 106 bits: 1/value = (hi + lo) 2^exponent."""
    mantissa, exponent = math.frexp(value)
    return _pair(1 / Fraction(mantissa)), -exponent


def _weight(lik, extra):
    """The Gaussian 1/(2V) or the Laplace 1/S as ((hi, lo), exponent)."""
    if lik.learned is None:
        fixed = lik.variance if lik.family == "gaussian" else lik.scale
        pair, exponent = _reciprocal_pair(fixed)
        return pair, exponent - (1 if lik.family == "gaussian" else 0)
    m, k = _exp_split(-extra)
    return (m, np.zeros_like(m)), k - (1 if lik.family == "gaussian" else 0)


# ------------------------------------------------------------------------------- the pieces

def _pieces(lik, x, recon, extra, constants):
    """Float arrays whose exact sum is log p(x | recon), element-wise."""
    if lik.family in ("gaussian", "laplace"):
        return _location_scale_pieces(lik, x, recon, extra, constants)
    if lik.family == "bernoulli":
        if lik.parameterization == "probs":
            return _bernoulli_probs_pieces(x, np.log(recon), np.log1p(-recon))
        return _bernoulli_logits_pieces(x, recon)
    if lik.parameterization == "probs":
        return _continuous_bernoulli_probs_pieces(x, recon)
    return _continuous_bernoulli_logits_pieces(x, recon)


def _location_scale_pieces(lik, x, mean, extra, constants):
    """Gaussian: -(x-m)^2/(2V) - 1/2 log(2 pi V); Laplace: -|x-m|/S - log(2S)."""
    d_hi, d_lo = _two_sum(x, -mean)
    if lik.family == "gaussian":
        term = _scaled_product(*_square(d_hi, d_lo), *_weight(lik, extra))
    else:
        term = _scaled_product((np.abs(d_hi), np.sign(d_hi) * d_lo), 0, *_weight(lik, extra))
    pieces = [-term[0], -term[1]]
    if lik.learned:
        pieces.append(-0.5 * extra if lik.family == "gaussian" else -extra)
    if constants:
        pieces.extend(-c for c in _constant(lik))
    return pieces


def _constant(lik):
    """The constant c that constants=False drops (the value holds -c), as a pair."""
    if lik.family == "gaussian":
        if lik.learned:
            return _HALF_LN_2PI
        hi, lo = _ln_pair(2, _PI, lik.variance)
        return 0.5 * hi, 0.5 * lo
    if lik.learned:
        return _LN2
    return _ln_pair(2, lik.scale)


def _bernoulli_probs_pieces(x, log_p, log_q):
    """x log p + (1-x) log q, with 1 - x = omx + omx_lo exact."""
    omx, omx_lo = _two_sum(1.0, -x)
    # where log q = -inf, omx > 0 carries it and omx_lo (of either sign) must add nothing
    return [*_product(x, log_p), *_product(omx, log_q),
            np.where(np.isfinite(log_q), omx_lo * log_q, 0.0)]


def _bernoulli_logits_pieces(x, logit):
    """x l - softplus(l) = -(1-x) max(l, 0) + x min(l, 0) - log(1 + e^-|l|): no cancellation.

    Every term is <= 0 (log p = min(l, 0) - log(1 + e^-|l|) and log(1-p) likewise), so large
    logits with targets near 1 lose nothing.
    """
    omx, omx_lo = _two_sum(1.0, -x)
    positive, negative = np.maximum(logit, 0.0), np.minimum(logit, 0.0)
    hi, lo = _product(omx, positive)
    return [-np.log1p(np.exp(-np.abs(logit))), -hi, -lo, -omx_lo * positive,
            *_product(x, negative)]


def _continuous_bernoulli_logits_pieces(x, logit, logit_lo=None):
    """(x - 1/2) l - g(l/2), g(y) = log(sinh(y)/y), for l = logit (+ logit_lo).

    The continuous Bernoulli density with logit l is e^{x l} l / (e^l - 1)
    = e^{(x-1/2) l} (l/2) / sinh(l/2): its log is the Bernoulli term plus log C.
    g(y) = log1p(s), s = sum_{k>=1} y^2k / (2k+1)! (positive terms) for |l| <= 6;
    g(y) = |y| - log|l| + log1p(-e^{-|l|}) beyond, where log|l| < g. A low part logit_lo
    enters to first order: d/dl [(x - 1/2) l - g(l/2)] = x - 1/2 - L(l/2)/2.
    """
    xm, xm_lo = _two_sum(x, -0.5)
    hi, lo = two_product(xm, logit)
    a = np.abs(logit)
    near = a <= _SERIES_LOGIT
    s_hi, s_lo = _log1p_pair(_series_pair(_SINH_SERIES, *_square_pair(0.5 * np.minimum(a, _SERIES_LOGIT))))
    pieces = [hi, lo, xm_lo * logit,
              np.where(near, -s_hi, -0.5 * a),
              np.where(near, -s_lo, np.log(np.maximum(a, _SERIES_LOGIT))),
              np.where(near, 0.0, -np.log1p(-np.exp(-a)))]
    if logit_lo is not None:
        pieces.append((xm - 0.5 * _coth_minus_reciprocal(0.5 * logit)) * logit_lo)
    return pieces


def _continuous_bernoulli_probs_pieces(x, lam):
    """x log lambda + (1-x) log(1-lambda) + log C(lambda), with t = 1 - 2 lambda.

    |t| <= 1/2: (1 - 2x) artanh(t) - G(t), G(t) = -1/2 log(1 - t^2) - log(artanh(t)/t): the
    logit form below with l = -2 artanh(t); G has positive Taylor coefficients, so every piece
    is exact or a pair-arithmetic series. |t| > 1/2: the logit form with l = log lambda -
    log(1 - lambda) as an exact difference of the two rounded logs.
    """
    logit_hi, logit_lo = _logit_pair(lam)
    near = np.abs(1.0 - 2.0 * lam) <= 0.5
    t = np.clip(1.0 - 2.0 * lam, -0.5, 0.5)  # exact for lambda in [1/4, 3/4]
    c_hi, c_lo = _two_sum(1.0, -2.0 * x)
    # artanh(t) = -logit / 2 exactly
    a_hi, a_lo = -0.5 * logit_hi, -0.5 * logit_lo
    ca_hi, ca_lo = two_product(c_hi, a_hi)
    g_hi, g_lo = _series_pair(_G_SERIES, *_square_pair(t))
    near_pieces = [ca_hi, ca_lo + c_hi * a_lo + c_lo * a_hi, -g_hi, -g_lo]
    far_pieces = _continuous_bernoulli_logits_pieces(x, logit_hi, logit_lo)
    return _select(near, near_pieces, far_pieces)


def _logit_pair(lam):
    """log(lambda / (1 - lambda)) = hi + lo.

    |t| <= 1/2 (t = 1 - 2 lambda, exact there): -2 artanh(t), artanh(t) = t + t u(t^2),
    u = sum_{k>=1} t^2k / (2k+1) in pair arithmetic. Beyond: log lambda - log1p(-lambda), the
    difference exact, each log within eps_f; |l| > 1.09 there and the logs' sizes add to at
    most 1.53 |l|.
    """
    t = 1.0 - 2.0 * lam
    near = np.abs(t) <= 0.5
    tn = np.clip(t, -0.5, 0.5)
    u_hi, u_lo = _series_pair(_ATANH_SERIES, *_square_pair(tn))
    tu_hi, tu_lo = two_product(tn, u_hi)
    a_hi, a_lo = _two_sum(tn, tu_hi)
    a_lo = a_lo + (tu_lo + tn * u_lo)
    f_hi, f_lo = _two_sum(np.log(lam), -np.log1p(-lam))
    return np.where(near, -2.0 * a_hi, f_hi), np.where(near, -2.0 * a_lo, f_lo)


def _select(condition, if_true, if_false):
    """Piece lists chosen element-wise (the shorter list padded with zeros)."""
    length = max(len(if_true), len(if_false))
    pad = [0.0] * length
    return [np.where(condition, a, b)
            for a, b in zip((if_true + pad)[:length], (if_false + pad)[:length])]


# ------------------------------------------------------------------------------ power series

_SERIES_LOGIT = 6.0  # |l| below which g(l/2) comes from its series


def _series_coefficients(fractions):
    return [_pair(c) for c in fractions]


def _log_series(a):
    """Coefficients b of log(sum a_k z^k), a_0 = 1, from b' = a'/a (exact rationals)."""
    b = [Fraction(0)] * len(a)
    for k in range(1, len(a)):
        b[k] = (k * a[k] - sum(j * b[j] * a[k - j] for j in range(1, k))) / k
    return b


# s(y) = sinh(y)/y - 1 = tau * sum_j tau^j / (2j+3)!, tau = y^2; 16 terms: relative
# truncation < 1e-20 for tau <= 9.
_SINH_SERIES = _series_coefficients(Fraction(1, math.factorial(2 * j + 3)) for j in range(16))
# u(t) = artanh(t)/t - 1 = tau * sum_j tau^j / (2j+3), tau = t^2; 30 terms: < 1e-19 for tau <= 1/4.
_ATANH_SERIES = _series_coefficients(Fraction(1, 2 * j + 3) for j in range(30))
# G(t) = -1/2 log(1 - t^2) - log(artanh(t)/t) = tau * sum_j gamma_{j+1} tau^j, all gamma > 0
# (1/6, 19/180, 443/5670, ...; gamma_30 ~ 0.011): < 1e-19 for tau <= 1/4.
_G_SERIES = _series_coefficients(
    Fraction(1, 2 * k) - log_a
    for k, log_a in enumerate(_log_series([Fraction(1, 2 * k + 1) for k in range(31)]))
    if k >= 1
)
# L(y) = coth y - 1/y = y N(tau) / (1 + s(y)), N = sum_j (2j+2) tau^j / (2j+3)!
# = 1/3 + tau * sum_j (2j+4) tau^j / (2j+5)!; 16 terms for tau <= 9.
_THIRD = _pair(Fraction(1, 3))
_COTH_SERIES = _series_coefficients(Fraction(2 * j + 4, math.factorial(2 * j + 5))
                                    for j in range(16))


def _square_pair(v):
    return two_product(v, v)


def _series_pair(coefficients, tau_hi, tau_lo):
    """tau * sum_j c_j tau^j as a pair: Horner's rule in pair arithmetic."""
    hi = np.full_like(tau_hi, coefficients[-1][0])
    lo = np.full_like(tau_hi, coefficients[-1][1])
    for c_hi, c_lo in reversed(coefficients[:-1]):
        p_hi, p_lo = two_product(hi, tau_hi)
        p_lo = p_lo + (hi * tau_lo + lo * tau_hi)
        s_hi, s_lo = _two_sum(p_hi, c_hi)
        s_lo = s_lo + (p_lo + c_lo)
        hi = s_hi + s_lo
        lo = s_lo - (hi - s_hi)
    p_hi, p_lo = two_product(hi, tau_hi)
    return p_hi, p_lo + (hi * tau_lo + lo * tau_hi)


def _log1p_pair(pair):
    """log1p(hi + lo) = log1p(hi) + lo / (1 + hi) to first order in lo."""
    hi, lo = pair
    return [np.log1p(hi), lo / (1.0 + hi)]


# --------------------------------------------------------------- helpers of M and the gradient

# logit(0.501): implementations use a Taylor series of log C within 1e-3 of lambda = 1/2.
_TAYLOR_LOGIT = math.log(0.501 / 0.499)


def _softplus(v):
    return np.maximum(v, 0.0) + np.log1p(np.exp(-np.abs(v)))


def _sigmoid_of_minus_abs(v):
    e = np.exp(-np.abs(v))
    return e / (1.0 + e)


def _log_normalizer(lik, recon):
    """log C: the continuous Bernoulli log density at x = 0 minus log(1 - lambda)."""
    zero = np.zeros_like(recon)
    at_zero = _compensated_sum(_pieces(lik, zero, recon, None, True))
    return at_zero + (-np.log1p(-recon) if lik.parameterization == "probs" else _softplus(recon))


def _coth_minus_reciprocal(y):
    """L(y) = coth y - 1/y: y N(y^2) / (1 + s(y)) for |y| <= 3, N = 1/3 + tau sum_j (2j+4)
    tau^j / (2j+5)! and s the sinh series, both in pair arithmetic (within 6U after the last
    roundings); else sign(y) (1 + 2/expm1(2|y|) - 1/|y|)."""
    a = np.abs(y)
    small = np.minimum(a, 3.0)
    tau = _square_pair(small)
    n_hi, n_lo = _series_pair(_COTH_SERIES, *tau)
    s_hi, s_lo = _series_pair(_SINH_SERIES, *tau)
    series = small * (((n_hi + _THIRD[0]) + (n_lo + _THIRD[1])) / ((1.0 + s_hi) + s_lo))
    large = 1.0 + 2.0 / np.expm1(2.0 * a) - 1.0 / np.maximum(a, 3.0)
    return np.sign(y) * np.where(a <= 3.0, series, large)
