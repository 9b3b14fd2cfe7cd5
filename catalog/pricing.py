"""Price a plan: flat fees, seats and metered usage, in integer fen.

Amounts are worked out in Decimal and rounded once per line, half-up, to the fen. A tier's
flat fee is charged only when some billable usage falls in that tier, so usage within the
included quantity costs nothing. Volume pricing is the one model where more usage can cost
less: crossing into a cheaper tier reprices every unit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from itertools import pairwise

ZERO = Decimal(0)
EXACT_DIGITS = 60


class ComponentKind(StrEnum):
    """What a price component charges for."""

    FLAT = "flat"
    SEAT = "seat"
    METERED = "metered"


class Aggregation(StrEnum):
    """How a period's usage records of one dimension become one quantity."""

    SUM = "sum"
    MAX = "max"
    UNIQUE = "unique"  # count of distinct values, e.g. active users


class PriceModel(StrEnum):
    """How a metered quantity is turned into money."""

    PER_UNIT = "per_unit"
    GRADUATED = "graduated"  # each unit at the price of the tier it falls in
    VOLUME = "volume"  # every unit at the price of the tier the total reaches
    PACKAGE = "package"  # whole packages, rounded up


class PriceStructureError(ValueError):
    """A price structure that cannot be rated; names the offending field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class QuoteInputError(ValueError):
    """Seats or usage a plan cannot be quoted for; names the offending field."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _require_non_negative(field: str, value: int | Decimal | None) -> None:
    if value is not None and value < 0:
        raise PriceStructureError(field, "must not be negative")


@dataclass(frozen=True)
class FlatFee:
    """A fixed fee each billing period."""

    amount_fen: int

    def __post_init__(self) -> None:
        _require_non_negative("amount_fen", self.amount_fen)


@dataclass(frozen=True)
class SeatFee:
    """A fee per seat, with the fewest and most seats the plan sells (None: no maximum)."""

    unit_fen: int
    min_seats: int = 1
    max_seats: int | None = None

    def __post_init__(self) -> None:
        _require_non_negative("unit_fen", self.unit_fen)
        _require_non_negative("min_seats", self.min_seats)
        if self.max_seats is not None and self.max_seats < self.min_seats:
            raise PriceStructureError("max_seats", "must not be below min_seats")


@dataclass(frozen=True)
class Tier:
    """A band of usage up to and including up_to (None: no upper bound)."""

    up_to: Decimal | None
    unit_fen: int = 0
    flat_fen: int = 0

    def __post_init__(self) -> None:
        if self.up_to is not None and self.up_to <= 0:
            raise PriceStructureError("up_to", "must be positive")
        _require_non_negative("unit_fen", self.unit_fen)
        _require_non_negative("flat_fen", self.flat_fen)


@dataclass(frozen=True)
class MeteredPrice:
    """The price of one usage dimension; which fields apply depends on the model."""

    dimension: str
    aggregation: Aggregation
    model: PriceModel
    unit_fen: int | None = None
    tiers: tuple[Tier, ...] = ()
    package_size: int | None = None
    package_fen: int | None = None
    included_quantity: Decimal = ZERO

    def __post_init__(self) -> None:
        if not self.dimension:
            raise PriceStructureError("dimension", "must not be empty")
        _require_non_negative("included_quantity", self.included_quantity)
        _require_non_negative("unit_fen", self.unit_fen)
        _require_non_negative("package_fen", self.package_fen)
        if self.model == PriceModel.PER_UNIT and self.unit_fen is None:
            raise PriceStructureError("unit_fen", "is required for per-unit pricing")
        if self.model == PriceModel.PACKAGE:
            _check_package(self.package_size, self.package_fen)
        if self.model in (PriceModel.GRADUATED, PriceModel.VOLUME):
            check_tiers(self.tiers)


def _check_package(size: int | None, amount_fen: int | None) -> None:
    if size is None or size <= 0:
        raise PriceStructureError("package_size", "must be a positive number of units")
    if amount_fen is None:
        raise PriceStructureError("package_fen", "is required for package pricing")


def check_tiers(tiers: tuple[Tier, ...]) -> None:
    """Refuse tiers that are empty, out of order, or do not end without an upper bound."""
    if not tiers:
        raise PriceStructureError("tiers", "at least one tier is required")
    bounds = [tier.up_to for tier in tiers]
    if bounds[-1] is not None:
        raise PriceStructureError("tiers", "the last tier must have no upper bound")
    finite = [bound for bound in bounds[:-1] if bound is not None]
    if len(finite) != len(bounds) - 1:
        raise PriceStructureError("tiers", "only the last tier may lack an upper bound")
    if any(lower >= upper for lower, upper in pairwise(finite)):
        raise PriceStructureError("tiers", "upper bounds must increase")


PriceComponent = FlatFee | SeatFee | MeteredPrice


@dataclass(frozen=True)
class PlanPrice:
    """Everything a plan charges for in one billing period."""

    components: tuple[PriceComponent, ...]

    def __post_init__(self) -> None:
        dimensions = [c.dimension for c in self.components if isinstance(c, MeteredPrice)]
        if len(dimensions) != len(set(dimensions)):
            raise PriceStructureError("dimension", "each dimension may be priced only once")

    @property
    def metered(self) -> tuple[MeteredPrice, ...]:
        """Return the metered components."""
        return tuple(c for c in self.components if isinstance(c, MeteredPrice))


@dataclass(frozen=True)
class QuoteLine:
    """One line of a quote: what it charges for, how much of it, and the amount."""

    kind: ComponentKind
    key: str  # "flat", "seats", or the metered dimension
    quantity: Decimal
    amount_fen: int


@dataclass(frozen=True)
class Quote:
    """A plan's price for one billing period at given seats and usage."""

    lines: tuple[QuoteLine, ...]
    total_fen: int


def round_fen(amount: Decimal) -> int:
    """Round an exact amount half-up to a whole fen."""
    return int(amount.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def aggregate(aggregation: Aggregation, records: Iterable[Decimal | int | str]) -> Decimal:
    """Reduce a period's usage records to one quantity (zero when there are none)."""
    values = list(records)
    if aggregation == Aggregation.UNIQUE:
        return Decimal(len(set(values)))
    amounts = [Decimal(value) for value in values]
    if aggregation == Aggregation.MAX:
        return max(amounts, default=ZERO)
    return sum(amounts, ZERO)


def billable_quantity(price: MeteredPrice, quantity: Decimal) -> Decimal:
    """Return the quantity left to charge after the included quantity, never below zero."""
    return max(quantity - price.included_quantity, ZERO)


def rate_metered(price: MeteredPrice, quantity: Decimal) -> int:
    """Price a period's aggregated quantity of one dimension, in fen."""
    _check_quantity(price.dimension, quantity)
    # Decimal's default 28 digits could round a large quantity times a price silently.
    with localcontext(prec=EXACT_DIGITS):
        return round_fen(exact_metered_amount(price, billable_quantity(price, quantity)))


def exact_metered_amount(price: MeteredPrice, billable: Decimal) -> Decimal:
    """Return the unrounded amount in fen for a billable quantity."""
    if billable == 0:
        return ZERO
    if price.model == PriceModel.PER_UNIT:
        return billable * (price.unit_fen or 0)
    if price.model == PriceModel.GRADUATED:
        return _graduated(price.tiers, billable)
    if price.model == PriceModel.VOLUME:
        return _volume(price.tiers, billable)
    return _packages(price, billable)


def _graduated(tiers: tuple[Tier, ...], billable: Decimal) -> Decimal:
    amount = ZERO
    lower = ZERO
    for tier in tiers:
        upper = billable if tier.up_to is None else min(billable, tier.up_to)
        if upper <= lower:
            break
        amount += (upper - lower) * tier.unit_fen + tier.flat_fen
        lower = upper
    return amount


def _volume(tiers: tuple[Tier, ...], billable: Decimal) -> Decimal:
    reached = next(t for t in tiers if t.up_to is None or billable <= t.up_to)
    return billable * reached.unit_fen + reached.flat_fen


def _packages(price: MeteredPrice, billable: Decimal) -> Decimal:
    size = Decimal(price.package_size or 1)
    packages = (billable / size).to_integral_value(rounding=ROUND_CEILING)
    return packages * (price.package_fen or 0)


def check_seats(plan: PlanPrice, seats: int) -> None:
    """Refuse a seat count outside the bounds of any seat fee of the plan."""
    if seats < 0:
        raise QuoteInputError("seats", "must not be negative")
    for component in plan.components:
        if not isinstance(component, SeatFee):
            continue
        if seats < component.min_seats:
            raise QuoteInputError("seats", f"must be at least {component.min_seats}")
        if component.max_seats is not None and seats > component.max_seats:
            raise QuoteInputError("seats", f"must be at most {component.max_seats}")


def _check_usage(plan: PlanPrice, usage: Mapping[str, Decimal]) -> None:
    known = {price.dimension for price in plan.metered}
    for dimension, quantity in usage.items():
        if dimension not in known:
            raise QuoteInputError(dimension, "is not metered by this plan")
        _check_quantity(dimension, quantity)


def _check_quantity(dimension: str, quantity: Decimal) -> None:
    if not quantity.is_finite():
        raise QuoteInputError(dimension, "usage must be a finite number")
    if quantity < 0:
        raise QuoteInputError(dimension, "usage must not be negative")


def quote_line(component: PriceComponent, seats: int, usage: Mapping[str, Decimal]) -> QuoteLine:
    """Price one component at the given seats and usage."""
    if isinstance(component, FlatFee):
        return QuoteLine(ComponentKind.FLAT, "flat", Decimal(1), component.amount_fen)
    if isinstance(component, SeatFee):
        amount = seats * component.unit_fen
        return QuoteLine(ComponentKind.SEAT, "seats", Decimal(seats), amount)
    quantity = usage.get(component.dimension, ZERO)
    amount = rate_metered(component, quantity)
    return QuoteLine(ComponentKind.METERED, component.dimension, quantity, amount)


def quote(plan: PlanPrice, seats: int = 0, usage: Mapping[str, Decimal] | None = None) -> Quote:
    """Price a plan for one billing period; raise QuoteInputError naming a bad input."""
    usage = usage or {}
    check_seats(plan, seats)
    _check_usage(plan, usage)
    lines = tuple(quote_line(component, seats, usage) for component in plan.components)
    return Quote(lines, sum(line.amount_fen for line in lines))
