r"""Gaussian KL divergences, log-density and entropy, accurate to the last bit in float64.

Formulas (per element; sigma^2 from the posterior's parameterization, x = logvar):

    KL(N(mu, sigma^2) || N(0, 1))      = 1/2 [ mu^2 + (sigma^2 - 1 - log sigma^2) ]
    KL(N(mq, e^lq) || N(mp, e^lp))      = 1/2 [ (mq - mp)^2 e^-lp + (e^y - 1 - y) ],  y = lq - lp
    log N(x; mu, e^lv)                 = -1/2 [ log 2 pi + lv + (x - mu)^2 e^-lv ]
    H(N(mu, e^lv))                     = 1/2 [ log 2 pi e + lv ]

Both KL brackets are sums of two non-negative terms, so the only cancellation is inside
e^y - 1 - y = y^2/2 + y^3/6 + ... (and its twins v - 1 - log v, s^2 - 1 - log s^2): the spec
evaluates it by a series where it is small and by exact double-double pieces elsewhere.

How. Every value is assembled as 2^E (p_1 + ... + p_n): float64 pieces whose sum is the value
to about 2^-100 relative, and an integer exponent E kept apart, so mu^2 for mu = 1e200 or
e^lv for lv = 710 never overflows, and x^2 for x = 1e-200 never underflows, before the one final
rounding. Squares are exact (Dekker's product), exponentials and logarithms are double-double
(argument reduction with a three-part ln 2 and a Taylor series), and the pieces are added by a
compensated sum (element-wise) or by ``math.fsum`` (per example). Hence:

* every KL, magnitude, entropy and gradient value (element-wise and per example) is within
  0.5 ulp + 2^-90 relative of the exact value, so within 2 ulp, wherever the result is a normal
  float64; subnormal results are rounded twice (to 53 bits, then to the subnormal grid), so
  within 1 ulp; results beyond float64's range are +-inf;
* the log-density and d KL / d logvar_p add the cancellation of their own summands: their error
  is at most 1/2 ulp + 2^-96 M, with M the sum of |summands| (stated at each function);
* ``kl_full`` depends on triangular solves; its bound involves the condition number of the
  prior's Cholesky factor (stated at the function).

Inputs must be finite; NaN, infinities, integer, boolean and complex arrays are refused with a
ValueError that names the argument.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

import numpy as np

from . import _validate
from ._summation import example_sum

POSTERIORS = ("logvar", "logstd", "std", "var")

# ln 2, log(2 pi) and log(2 pi e) as unevaluated sums of three float64 (to 2^-160 relative).
_LN2 = (
    float.fromhex("0x1.62e42fefa39efp-1"),
    float.fromhex("0x1.abc9e3b39803fp-56"),
    float.fromhex("0x1.7b57a079a1934p-111"),
)
_LOG_2PI = (
    float.fromhex("0x1.d67f1c864beb5p+0"),
    float.fromhex("-0x1.65b5a1b7ff5dfp-54"),
    float.fromhex("-0x1.b7f70c13dc1ccp-109"),
)
_LOG_2PI_E = (
    float.fromhex("0x1.6b3f8e4325f5ap+1"),
    float.fromhex("0x1.4d252f2400510p-53"),
    float.fromhex("0x1.92023cfb08f8dp-107"),
)

_SPLITTER = 134217729.0  # 2^27 + 1, Veltkamp's constant for float64
# Exponent of an exactly zero value: far below every other exponent the spec forms.
_ZERO = -(1 << 14)
# |x| beyond which e^x times anything representable is 0 or inf (2600 / ln 2 > 3 * 1075).
_EXP_LIMIT = 2600.0
# Series switch for v - 1 - log v and s^2 - 1 - log s^2: |t| = |v - 1| <= 2^-10.
_NEAR_ONE = 2.0**-10


def _double_double(q: Fraction) -> tuple[float, float]:
    hi = float(q)
    return hi, float(q - Fraction(hi))


# e^r - 1 - r = r^2 sum_n r^n / (n + 2)!; for |r| <= ln2/2 the terms from n = 21 on are below
# 2^-106 of the sum, and those from n = 13 on below 2^-54, so float64 suffices for them.
_EXP_SERIES = tuple(_double_double(Fraction(1, math.factorial(n + 2))) for n in range(21))
_EXP_SERIES_DD = 13
# t - log1p(t) = t^2 sum_n (-t)^n / (n + 2); for |t| <= 2^-10: 12 terms reach 2^-110, and the
# terms from n = 6 on are below 2^-60 of the sum.
_LOG1P_SERIES = tuple(_double_double(Fraction((-1) ** n, n + 2)) for n in range(12))
_LOG1P_SERIES_DD = 6


# --- error-free transformations and double-double arithmetic --------------------------------


def _two_sum(a, b):
    """a + b = s + e exactly (Knuth)."""
    s = a + b
    a_part = s - b
    b_part = s - a_part
    return s, (a - a_part) + (b - b_part)


def _fast_two_sum(a, b):
    """a + b = s + e exactly when |a| >= |b| (Dekker)."""
    s = a + b
    return s, b - (s - a)


def _two_product(a, b):
    """a * b = p + e exactly (Dekker with Veltkamp's split). Every call here multiplies
    mantissas, small integers or O(1) values, so none of _summation.two_product's guards
    against overflow is needed."""
    p = a * b
    a_big = _SPLITTER * a
    a_hi = a_big - (a_big - a)
    b_big = _SPLITTER * b
    b_hi = b_big - (b_big - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _dd_add(a, b):
    s, e = _two_sum(a[0], b[0])
    return _fast_two_sum(s, e + (a[1] + b[1]))


def _dd_mul(a, b):
    p, e = _two_product(a[0], b[0])
    return _fast_two_sum(p, e + (a[0] * b[1] + a[1] * b[0]))


def _dd_div(a, b):
    """Double-double a divided by the float64 b."""
    q = a[0] / b
    p, e = _two_product(q, b)
    return _fast_two_sum(q, (((a[0] - p) - e) + a[1]) / b)


def _exponent(x):
    """Binary exponent e with x = m 2^e, 1/2 <= |m| < 1; _ZERO for x == 0."""
    mantissa, exponent = np.frexp(x)
    return np.where(mantissa == 0, np.int32(_ZERO), exponent)


class _Scaled:
    """The value 2^exponent * (sum of pieces), element-wise, held without rounding the sum.

    Pieces are float64 arrays (or numbers) and exponent an int32 array, all broadcasting to
    the element shape. Exponents stay far inside int32: frexp's are within +-1074, _reduce's
    within +-3752, _ZERO is -2^14, and at most a few are added.
    """

    __slots__ = ("pieces", "exponent")

    def __init__(self, pieces, exponent):
        self.pieces = list(pieces)
        self.exponent = np.asarray(exponent, dtype=np.int32)

    @classmethod
    def exact(cls, *values):
        """The exact sum of float64 values, scaled so that every piece is below 1."""
        exponent = functools.reduce(np.maximum, (_exponent(v) for v in values))
        return cls([np.ldexp(v, -exponent) for v in values], exponent)

    @property
    def shape(self):
        return np.broadcast_shapes(self.exponent.shape, *(np.shape(p) for p in self.pieces))

    def __add__(self, other):
        exponent = np.maximum(self.exponent, other.exponent)
        return _Scaled(
            [np.ldexp(p, self.exponent - exponent) for p in self.pieces]
            + [np.ldexp(p, other.exponent - exponent) for p in other.pieces],
            exponent,
        )

    def __neg__(self):
        return _Scaled([-p for p in self.pieces], self.exponent)

    def __mul__(self, other):
        return _Scaled(_dd_mul(self.double_double(), other.double_double()),
                       self.exponent + other.exponent)

    def divided_by(self, divisor):
        mantissa, exponent = np.frexp(divisor)
        return _Scaled(_dd_div(self.double_double(), mantissa), self.exponent - exponent)

    def times_power_of_two(self, n):
        return _Scaled(self.pieces, self.exponent + n)

    def absolute(self):
        sign = np.where(self.value() < 0, -1.0, 1.0)
        return _Scaled([sign * p for p in self.pieces], self.exponent)

    def double_double(self):
        """The pieces' sum as hi + lo: a cascade of exact two-sums whose errors are added
        (Ogita, Rump and Oishi's Sum2: error <= u |sum| + (n u)^2 sum |pieces|)."""
        total, error = self.pieces[0], 0.0
        for piece in self.pieces[1:]:
            total, e = _two_sum(total, piece)
            error = error + e
        return _fast_two_sum(total, error)

    def value(self):
        """The value rounded to float64 (+-inf beyond its range)."""
        return np.ldexp(self.double_double()[0], self.exponent)


def _where(condition, a, b):
    n = max(len(a.pieces), len(b.pieces))
    a_pieces = a.pieces + [0.0] * (n - len(a.pieces))
    b_pieces = b.pieces + [0.0] * (n - len(b.pieces))
    return _Scaled([np.where(condition, p, q) for p, q in zip(a_pieces, b_pieces)],
                   np.where(condition, a.exponent, b.exponent))


def _per_example(*terms):
    """Per-example sum of scaled terms over every axis but the first, rounded once.

    Each row is brought to its largest exponent (pieces of much smaller elements may lose
    bits below 2^-1074 of that scale) and added by ``math.fsum``.
    """
    shapes = [t.shape for t in terms]
    batch = shapes[0][0]
    exponents = [np.broadcast_to(t.exponent, s).reshape(batch, -1) for t, s in zip(terms, shapes)]
    row = np.max(np.concatenate(exponents, axis=1), axis=1, initial=_ZERO)
    parts = []
    for term, shape, exponent in zip(terms, shapes, exponents):
        shift = exponent - row[:, None]
        parts += [np.ldexp(np.broadcast_to(p, shape).reshape(batch, -1), shift)
                  for p in term.pieces]
    return np.ldexp(example_sum(*parts), row)


# --- squares, exponentials, logarithms as scaled values ------------------------------------


def _square(hi, lo=0.0):
    """(hi + lo)^2 for a double-double (|lo| <= ulp(hi)); lo^2 (2^-106 relative) is dropped."""
    mantissa, exponent = np.frexp(hi)
    mantissa_lo = np.ldexp(lo, -exponent)
    p_hi, p_lo = _two_product(mantissa, mantissa)
    return _Scaled([p_hi, p_lo, 2.0 * mantissa * mantissa_lo],
                   np.where(mantissa == 0, np.int32(_ZERO), 2 * exponent))


def _series(x, coefficients, dd_terms):
    """sum_n c_n x^n by Horner's rule; double-double for the first ``dd_terms`` coefficients."""
    x_hi, x_lo = x
    tail = np.full_like(x_hi, coefficients[-1][0])
    for c_hi, _ in reversed(coefficients[dd_terms:-1]):
        tail = c_hi + x_hi * tail
    acc = (tail, np.zeros_like(x_hi))
    for c in reversed(coefficients[:dd_terms]):
        acc = _dd_add(c, _dd_mul(x, acc))
    return acc


def _reduce(x_hi, x_lo=0.0):
    """x = k ln 2 + r, integer k, |r| <= ln2/2, r a double-double (x clipped to +-2600)."""
    x_hi = np.clip(x_hi, -_EXP_LIMIT, _EXP_LIMIT)
    k = np.rint(x_hi / _LN2[0])
    p_hi, p_lo = _two_product(k, _LN2[0])  # k has at most 12 bits: both products are exact
    q_hi, q_lo = _two_product(k, _LN2[1])
    # x_hi - p_hi is exact (Sterbenz: x_hi / p_hi lies in [1/2, 2] when k != 0)
    r = _Scaled([x_hi - p_hi, -p_lo, -q_hi, -q_lo, -k * _LN2[2], x_lo], 0).double_double()
    return k.astype(np.int32), r


def _expm1_minus_linear(r):
    """e^r - 1 - r = r^2 sum_n r^n / (n + 2)! for a small double-double r."""
    return _square(*r) * _Scaled(_series(r, _EXP_SERIES, _EXP_SERIES_DD), 0)


def _exp_reduced(k, r):
    """e^x = 2^k (1 + r + (e^r - 1 - r))."""
    one_plus_r = _Scaled([1.0, r[0], r[1]], 0)
    return (one_plus_r + _expm1_minus_linear(r)).times_power_of_two(k)


def _exp(x_hi, x_lo=0.0):
    return _exp_reduced(*_reduce(x_hi, x_lo))


def _expm1(x_hi, x_lo=0.0):
    """e^x - 1: x + (e^x - 1 - x) when k = 0 (then r = x), 2^k e^r - 1 otherwise."""
    k, r = _reduce(x_hi, x_lo)
    near = _Scaled.exact(r[0], r[1]) + _expm1_minus_linear(r)
    far = _exp_reduced(k, r) + _Scaled.exact(-1.0)
    return _where(k == 0, near, far)


def _exp_minus_one_minus(x_hi, x_lo, minus_x):
    """e^x - 1 - x; ``minus_x`` holds -x exactly (its pieces need not be x_hi, x_lo).

    Near 0 (k = 0, so r = x) it is the series; elsewhere the pieces 2^k e^r, -1, -x cancel by
    at most a factor 40 (at |x| = ln2/2), which the double-double pieces absorb.
    """
    k, r = _reduce(x_hi, x_lo)
    near = _expm1_minus_linear(r)
    far = _exp_reduced(k, r) + _Scaled.exact(-1.0) + minus_x
    return _where(k == 0, near, far)


def _log(v):
    """log v for v > 0, to 2^-100 relative.

    Near 1: t - t^2 (t - log1p t)/t^2 with t = v - 1 (exact there). Elsewhere e ln 2 + log m
    with m in [sqrt(1/2), sqrt 2) (to 2^-104 absolute, and |log v| > 2^-11):
    log m = y0 + log1p(d), y0 = fl(log m), d = m e^-y0 - 1 = O(2^-53 y0); d^2/2 is dropped.
    """
    t = v - 1.0
    near = _Scaled.exact(t) + -(_square(t) * _Scaled(_log1p_tail((t, np.zeros_like(t))), 0))
    mantissa, exponent = np.frexp(v)
    low = mantissa < math.sqrt(0.5)
    m = np.where(low, 2.0 * mantissa, mantissa)
    e = np.where(low, exponent - 1, exponent).astype(np.float64)
    y0 = np.log(m)
    e_minus_y0 = (_Scaled([1.0, -y0], 0) + _expm1_minus_linear((-y0, np.zeros_like(y0))))
    product = _dd_mul((m, np.zeros_like(m)), e_minus_y0.double_double())
    d = (product[0] - 1.0) + product[1]
    a_hi, a_lo = _two_product(e, _LN2[0])
    b_hi, b_lo = _two_product(e, _LN2[1])
    far = _Scaled.exact(a_hi, a_lo, b_hi, b_lo, e * _LN2[2], y0, d)
    return _where(np.abs(t) <= _NEAR_ONE, near, far)


def _log1p_tail(t):
    """(t - log1p(t)) / t^2 = 1/2 - t/3 + t^2/4 - ... for a double-double |t| <= 2^-10."""
    return _series(t, _LOG1P_SERIES, _LOG1P_SERIES_DD)


# --- the divergence of the scale: sigma^2 - 1 - log sigma^2 ---------------------------------


def _variance_divergence(v):
    """v - 1 - log v: t^2 (t - log1p t)/t^2 for t = v - 1 near 0 (v - 1 exact there)."""
    t = v - 1.0
    near = _square(t) * _Scaled(_log1p_tail((t, np.zeros_like(t))), 0)
    far = _Scaled.exact(v, -1.0) + -_log(v)
    return _where(np.abs(t) <= _NEAR_ONE, near, far)


def _std_ratio_divergence(a, b):
    """s^2 - 1 - log s^2 for s = a / b (a, b > 0).

    Near s = 1 with t = (a - b)/b: t^2 + 2 (t - log1p t) = t^2 (1 + 2 (t - log1p t)/t^2);
    elsewhere (a/b)^2 - 1 - 2 log a + 2 log b.
    """
    a_m, a_e = np.frexp(a)
    b_m, b_e = np.frexp(b)
    shift = a_e - b_e
    a_scaled = np.ldexp(a_m, np.minimum(np.maximum(shift, -2), 2))  # a / 2^b_e where a is near b
    t = _dd_div((a_scaled - b_m, np.zeros_like(b_m)), b_m)  # numerator exact (Sterbenz)
    tail = _log1p_tail(t)
    near = _square(*t) * _Scaled(_dd_add((1.0, 0.0), (2.0 * tail[0], 2.0 * tail[1])), 0)
    ratio = _dd_div((a_m, np.zeros_like(a_m)), b_m)
    far = (_square(*ratio).times_power_of_two(2 * shift) + _Scaled.exact(-1.0)
           + (-_log(a)).times_power_of_two(1) + _log(b).times_power_of_two(1))
    return _where(np.abs(t[0]) <= _NEAR_ONE, near, far)


def _scale_divergence(scale, posterior):
    """sigma^2 - 1 - log sigma^2 with sigma given by ``scale`` in the posterior's terms."""
    if posterior == "logvar":
        return _exp_minus_one_minus(scale, 0.0, _Scaled.exact(-scale))
    if posterior == "logstd":
        return _exp_minus_one_minus(2.0 * scale, 0.0, _Scaled.exact(-scale, -scale))
    if posterior == "std":
        return _std_ratio_divergence(scale, np.ones_like(scale))
    return _variance_divergence(scale)


def _scale_magnitude(scale, posterior):
    """1 + |log sigma^2| + sigma^2."""
    if posterior == "logvar":
        return _Scaled.exact(1.0, np.abs(scale)) + _exp(scale)
    if posterior == "logstd":
        return _Scaled.exact(1.0, np.abs(scale), np.abs(scale)) + _exp(2.0 * scale)
    if posterior == "std":
        return (_Scaled.exact(1.0) + _log(scale).absolute().times_power_of_two(1)
                + _square(scale))
    return _Scaled.exact(1.0, scale) + _log(scale).absolute()


# --- validation ------------------------------------------------------------------------------


def _batched(name, value):
    return _validate.finite(name, _validate.as_batched(name, value))


def _broadcast(name, value, shape):
    array = _validate.finite(name, _validate.as_float_array(name, value))
    return _validate.broadcastable_to(name, array, shape)


def _scale_input(scale, posterior):
    if posterior not in POSTERIORS:
        raise ValueError(f"posterior: {posterior!r} is not one of {', '.join(POSTERIORS)}")
    scale = _batched(posterior, scale)
    if posterior in ("std", "var"):
        _validate.positive(posterior, scale)
    return scale


def _posterior_inputs(mu, scale, posterior):
    scale = _scale_input(scale, posterior)
    mu = _batched("mu", mu)
    _validate.same_shape(mu=mu, **{posterior: scale})
    return mu, scale


def _diagonal_inputs(mu_q, logvar_q, mu_p, logvar_p):
    mu_q = _batched("mu_q", mu_q)
    logvar_q = _batched("logvar_q", logvar_q)
    _validate.same_shape(mu_q=mu_q, logvar_q=logvar_q)
    mu_p = _broadcast("mu_p", mu_p, mu_q.shape)
    logvar_p = _broadcast("logvar_p", logvar_p, mu_q.shape)
    return mu_q, logvar_q, mu_p, logvar_p


# --- KL(N(mu, sigma^2) || N(0, 1)) -----------------------------------------------------------


def _kl_standard_normal_twice(mu, scale, posterior):
    return _square(mu) + _scale_divergence(scale, posterior)


def scale_to_logvar(scale, posterior="logvar"):
    """log sigma^2 from a scale in the posterior's parameterization.

    logvar: itself; logstd: 2 logstd (exact); std: 2 log std; var: log var (within 0.5 ulp +
    2^-90 relative). std and var must be positive.
    """
    scale = _scale_input(scale, posterior)
    with np.errstate(all="ignore"):
        if posterior == "logvar":
            return scale.copy()
        if posterior == "logstd":
            return 2.0 * scale
        log = _log(scale)
        return (log.times_power_of_two(1) if posterior == "std" else log).value()


def kl_standard_normal_elementwise(mu, scale, posterior="logvar"):
    """Per element KL(N(mu, sigma^2) || N(0, 1)) = 1/2 [mu^2 + sigma^2 - 1 - log sigma^2].

    Error <= 0.5 ulp + 2^-90 relative (so <= 2 ulp) wherever the result is a normal float64.
    """
    mu, scale = _posterior_inputs(mu, scale, posterior)
    with np.errstate(all="ignore"):
        return _kl_standard_normal_twice(mu, scale, posterior).times_power_of_two(-1).value()


def kl_standard_normal(mu, scale, posterior="logvar"):
    """Per-example KL(N(mu, diag sigma^2) || N(0, I)): the element-wise KL summed over every
    axis but the first, from exact pieces rounded once (<= 0.5 ulp + 2^-90 relative)."""
    mu, scale = _posterior_inputs(mu, scale, posterior)
    with np.errstate(all="ignore"):
        return _per_example(_kl_standard_normal_twice(mu, scale, posterior)
                            .times_power_of_two(-1))


def kl_standard_normal_magnitude(mu, scale, posterior="logvar"):
    """Per element 1/2 (1 + |log sigma^2| + mu^2 + sigma^2): the sum of the absolute values
    of the textbook summands (<= 0.5 ulp + 2^-90 relative)."""
    mu, scale = _posterior_inputs(mu, scale, posterior)
    with np.errstate(all="ignore"):
        return (_square(mu) + _scale_magnitude(scale, posterior)).times_power_of_two(-1).value()


def kl_standard_normal_grad(mu, scale, posterior="logvar"):
    """(d KL / d mu, d KL / d scale) per element, scale in the posterior's parameterization.

    d mu: mu. d scale: logvar (e^lv - 1)/2; logstd e^(2 ls) - 1; std s - 1/s = (s^2 - 1)/s;
    var (1 - 1/v)/2 = (v - 1)/(2 v). Each within 0.5 ulp + 2^-90 relative.
    """
    mu, scale = _posterior_inputs(mu, scale, posterior)
    with np.errstate(all="ignore"):
        if posterior == "logvar":
            d_scale = _expm1(scale).times_power_of_two(-1)
        elif posterior == "logstd":
            d_scale = _expm1(2.0 * scale)
        elif posterior == "std":
            d_scale = (_square(scale) + _Scaled.exact(-1.0)).divided_by(scale)
        else:
            d_scale = _Scaled.exact(scale, -1.0).divided_by(scale).times_power_of_two(-1)
        return mu.copy(), d_scale.value()


# --- KL between diagonal Gaussians -----------------------------------------------------------


def _difference(a, b):
    """a - b as (hi, lo, s) with a - b = 2^s (hi + lo); s = 1 (halving both) guards overflow
    and is exact unless the other operand is subnormal, an error far below ulp(a - b)."""
    large = np.maximum(np.abs(a), np.abs(b)) >= 2.0**1022
    s = large.astype(np.int32)
    hi, lo = _two_sum(np.ldexp(a, -s), np.ldexp(-b, -s))
    return hi, lo, s


def _mean_term(mu_q, mu_p, logvar_p):
    """(mq - mp)^2 e^-lp."""
    hi, lo, s = _difference(mu_q, mu_p)
    return _square(hi, lo).times_power_of_two(2 * s) * _exp(-logvar_p)


def _log_ratio(logvar_q, logvar_p):
    """y = lq - lp as an exact double-double (hi, lo), clipped hi where it overflows."""
    hi, lo = _two_sum(logvar_q, -logvar_p)
    return hi, np.where(np.isfinite(hi), lo, 0.0)


def _kl_diagonal_twice(mu_q, logvar_q, mu_p, logvar_p):
    y_hi, y_lo = _log_ratio(logvar_q, logvar_p)
    divergence = _exp_minus_one_minus(y_hi, y_lo, _Scaled.exact(-logvar_q, logvar_p))
    return _mean_term(mu_q, mu_p, logvar_p) + divergence


def kl_diagonal_elementwise(mu_q, logvar_q, mu_p, logvar_p):
    """Per element KL(N(mq, e^lq) || N(mp, e^lp))
    = 1/2 [ e^(lq - lp) + (mq - mp)^2 e^-lp - 1 - (lq - lp) ].

    mu_p and logvar_p broadcast to mu_q's shape. Computed as 1/2 [(mq - mp)^2 e^-lp + g(y)],
    g(y) = e^y - 1 - y >= 0 with y = lq - lp exact: two non-negative terms, so the result is
    within 0.5 ulp + 2^-90 relative (<= 2 ulp) wherever it is a normal float64.
    """
    mu_q, logvar_q, mu_p, logvar_p = _diagonal_inputs(mu_q, logvar_q, mu_p, logvar_p)
    with np.errstate(all="ignore"):
        return _kl_diagonal_twice(mu_q, logvar_q, mu_p, logvar_p).times_power_of_two(-1).value()


def kl_diagonal(mu_q, logvar_q, mu_p, logvar_p):
    """Per-example KL between diagonal Gaussians, summed over every axis but the first
    (<= 0.5 ulp + 2^-90 relative: every element term is non-negative)."""
    mu_q, logvar_q, mu_p, logvar_p = _diagonal_inputs(mu_q, logvar_q, mu_p, logvar_p)
    with np.errstate(all="ignore"):
        return _per_example(_kl_diagonal_twice(mu_q, logvar_q, mu_p, logvar_p)
                            .times_power_of_two(-1))


def kl_diagonal_magnitude(mu_q, logvar_q, mu_p, logvar_p):
    """Per element 1/2 [1 + |lq| + |lp| + e^(lq - lp) + (mq - mp)^2 e^-lp].

    The log-variances count separately (|lq| + |lp|, not |lq - lp|): an implementation that
    adds lp and -lq as separate summands is correct and errs by u (|lq| + |lp|).
    Within 0.5 ulp + 2^-90 relative.
    """
    mu_q, logvar_q, mu_p, logvar_p = _diagonal_inputs(mu_q, logvar_q, mu_p, logvar_p)
    with np.errstate(all="ignore"):
        y_hi, y_lo = _log_ratio(logvar_q, logvar_p)
        total = (_Scaled.exact(1.0, np.abs(logvar_q), np.abs(logvar_p)) + _exp(y_hi, y_lo)
                 + _mean_term(mu_q, mu_p, logvar_p))
        return total.times_power_of_two(-1).value()


def kl_diagonal_grad(mu_q, logvar_q, mu_p, logvar_p):
    """Element-wise derivatives of ``kl_diagonal_elementwise``, keys "mu_q", "logvar_q",
    "mu_p", "logvar_p" (each of mu_q's shape; sum over broadcast axes for a shared prior):

        d mu_q = (mq - mp) e^-lp = -d mu_p,   d logvar_q = (e^y - 1)/2,
        d logvar_p = -[(e^y - 1) + (mq - mp)^2 e^-lp] / 2,   y = lq - lp.

    The first three are within 0.5 ulp + 2^-90 relative. d logvar_p adds two terms that may
    cancel (e^y - 1 < 0): its error is at most 1/2 ulp + 2^-96 (|e^y - 1| + (mq - mp)^2 e^-lp)/2.
    """
    mu_q, logvar_q, mu_p, logvar_p = _diagonal_inputs(mu_q, logvar_q, mu_p, logvar_p)
    with np.errstate(all="ignore"):
        hi, lo, s = _difference(mu_q, mu_p)
        d_mu_q = (_Scaled.exact(hi, lo).times_power_of_two(s) * _exp(-logvar_p)).value()
        y_hi, y_lo = _log_ratio(logvar_q, logvar_p)
        expm1 = _expm1(y_hi, y_lo)
        d_logvar_p = -(expm1 + _mean_term(mu_q, mu_p, logvar_p))
        return {
            "mu_q": d_mu_q,
            "logvar_q": expm1.times_power_of_two(-1).value(),
            "mu_p": -d_mu_q,
            "logvar_p": d_logvar_p.times_power_of_two(-1).value(),
        }


# --- KL between full-covariance Gaussians ----------------------------------------------------


def _tril(name, value, shape, *, shared=False):
    """A lower-triangular factor of ``shape`` with positive diagonal; ``shared`` lets a prior's
    factor broadcast to it."""
    tril = _validate.finite(name, _validate.as_float_array(name, value))
    if shared:
        tril = np.array(_validate.broadcastable_to(name, tril, shape))
    elif tril.shape != shape:
        raise ValueError(f"{name}: expected shape {shape} (batch, k, k), got {tril.shape}")
    above = np.triu(tril, 1) != 0
    if above.any():
        index = tuple(int(i) for i in np.argwhere(above)[0])
        raise ValueError(f"{name}: not lower-triangular, entry {index} above the diagonal is "
                         f"{tril[index]!r}")
    _validate.positive(f"{name} (diagonal)", np.diagonal(tril, axis1=-2, axis2=-1))
    return tril


def _forward_substitution(tril, right):
    """X with tril X = right, batched: x_i = (b_i - sum_{l<i} L_il x_l) / L_ii."""
    solved = np.empty_like(right)
    for i in range(tril.shape[1]):
        partial = np.sum(tril[:, i, :i, None] * solved[:, :i, :], axis=1)
        solved[:, i, :] = (right[:, i, :] - partial) / tril[:, i, i, None]
    return solved


def kl_full(mu_q, tril_q, mu_p=None, tril_p=None):
    r"""Per-example KL(N(mu_q, Lq Lq^T) || N(mu_p, Lp Lp^T)); None is N(0, I).

    mu (B, k); tril (B, k, k) lower-triangular with positive diagonal (a prior may also be
    (k,) and (k, k), shared by the batch).

        2 KL = tr(Sp^-1 Sq) + d^T Sp^-1 d - k + log det Sp - log det Sq,   d = mu_q - mu_p,

    computed as a sum of non-negative terms: with X = Lp^-1 (Lq - Lp) (so Lp^-1 Lq = I + X,
    diagonal 1 + t_i, t_i = (Lq_ii - Lp_ii)/Lp_ii) and y = Lp^-1 d,

        2 KL = sum_{i>j} X_ij^2 + ||y||^2 + sum_i [s_i^2 - 1 - log s_i^2],   s_i = Lq_ii/Lp_ii.

    The last sum is exact to 2^-90 relative (the series near s_i = 1); identical q and p give
    exactly 0. X and y come from forward substitution, which is backward stable (Higham,
    Accuracy and Stability of Numerical Algorithms, Thm 8.5): |X_hat - X| <= k u |Lp^-1||Lp||X|;
    rounding Lq - Lp and mu_q - mu_p adds u |Lp^-1||Lp||X| (as |Lq - Lp| <= |Lp||X|). Since
    t_i^2 <= s_i^2 - 1 - log s_i^2, ||X||_F^2 <= 2 KL, so to first order the relative error
    is 2 (k + 1) u kappa + u, kappa = || |Lp^-1| |Lp| ||_2 (1 for a diagonal Lp). Twice that
    covers the second-order terms (while 2 (k + 1) u kappa <= 1/2):

        |KL_hat - KL| <= (4 (k + 1) u kappa + 2 u) KL.

    Raises ValueError when the substitution overflows (Lp too ill-conditioned for float64).
    """
    mu_q = _batched("mu_q", mu_q)
    if mu_q.ndim != 2:
        raise ValueError(f"mu_q: expected shape (batch, k), got {mu_q.shape}")
    batch, k = mu_q.shape
    tril_q = _tril("tril_q", tril_q, (batch, k, k))
    mu_p = np.zeros_like(mu_q) if mu_p is None else _broadcast("mu_p", mu_p, mu_q.shape)
    tril_p = (np.broadcast_to(np.eye(k), (batch, k, k)) if tril_p is None
              else _tril("tril_p", tril_p, (batch, k, k), shared=True))
    with np.errstate(all="ignore"):
        right = np.concatenate([tril_q - tril_p, (mu_q - mu_p)[:, :, None]], axis=2)
        solved = _forward_substitution(tril_p, right)
        if not np.isfinite(solved).all():
            raise ValueError("tril_p: solving with the prior's Cholesky factor overflowed "
                             "float64 (the factor is too ill-conditioned)")
        below = np.tril_indices(k, -1)
        off_diagonal = solved[:, below[0], below[1]]
        whitened_mean = solved[:, :, k]
        diagonal = _std_ratio_divergence(np.diagonal(tril_q, axis1=1, axis2=2),
                                         np.diagonal(tril_p, axis1=1, axis2=2))
        return _per_example(*(term.times_power_of_two(-1) for term in (
            _square(off_diagonal), _square(whitened_mean), diagonal)))


# --- log-density and entropy -----------------------------------------------------------------


def _log_density_inputs(x, mu, logvar):
    x = _batched("x", x)
    return x, _broadcast("mu", mu, x.shape), _broadcast("logvar", logvar, x.shape)


def _minus_twice_log_density(x, mu, logvar):
    return _Scaled.exact(*_LOG_2PI, logvar) + _mean_term(x, mu, logvar)


def gaussian_log_density_elementwise(x, mu, logvar):
    """Per element log N(x; mu, e^lv) = -1/2 [log 2 pi + lv + (x - mu)^2 e^-lv].

    mu and logvar broadcast to x's shape. The summands are exact to 2^-100 and added once, so
    the error is at most 1/2 ulp + 2^-96 M with M = 1/2 [log 2 pi + |lv| + (x - mu)^2 e^-lv]
    (within 2 ulp unless the summands cancel to below 2^-43 M).
    """
    x, mu, logvar = _log_density_inputs(x, mu, logvar)
    with np.errstate(all="ignore"):
        return (-_minus_twice_log_density(x, mu, logvar)).times_power_of_two(-1).value()


def gaussian_log_density(x, mu, logvar):
    """Per-example log-density summed over every axis but the first; error at most
    1/2 ulp + 2^-96 sum M (M as for the element-wise form)."""
    x, mu, logvar = _log_density_inputs(x, mu, logvar)
    with np.errstate(all="ignore"):
        return _per_example((-_minus_twice_log_density(x, mu, logvar)).times_power_of_two(-1))


def _entropy_term(logvar):
    return _Scaled.exact(*_LOG_2PI_E, logvar).times_power_of_two(-1)


def gaussian_entropy_elementwise(logvar):
    """Per element H(N(mu, e^lv)) = 1/2 [log(2 pi e) + lv], log(2 pi e) to 2^-160: within
    0.5 ulp + 2^-90 relative (|log(2 pi e) + lv| >= 2^-56 for every float64 lv)."""
    logvar = _batched("logvar", logvar)
    with np.errstate(all="ignore"):
        return _entropy_term(logvar).value()


def gaussian_entropy(logvar):
    """Per-example entropy summed over every axis but the first, rounded once."""
    logvar = _batched("logvar", logvar)
    with np.errstate(all="ignore"):
        return _per_example(_entropy_term(logvar))
