r"""KL divergence between full-covariance Gaussians given by Cholesky factors."""

from __future__ import annotations

import numpy as np

from . import _validate
from ._posterior import std_ratio_divergence
from ._scaled import per_example, square


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
    mu_q = _validate.finite_batched("mu_q", mu_q)
    if mu_q.ndim != 2:
        raise ValueError(f"mu_q: expected shape (batch, k), got {mu_q.shape}")
    batch, k = mu_q.shape
    tril_q = _tril("tril_q", tril_q, (batch, k, k))
    mu_p = (np.zeros_like(mu_q) if mu_p is None
            else _validate.finite_broadcast("mu_p", mu_p, mu_q.shape))
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
        diagonal = std_ratio_divergence(np.diagonal(tril_q, axis1=1, axis2=2),
                                        np.diagonal(tril_p, axis1=1, axis2=2))
        return per_example(*(term.times_power_of_two(-1) for term in (
            square(off_diagonal), square(whitened_mean), diagonal)))
