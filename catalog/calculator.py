"""The storefront's price calculator: read a visitor's seats and usage, quote a plan."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext as _

from catalog.pricing import Quote, QuoteInputError, quote
from catalog.search import parse_quantity, parse_whole_number
from catalog.storefront import PlanOffer

USAGE_PREFIX = "usage-"


@dataclass(frozen=True)
class Dimension:
    """A metered dimension some plan of a listing charges for, with its unit's names."""

    key: str
    unit_name_zh: str
    unit_name_en: str

    @property
    def field_name(self) -> str:
        """Return the name of the calculator's input for this dimension."""
        return USAGE_PREFIX + self.key


@dataclass(frozen=True)
class Calculation:
    """What the visitor entered, what was wrong with it, and the quote when nothing was."""

    offer: PlanOffer | None
    values: dict[str, str]
    errors: dict[str, list[str]] = field(default_factory=dict)
    quote: Quote | None = None


def _unit_label(dimension: Dimension, language: str) -> str:
    if language == "en":
        return dimension.unit_name_en or dimension.unit_name_zh or dimension.key
    return dimension.unit_name_zh or dimension.key


def _seats(offer: PlanOffer, raw: str, errors: dict[str, list[str]]) -> int:
    if not raw.strip():
        return offer.fewest_seats
    seats = parse_whole_number(raw)
    if seats is None:
        errors["seats"] = [_("Seats: enter a whole number, such as 5.")]
        return 0
    seat = offer.seat_component
    if seat is not None and seats < (seat.min_seats or 0):
        errors["seats"] = [_("Seats: this plan sells at least %(n)d.", n=seat.min_seats or 0)]
    elif seat is not None and seat.max_seats is not None and seats > seat.max_seats:
        errors["seats"] = [_("Seats: this plan sells at most %(n)d.", n=seat.max_seats)]
    return seats


def _usage(
    values: Mapping[str, str], dimensions: Sequence[Dimension], language: str
) -> tuple[dict[str, Decimal], dict[str, list[str]]]:
    usage: dict[str, Decimal] = {}
    errors: dict[str, list[str]] = {}
    for dimension in dimensions:
        raw = values.get(dimension.field_name, "").strip()
        label = _unit_label(dimension, language)
        quantity = parse_quantity(raw) if raw else Decimal(0)
        if quantity is None:
            errors[dimension.field_name] = [_("%(unit)s: enter a number.", unit=label)]
        elif quantity < 0:
            errors[dimension.field_name] = [_("%(unit)s: must not be negative.", unit=label)]
        else:
            usage[dimension.key] = quantity
    return usage, errors


def calculate(
    offers: Sequence[PlanOffer],
    dimensions: Sequence[Dimension],
    values: Mapping[str, str],
    language: str,
) -> Calculation:
    """Quote the chosen plan at the entered seats and usage, or say which input is wrong."""
    entered = {key: str(value) for key, value in values.items()}
    offer = next((o for o in offers if o.plan.code == entered.get("plan")), None)
    if offer is None:
        return Calculation(None, entered, {"plan": [_("Plan: choose one of the plans listed.")]})
    errors: dict[str, list[str]] = {}
    seats = _seats(offer, entered.get("seats", ""), errors)
    usage, usage_errors = _usage(entered, dimensions, language)
    errors.update(usage_errors)
    if errors:
        return Calculation(offer, entered, errors)
    metered = {price.dimension for price in offer.price.metered}
    try:
        result = quote(offer.price, seats, {k: v for k, v in usage.items() if k in metered})
    except QuoteInputError as error:  # a bound the checks above did not foresee
        name = error.field if error.field == "seats" else USAGE_PREFIX + error.field
        return Calculation(offer, entered, {name: [f"{error.field}: {error.reason}"]})
    return Calculation(offer, entered, quote=result)
