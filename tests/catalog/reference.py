"""A deliberately plain price calculator to check the real one against.

It walks usage one unit at a time and counts packages one by one, with exact fractions, so
it shares no arithmetic with catalog.pricing. Graduated and volume tiers need whole units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from fractions import Fraction

from catalog.pricing import FlatFee, MeteredPrice, PlanPrice, PriceModel, SeatFee, Tier


def round_half_up(amount: Fraction) -> int:
    """Round a non-negative exact amount to the nearest fen, halves up."""
    return math.floor(amount + Fraction(1, 2))


def _tier_of_unit(tiers: tuple[Tier, ...], unit: int) -> int:
    for index, tier in enumerate(tiers):
        if tier.up_to is None or unit <= tier.up_to:
            return index
    raise AssertionError("the last tier has no upper bound")


def graduated(tiers: tuple[Tier, ...], units: int) -> Fraction:
    """Price units one at a time, each in its tier, with each entered tier's flat fee."""
    amount = Fraction(0)
    entered: set[int] = set()
    for unit in range(1, units + 1):
        index = _tier_of_unit(tiers, unit)
        amount += tiers[index].unit_fen
        entered.add(index)
    return amount + sum(tiers[index].flat_fen for index in entered)


def volume(tiers: tuple[Tier, ...], units: int) -> Fraction:
    """Price every unit at the tier the last unit falls in, plus that tier's flat fee."""
    if units == 0:
        return Fraction(0)
    tier = tiers[_tier_of_unit(tiers, units)]
    return Fraction(units * tier.unit_fen + tier.flat_fen)


def packages(size: int, price_fen: int, billable: Fraction) -> Fraction:
    """Count packages one by one until they cover the usage."""
    count = 0
    while count * size < billable:
        count += 1
    return Fraction(count * price_fen)


def rate(price: MeteredPrice, quantity: Decimal) -> int:
    """Price a metered quantity the plain way."""
    billable = max(Fraction(quantity) - Fraction(price.included_quantity), Fraction(0))
    if price.model == PriceModel.PER_UNIT:
        return round_half_up(billable * (price.unit_fen or 0))
    if price.model == PriceModel.PACKAGE:
        return round_half_up(packages(price.package_size or 1, price.package_fen or 0, billable))
    assert billable.denominator == 1, "tiers are checked with whole units only"
    walk = graduated if price.model == PriceModel.GRADUATED else volume
    return round_half_up(walk(price.tiers, int(billable)))


def total(plan: PlanPrice, seats: int, usage: Mapping[str, Decimal]) -> int:
    """Add up a plan's components the plain way."""
    amount = 0
    for component in plan.components:
        if isinstance(component, FlatFee):
            amount += component.amount_fen
        elif isinstance(component, SeatFee):
            amount += seats * component.unit_fen
        else:
            amount += rate(component, usage.get(component.dimension, Decimal(0)))
    return amount
