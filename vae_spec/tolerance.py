r"""Error bounds for a correct implementation, derived from the dtype's unit roundoff.

Setting. A checked output is y = sum_i t_i: a reduction (over data, latent and batch axes)
of n element terms t_i, each an elementary expression of the case inputs (mu^2, exp(logvar),
x * log(p), ...). The inputs are exactly representable in the case dtype: cases are rounded to
it before the spec sees them, so input rounding is never counted as error.

Bound. In a dtype with unit roundoff u (2^-53, 2^-24, 2^-11, 2^-8 for float64, float32,
float16, bfloat16), a correct implementation computes

* each summand of an element term with relative error at most c_f u, where c_f covers the
  elementary function itself (exp, log, log1p, softplus, tanh: e ulp, so 2e u, with e = 4 in
  the libraries the frameworks use) and the few arithmetic operations around it (1 u each, at
  most 4): c_f = 2e + 4 = 12. A library known to be less accurate declares its own e through
  its adapter (``Adapter.elementary_ulps``): XLA's float64 log1p errs by up to 128 ulp on
  [-0.4142, -0.3585] (jax 0.10, measured against mpmath on 4001 points), so jax float64 uses
  e = 128;
* the sum of those summands and of the n element terms with an error at most
  ceil(log2 n) u sum|t| for pairwise or tree reductions (numpy, torch, XLA and TensorFlow all
  reduce that way; Higham, Accuracy and Stability of Numerical Algorithms, sec. 4.2);
* the final divisions and products (mean over axes, beta, scale) with 1 u each: c_r = 4.

Adding these, with M = sum |summands of the textbook formula| (the spec's ``*_magnitude``
functions, reduced the same way as the value), gives

    |y_hat - y| <= (c_f + c_r + ceil(log2 n)) u M + O(u^2).

Any algebraically equivalent correct form (expm1 instead of exp - 1, log-std instead of
log-variance inside the function) rearranges the same summands, so its error obeys the same
bound. We take kappa = 2 (c_f + c_r) + 4 ceil(log2 n) = 32 + 4 ceil(log2 n): the factor 2 covers
the O(u^2) terms, fused kernels that reorder operations, and sequential (non-pairwise) partial
sums inside blocked reductions. Underflow adds an absolute error of at most ``tiny`` per
operation, so the bound gains kappa * n * tiny. With gradual underflow tiny is the smallest
subnormal; but TensorFlow and XLA (jax) run their CPU kernels with flush-to-zero and
denormals-are-zero set, as CUDA code built with -ftz does, so a result or input below the
smallest normal number becomes 0: tiny is the smallest normal for float32, float64 and
bfloat16 (computed in float32). float16 keeps its subnormals (it is computed in float32, where
they are normal numbers, and rounded back), so its tiny stays the smallest subnormal. Measured:
tf.constant(2e-38) * 0.5 is 0 in TensorFlow 2.21 and jax 0.10 on x86 CPUs.

Composite forms and low precision. The bound counts one elementary function per summand. A
correct loss may chain several: ``log(-expm1(log_sigmoid(l)))`` for log(1 - sigmoid(l)) chains
three, and its derivative by autodiff as many again, each adding its own c_f u relative error
to the summand, so a chain of L functions errs by up to L c_f u instead of c_f u. The checks
therefore judge a low-precision result (float32 and below) in two steps. The same function
is called in float64 on the same (already rounded) inputs: that result, judged against the
spec under the float64 bound, is where a wrong formula, a detach or a clamp shows, as an error
that is a fixed fraction of the term. The low-precision result is then compared with the
function's own float64 result, which removes every error but rounding, under
``COMPOSITE_CHAIN`` = 4 times the bound (chains of up to four elementary functions per
summand). Beyond that, the excess is the rounding of this expression in this dtype: a
``precision`` warning, never a formula error. Where the function does not run in float64,
the low-precision result is compared with the spec under the same 4x bound.

A float64 result that errs beyond the float64 bound but within the float32 bound is computed
partly in float32 (a float32 constant such as ``np.float32(0.5 * np.log(2 * np.pi))``, an
intermediate cast): a ``precision`` warning. A wrong formula errs by a fixed fraction of the
term, and the strategies make the term large against the float32 bound in the typical
regime, so a wrong formula still fails there as an error.

Power. The case strategies draw inputs where the checked term is large compared with
kappa u M (logvar and mu away from 0, probabilities away from 1/2), so a wrong formula,
whose error is a fixed fraction of the term, cannot hide under the bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

UNIT_ROUNDOFF = {
    "float64": 2.0**-53,
    "float32": 2.0**-24,
    "float16": 2.0**-11,
    "bfloat16": 2.0**-8,
}

#: the absolute error one operation may make near zero (tiny in the module docstring): the
#: smallest normal number where platforms flush subnormals to zero, float16's smallest subnormal
UNDERFLOW = {
    "float64": 2.0**-1022,
    "float32": 2.0**-126,
    "float16": 2.0**-24,
    "bfloat16": 2.0**-126,
}

#: the smallest normal number per dtype (inputs below it are flushed to 0 before a call)
SMALLEST_NORMAL = {
    "float64": 2.0**-1022,
    "float32": 2.0**-126,
    "float16": 2.0**-14,
    "bfloat16": 2.0**-126,
}

#: largest finite value per dtype
LARGEST = {
    "float64": float(np.finfo(np.float64).max),
    "float32": float(np.finfo(np.float32).max),
    "float16": float(np.finfo(np.float16).max),
    "bfloat16": 3.3895313892515355e38,
}

#: chains of elementary functions per summand a correct composite form may use (module docstring)
COMPOSITE_CHAIN = 4
#: the precision a float64 result that misses its bound is still judged at (module docstring)
NEXT_PRECISION = {"float64": "float32"}

ELEMENTARY_ULPS = 4  # e: the error of exp, log, log1p, ... in the frameworks' libraries, in ulp
ARITHMETIC_OPS = 4  # the operations around each elementary function, 1 u each
FINAL_OPS = 4  # c_r: mean divisions, beta and scale, in u


def kappa(n_summands: int, elementary_ulps: float = ELEMENTARY_ULPS) -> float:
    """kappa = 2 (c_f + c_r) + 4 ceil(log2 n), c_f = 2 e + 4: the multiple of u * M a correct result stays within."""
    n = max(int(n_summands), 1)
    element_ops = 2 * elementary_ulps + ARITHMETIC_OPS
    return 2 * (element_ops + FINAL_OPS) + 4 * math.ceil(math.log2(n))


def bound(magnitude, dtype: str, n_summands: int, elementary_ulps: float = ELEMENTARY_ULPS) -> np.ndarray:
    """The error bound kappa u M + kappa n tiny for outputs with magnitude M (array or scalar)."""
    k = kappa(n_summands, elementary_ulps)
    return k * UNIT_ROUNDOFF[dtype] * np.abs(np.asarray(magnitude, dtype=np.float64)) + (
        k * max(n_summands, 1) * UNDERFLOW[dtype]
    )


def representable(value, dtype: str) -> np.ndarray:
    """Whether a float64 value is finite in ``dtype`` (with one rounding of headroom)."""
    value = np.asarray(value, dtype=np.float64)
    return np.isfinite(value) & (np.abs(value) <= LARGEST[dtype] * (1 - UNIT_ROUNDOFF[dtype]))


@dataclass(frozen=True)
class Comparison:
    """An output compared with the spec: largest error, its bound, margin = error / bound."""

    error: float
    bound: float
    margin: float
    index: tuple[int, ...] | None = None

    @property
    def passed(self) -> bool:
        return self.margin <= 1.0


def compare(actual, expected, magnitude, dtype: str, n_summands: int,
            elementary_ulps: float = ELEMENTARY_ULPS) -> Comparison:
    """Compare element-wise; report the element with the largest margin.

    Non-finite values in ``actual`` where ``expected`` is finite count as an infinite margin;
    both infinite with the same sign count as equal.
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    limits = np.broadcast_to(bound(magnitude, dtype, n_summands, elementary_ulps), expected.shape)
    with np.errstate(invalid="ignore", over="ignore"):
        same_infinity = np.isinf(expected) & (actual == expected)
        error = np.where(same_infinity, 0.0, np.abs(actual - expected))
    error = np.where(np.isnan(error), np.inf, error)
    with np.errstate(divide="ignore", invalid="ignore"):
        margins = np.where(error == 0, 0.0, error / limits)
    flat = int(np.argmax(margins)) if margins.size else 0
    located = margins.size and margins.ndim  # no index for a scalar or an empty array
    index = tuple(int(i) for i in np.unravel_index(flat, margins.shape)) if located else None
    return Comparison(
        error=float(error.reshape(-1)[flat]) if error.size else 0.0,
        bound=float(limits.reshape(-1)[flat]) if limits.size else 0.0,
        margin=float(margins.reshape(-1)[flat]) if margins.size else 0.0,
        index=index,
    )
