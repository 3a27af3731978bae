r"""Gaussian KL divergences, log-density and entropy, accurate to the last bit in float64.

Formulas (per element; sigma^2 from the posterior's parameterization, x = logvar):

    KL(N(mu, sigma^2) || N(0, 1))      = 1/2 [ mu^2 + (sigma^2 - 1 - log sigma^2) ]
    KL(N(mq, e^lq) || N(mp, e^lp))      = 1/2 [ (mq - mp)^2 e^-lp + (e^y - 1 - y) ],  y = lq - lp
    log N(x; mu, e^lv)                 = -1/2 [ log 2 pi + lv + (x - mu)^2 e^-lv ]
    H(N(mu, e^lv))                     = 1/2 [ log 2 pi e + lv ]

Both KL brackets are sums of two non-negative terms, so the only cancellation is inside
e^y - 1 - y = y^2/2 + y^3/6 + ... (and its twins v - 1 - log v, s^2 - 1 - log s^2): the spec
evaluates it by a series where it is small and by exact double-double pieces elsewhere.

How. Every value is assembled as 2^E (p_1 + ... + p_n) (``_scaled``): float64 pieces whose sum
is the value to about 2^-100 relative, and an integer exponent E kept apart, so mu^2 for
mu = 1e200 or e^lv for lv = 710 never overflows, and x^2 for x = 1e-200 never underflows,
before the one final rounding. Squares are exact (Dekker's product, ``_eft``), exponentials and
logarithms are double-double (``_exp_log``: argument reduction with a three-part ln 2 and a
Taylor series), and the pieces are added by a compensated sum (element-wise) or by
``math.fsum`` (per example). Hence:

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

The functions live in ``_kl_diagonal``, ``_kl_full``, ``_log_density`` and ``_posterior``; this
module gathers them.
"""

from __future__ import annotations

from ._kl_diagonal import (
    kl_diagonal,
    kl_diagonal_elementwise,
    kl_diagonal_grad,
    kl_diagonal_magnitude,
    kl_standard_normal,
    kl_standard_normal_elementwise,
    kl_standard_normal_grad,
    kl_standard_normal_magnitude,
)
from ._kl_full import kl_full
from ._log_density import (
    gaussian_entropy,
    gaussian_entropy_elementwise,
    gaussian_log_density,
    gaussian_log_density_elementwise,
)
from ._posterior import POSTERIORS, scale_to_logvar

__all__ = [
    "POSTERIORS", "gaussian_entropy", "gaussian_entropy_elementwise", "gaussian_log_density",
    "gaussian_log_density_elementwise", "kl_diagonal", "kl_diagonal_elementwise",
    "kl_diagonal_grad", "kl_diagonal_magnitude", "kl_full", "kl_standard_normal",
    "kl_standard_normal_elementwise", "kl_standard_normal_grad", "kl_standard_normal_magnitude",
    "scale_to_logvar",
]
