"""Logarithmic constants as float64 expansions, from 60-digit decimal arithmetic (2^-196).

LN2, LOG_2PI = log(2 pi) and LOG_2PI_E = log(2 pi e) = log(2 pi) + 1 are three-part
expansions (to about 2^-160 relative); ``ln_pair`` gives two parts (2^-106) of the log of a
product, for constants that depend on a parameter such as a fixed decoder variance.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

from ._eft import float_expansion

PI = Decimal("3.14159265358979323846264338327950288419716939937510582097494")


def _ln(*factors) -> Decimal:
    """ln of a product of floats and Decimals, in 60-digit decimal arithmetic."""
    with localcontext() as context:
        context.prec = 60
        product = Decimal(1)
        for factor in factors:
            product *= Decimal(factor)
        return product.ln()


def ln_pair(*factors) -> tuple[float, float]:
    """ln(f_1 f_2 ...) as hi + lo (to 2^-106 relative)."""
    return float_expansion(_ln(*factors), 2)


LN2 = float_expansion(_ln(2), 3)
LOG_2PI = float_expansion(_ln(2, PI), 3)
LOG_2PI_E = float_expansion(Fraction(_ln(2, PI)) + 1, 3)  # Fraction: exact + 1
