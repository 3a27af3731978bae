"""Scaled values: 2^E (p_1 + ... + p_n), float64 pieces and an integer exponent kept apart.

The pieces' sum is the value to about 2^-100 relative and stays near 1 in size, so mu^2 for
mu = 1e200 or e^lv for lv = 710 never overflows, and x^2 for x = 1e-200 never underflows,
before the one final rounding (``value``, or ``per_example`` for a per-example sum).
"""

from __future__ import annotations

import functools

import numpy as np

from ._eft import dd_div, dd_mul, dd_sum, two_product
from ._summation import example_sum

# Exponent of an exactly zero value: far below every other exponent the spec forms.
_ZERO_EXPONENT = -(1 << 14)


def _binary_exponent(x):
    """E with x = m 2^E, 1/2 <= |m| < 1; _ZERO_EXPONENT for x == 0."""
    mantissa, exponent = np.frexp(x)
    return np.where(mantissa == 0, np.int32(_ZERO_EXPONENT), exponent)


class Scaled:
    """The value 2^exponent * (sum of pieces), element-wise, held without rounding the sum.

    Pieces are float64 arrays (or numbers) and exponent an int32 array, all broadcasting to
    the element shape. Exponents stay far inside int32: frexp's are within +-1074, the
    exponentials' argument reductions' within +-7214, _ZERO_EXPONENT is -2^14, and at most a
    few are added.
    """

    __slots__ = ("pieces", "exponent")

    def __init__(self, pieces, exponent):
        self.pieces = list(pieces)
        self.exponent = np.asarray(exponent, dtype=np.int32)

    @classmethod
    def exact(cls, *values):
        """The exact sum of float64 values, scaled so that every piece is below 1."""
        exponent = functools.reduce(np.maximum, (_binary_exponent(v) for v in values))
        return cls([np.ldexp(v, -exponent) for v in values], exponent)

    @property
    def shape(self):
        return np.broadcast_shapes(self.exponent.shape, *(np.shape(p) for p in self.pieces))

    def __add__(self, other):
        """Exact: the pieces of both, brought to the larger exponent (the smaller operand's
        bits below 2^-1074 of that scale are lost)."""
        exponent = np.maximum(self.exponent, other.exponent)
        return Scaled(
            [np.ldexp(p, self.exponent - exponent) for p in self.pieces]
            + [np.ldexp(p, other.exponent - exponent) for p in other.pieces],
            exponent,
        )

    def __neg__(self):
        return Scaled([-p for p in self.pieces], self.exponent)

    def __mul__(self, other):
        """Double-double product of the pieces' sums (dd_mul); exponents add."""
        return Scaled(dd_mul(self.double_double(), other.double_double()),
                      self.exponent + other.exponent)

    def divided_by(self, divisor):
        """self / divisor for a float64 divisor (dd_div by its mantissa)."""
        mantissa, exponent = np.frexp(divisor)
        return Scaled(dd_div(self.double_double(), mantissa), self.exponent - exponent)

    def times_power_of_two(self, n):
        """2^n self, exactly."""
        return Scaled(self.pieces, self.exponent + n)

    def absolute(self):
        """|self|: every piece takes the sign of the rounded value."""
        sign = np.where(self.value() < 0, -1.0, 1.0)
        return Scaled([sign * p for p in self.pieces], self.exponent)

    def double_double(self):
        """The pieces' sum (not scaled) as hi + lo (dd_sum)."""
        return dd_sum(self.pieces)

    def value(self):
        """The value rounded to float64 (+-inf beyond its range)."""
        return np.ldexp(self.double_double()[0], self.exponent)

    def pair(self):
        """The value as an unevaluated float64 pair hi + lo (lo = 0 where hi overflows)."""
        hi, lo = self.double_double()
        hi = np.ldexp(hi, self.exponent)
        return hi, np.where(np.isfinite(hi), np.ldexp(lo, self.exponent), 0.0)


def select_pieces(condition, a, b):
    """Piece lists a where ``condition`` holds, b elsewhere (the shorter padded with zeros)."""
    n = max(len(a), len(b))
    return [np.where(condition, p, q)
            for p, q in zip(a + [0.0] * (n - len(a)), b + [0.0] * (n - len(b)))]


def select(condition, a, b):
    """Scaled a where ``condition`` holds, b elsewhere."""
    return Scaled(select_pieces(condition, a.pieces, b.pieces),
                  np.where(condition, a.exponent, b.exponent))


def square(hi, lo=0.0):
    """(hi + lo)^2 for a double-double (|lo| <= ulp(hi)), from the mantissa m of hi:
    m^2 exactly (two_product) + 2 m lo'; lo'^2 (2^-106 relative) is dropped."""
    mantissa, exponent = np.frexp(hi)
    mantissa_lo = np.ldexp(lo, -exponent)
    p_hi, p_lo = two_product(mantissa, mantissa)
    return Scaled([p_hi, p_lo, 2.0 * mantissa * mantissa_lo],
                  np.where(mantissa == 0, np.int32(_ZERO_EXPONENT), 2 * exponent))


def per_example(*terms):
    """Per-example sum of scaled terms over every axis but the first, rounded once.

    Each row is brought to its largest exponent (pieces of much smaller elements may lose
    bits below 2^-1074 of that scale) and added by ``math.fsum``.
    """
    shapes = [t.shape for t in terms]
    batch = shapes[0][0]
    exponents = [np.broadcast_to(t.exponent, s).reshape(batch, -1) for t, s in zip(terms, shapes)]
    row = np.max(np.concatenate(exponents, axis=1), axis=1, initial=_ZERO_EXPONENT)
    parts = []
    for term, shape, exponent in zip(terms, shapes, exponents):
        shift = exponent - row[:, None]
        parts += [np.ldexp(np.broadcast_to(p, shape).reshape(batch, -1), shift)
                  for p in term.pieces]
    return np.ldexp(example_sum(*parts), row)
