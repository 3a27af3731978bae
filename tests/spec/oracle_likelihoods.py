"""Reference log-likelihoods and derivatives in mpmath: the textbook formulas, evaluated exactly
enough that float64 rounding of the answer is the only error left.

The working precision is 1400 bits: the inputs are float64 (exponents down to -1074), so
1 - p and 1 - 2 lambda are exact and carry 200 bits more than the smallest of them needs, and
sigmoid(l) for |l| <= 745 keeps 1 - sigmoid(l) to 300 bits. The error bounds at the end state
the spec's accuracy claims (vae_spec/spec/likelihoods.py) as numbers the tests compare with.
Every function takes Python floats (or mpf) and returns an mpmath mpf.
"""

from __future__ import annotations

import mpmath

PRECISION = 1400


def _bernoulli(x, p):
    """x log p + (1-x) log(1-p) with 0 log 0 = 0."""
    first = 0 if x == 0 else x * mpmath.log(p)
    second = 0 if x == 1 else (1 - x) * mpmath.log(1 - p)
    return first + second


def _log_normalizer(lam):
    """log C(lambda), C = 2 artanh(1 - 2 lambda) / (1 - 2 lambda), C(1/2) = 2."""
    t = 1 - 2 * lam
    return mpmath.log(2) if t == 0 else mpmath.log(2 * mpmath.atanh(t) / t)


def _sigmoid(logit):
    return 1 / (1 + mpmath.exp(-logit))


def log_likelihood(family, x, recon, extra=None):
    """log p(x | recon) for family in {bernoulli-probs, bernoulli-logits,
    continuous-bernoulli-probs, continuous-bernoulli-logits, gaussian, laplace}; ``extra`` is
    the variance (gaussian) or scale (laplace) as an mpf or float."""
    with mpmath.workprec(PRECISION):
        x, recon = mpmath.mpf(x), mpmath.mpf(recon)
        if family == "gaussian":
            variance = mpmath.mpf(extra)
            return -(x - recon) ** 2 / (2 * variance) - mpmath.log(2 * mpmath.pi * variance) / 2
        if family == "laplace":
            scale = mpmath.mpf(extra)
            return -abs(x - recon) / scale - mpmath.log(2 * scale)
        lam = recon if family.endswith("probs") else _sigmoid(recon)
        value = _bernoulli(x, lam)
        if family.startswith("continuous"):
            value += _log_normalizer(lam)
        return +value


def log_normalizer(lam):
    with mpmath.workprec(PRECISION):
        return +_log_normalizer(mpmath.mpf(lam))


def gradient(family, x, recon, extra=None):
    """d log p / d recon, analytic: the textbook derivative of each formula."""
    with mpmath.workprec(PRECISION):
        x, recon = mpmath.mpf(x), mpmath.mpf(recon)
        if family == "gaussian":
            return (x - recon) / mpmath.mpf(extra)
        if family == "laplace":
            return mpmath.sign(x - recon) / mpmath.mpf(extra)
        lam = recon if family.endswith("probs") else _sigmoid(recon)
        by_lam = x / lam - (1 - x) / (1 - lam)
        if family.startswith("continuous"):
            t = 1 - 2 * lam
            # d/dlambda log(2 artanh(t)/t) = -2 [1/((1-t^2) artanh t) - 1/t]; 0 at t = 0.
            # The two terms (~2/t) cancel to -4t/3: 2 log2(1/|t|) more bits keep 1400.
            if t != 0:
                with mpmath.workprec(PRECISION + max(0, -2 * int(mpmath.mag(t)))):
                    by_lam += -2 / ((1 - t * t) * mpmath.atanh(t)) + 2 / t
        return +(by_lam if family.endswith("probs") else by_lam * lam * (1 - lam))


def scale_gradient(family, x, recon, log_scale):
    """d log p / d log-parameter: Gaussian (x-m)^2 e^-lv / 2 - 1/2, Laplace |x-m| e^-ls - 1."""
    with mpmath.workprec(PRECISION):
        d = mpmath.mpf(x) - mpmath.mpf(recon)
        weight = mpmath.exp(-mpmath.mpf(log_scale))
        if family == "gaussian":
            return d * d * weight / 2 - mpmath.mpf(1) / 2
        return abs(d) * weight - 1


# ------------------------------------------------------------------------------ error bounds
#
# The spec's error bounds, as stated in vae_spec/spec/likelihoods.py, evaluated exactly: each
# returns the absolute error allowed on top of the final rounding (half an ulp of the result).
# They rest on two constants:
#   EPS_F: the relative error of numpy's log, log1p, exp, expm1 on float64: 1.5 U (at most
#          3/4 ulp), checked on each platform by test_elementary_functions_are_accurate
#          (measured there: <= 0.67 ulp).
#   TINY:  what pair arithmetic and the truncated series leave: products and sums of pairs
#          err by <= ~8 U^2 = 2^-103 of the operands' sizes, the series stop where the next
#          term is below 1e-19 (2^-63) of the sum; 2^-60 of the pieces' sizes covers both.

U = 2.0 ** -53  # unit roundoff: one correctly rounded operation errs by at most U relative
EPS_F = 1.5 * U
TINY = 2.0 ** -60
# exp(a) = 2^k exp(r): r = (a - k ln2_hi) - k ln2_lo is rounded once (U |r|, |r| < 0.35), which
# exp passes on as a relative error: the weight exp(-dec_logvar) errs by EPS_F + 0.35 U.
EPS_WEIGHT = EPS_F + 0.35 * U
# A piece whose low part falls below 2^-1022 is rounded to a multiple of 2^-1074: <= 2^-1075
# each, at most 8 pieces, doubled in a Gaussian gradient.
UNDERFLOW = 8 * 2.0 ** -1074


def _g(y):
    """log(sinh(y)/y), 0 at 0."""
    return mpmath.mpf(0) if y == 0 else mpmath.log(mpmath.sinh(y) / y)


def _g_error_size(logit):
    """The size that EPS_F multiplies in the spec's g(l/2): g itself from the series
    (|l| <= 6, only log1p rounds), else log|l| + 2 |log1p(-e^-|l|)| (log; exp then log1p)."""
    a = abs(logit)
    if a <= 6:
        return _g(a / 2)
    # exp's error reaches log1p(-w), w = e^-a <= e^-6, times w / ((1-w) |log1p(-w)|) <= 1.002
    return mpmath.log(a) + mpmath.mpf("2.01") * abs(mpmath.log1p(-mpmath.exp(-a)))


def _coth_minus_reciprocal(y):
    return mpmath.mpf(0) if y == 0 else mpmath.coth(y) - 1 / y


def value_bound(family, x, recon, log_scale=None, scale=None, constants=True):
    """Error allowed on top of the final rounding for log_likelihood_elementwise."""
    with mpmath.workprec(PRECISION):
        x, recon = mpmath.mpf(x), mpmath.mpf(recon)
        if family in ("gaussian", "laplace"):
            d = abs(x - recon)
            if log_scale is not None:
                weight = mpmath.exp(-mpmath.mpf(log_scale))
                term = d * d * weight / 2 if family == "gaussian" else d * weight
                linear = abs(mpmath.mpf(log_scale)) / (2 if family == "gaussian" else 1)
                return EPS_WEIGHT * term + TINY * (term + linear + 2)
            scale = mpmath.mpf(scale)
            term = d * d / (2 * scale) if family == "gaussian" else d / scale
            constant = (abs(mpmath.log(2 * mpmath.pi * scale)) / 2 if family == "gaussian"
                        else abs(mpmath.log(2 * scale)))
            return TINY * (term + constant + 2)
        if family == "bernoulli-probs":
            return (EPS_F + TINY) * abs(_bernoulli(x, recon))
        if family == "bernoulli-logits":
            softplus_tail = mpmath.log1p(mpmath.exp(-abs(recon)))
            return 2 * EPS_F * softplus_tail + TINY * (abs(recon) + 1)
        if family == "continuous-bernoulli-logits":
            return (EPS_F * _g_error_size(recon)
                    + TINY * (abs((x - mpmath.mpf(1) / 2) * recon) + _g(recon / 2)))
        # continuous-bernoulli-probs
        lam = recon
        t = 1 - 2 * lam
        logit = mpmath.log(lam) - mpmath.log(1 - lam)
        size = abs((x - mpmath.mpf(1) / 2) * logit) + _g(logit / 2)
        if abs(t) <= mpmath.mpf(1) / 2:
            return TINY * size
        mean = (1 + _coth_minus_reciprocal(logit / 2)) / 2
        logs = abs(mpmath.log(lam)) + abs(mpmath.log(1 - lam))
        return EPS_F * (abs(x - mean) * logs + _g_error_size(logit)) + TINY * (size + logs)


def gradient_bound(family, x, recon, log_scale=None, scale=None):
    """Error allowed on top of the final rounding for log_likelihood_grad's "x_recon".

    Derivations (U per rounding other than the last):
    - Bernoulli probs (x - p) / (p (1-p)): x - p, 1 - p and the product round: 3U |g|.
    - Bernoulli logits sigma(-|l|) - (1-x) or x - sigma(-|l|): sigma = e / (1+e) with
      e = exp(-|l|) errs by EPS_F + 2U; 1 - x by U.
    - continuous Bernoulli logits (x - 1/2) - L/2: x - 1/2 by U |x - 1/2| (x < 1/4), L by 6U
      (series y N / (1 + s): six roundings; beyond: 1 + 2/expm1(2|y|) - 1/|y| >= 0.66, its
      roundings and 2/expm1's EPS_F + 2U on a term <= 0.005 stay under 6U of L).
    - continuous Bernoulli probs: that score, with l = logit(lambda) off by dl = U |l|
      (+ EPS_F (|log lambda| + |log(1-lambda)|) for |1 - 2 lambda| > 1/2), which moves L(l/2)/2
      by at most dl/12 (L' <= 1/3); divided by lambda (1-lambda): 1 - lambda and the product
      round, 2U |g|.
    - Gaussian / Laplace: fixed, pair arithmetic (TINY); learned, the weight's EPS_WEIGHT.
    """
    with mpmath.workprec(PRECISION):
        x, recon = mpmath.mpf(x), mpmath.mpf(recon)
        exact = abs(gradient(family, x, recon, scale if log_scale is None
                             else mpmath.exp(mpmath.mpf(log_scale))))
        if family in ("gaussian", "laplace"):
            return (EPS_WEIGHT if log_scale is not None else 0) * exact + TINY * exact
        if family == "bernoulli-probs":
            return 3 * U * exact * (1 + 4 * U)
        if family == "bernoulli-logits":
            tail = 1 / (1 + mpmath.exp(abs(recon)))
            return (EPS_F + 2 * U) * tail + U
        half = mpmath.mpf(1) / 2
        if family == "continuous-bernoulli-logits":
            return U * abs(x - half) + 3 * U * abs(_coth_minus_reciprocal(recon / 2))
        lam = recon
        logit = mpmath.log(lam) - mpmath.log(1 - lam)
        dl = U * abs(logit)
        if abs(1 - 2 * lam) > half:
            dl += EPS_F * (abs(mpmath.log(lam)) + abs(mpmath.log(1 - lam)))
        coth = _coth_minus_reciprocal(logit / 2)
        score = U * abs(x - half) + 3 * U * abs(coth) + dl / 12
        return score / (lam * (1 - lam)) * (1 + 3 * U) + 2 * U * exact


def scale_gradient_bound(family, x, recon, log_scale):
    """Error allowed on top of the final rounding for the dec_logvar / dec_logscale
    derivative: the weight's EPS_WEIGHT times the term, pair arithmetic elsewhere."""
    with mpmath.workprec(PRECISION):
        d = abs(mpmath.mpf(x) - mpmath.mpf(recon))
        weight = mpmath.exp(-mpmath.mpf(log_scale))
        term = d * d * weight / 2 if family == "gaussian" else d * weight
        return (EPS_WEIGHT + TINY) * term + TINY
