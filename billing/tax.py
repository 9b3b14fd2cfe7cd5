"""Split tax-inclusive amounts into net and VAT (增值税).

Prices on the marketplace include VAT. The tax in a gross amount is
gross × rate / (1 + rate), rounded once, half-up, to the fen; the net is what is left, so
net + tax always equals the gross exactly. Credits (negative amounts) split as the mirror
image of charges.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import NamedTuple

from catalog.pricing import EXACT_DIGITS, round_fen

# 增值税 on information technology services for general taxpayers.
DEFAULT_VAT_RATE = Decimal("0.06")


class TaxSplit(NamedTuple):
    """A gross amount split into its net and its VAT, in fen."""

    net_fen: int
    tax_fen: int


def check_rate(rate: Decimal) -> None:
    """Refuse a VAT rate that is not a Decimal in [0, 1)."""
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise ValueError("rate must be a finite Decimal")
    if not Decimal(0) <= rate < Decimal(1):
        raise ValueError("rate must be at least 0 and below 1")


def split_inclusive(gross_fen: int, rate: Decimal = DEFAULT_VAT_RATE) -> TaxSplit:
    """Split a tax-inclusive amount into (net_fen, tax_fen) that add up to it."""
    check_rate(rate)
    with localcontext(prec=EXACT_DIGITS):
        tax = round_fen(Decimal(gross_fen) * rate / (1 + rate))
    return TaxSplit(gross_fen - tax, tax)
