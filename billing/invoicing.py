"""Build the lines of the invoice at a period boundary, and add them up.

Pure: the period close hands in plain values (the plan's price, seats, pending charges,
aggregated usage) and gets line values back, so every amount here can be checked without a
database. The invoice at boundary B bills the period that starts at B in advance (flat fees
and seats) and the period that ended at B in arrears (usage), plus every pending charge (a
proration) made before B. Every amount includes VAT; each line's VAT is split out with
billing.tax.split_inclusive, so the tax of an invoice is the sum of its lines' tax.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache

from billing.charges import flat_fen, seat_unit_fen, sells_seats
from billing.periods import Period
from billing.tax import DEFAULT_VAT_RATE, split_inclusive
from catalog.pricing import ZERO, Aggregation, FlatFee, MeteredPrice, PlanPrice, rate_metered


class LineKind(StrEnum):
    """What an invoice line charges for; the same values as billing.models.LineKind."""

    RECURRING = "recurring"
    SEATS = "seats"
    USAGE = "usage"
    PRORATION = "proration"
    SUBSIDY = "subsidy"


# Description keys of the lines this module makes; prorations keep their charge's own key.
RECURRING_KEY = "recurring_fee"
SEATS_KEY = "seats"
USAGE_KEY = "usage"
# A period's usage before an upgrade, billed at the change on the plan it was used under.
USAGE_BEFORE_CHANGE = "usage_before_change"


@dataclass(frozen=True)
class LineValues:
    """One invoice line: a tax-inclusive amount in fen and the VAT inside it."""

    kind: LineKind
    description_key: str
    quantity: Decimal
    amount_fen: int
    tax_fen: int
    dimension: str | None = None
    period_start: datetime | None = None
    period_end: datetime | None = None
    plan_id: int | None = None
    subsidy_program_id: int | None = None


@dataclass(frozen=True)
class PendingChargeInput:
    """A charge or credit waiting for the next invoice, e.g. the proration of an upgrade."""

    description_key: str
    quantity: Decimal
    amount_fen: int
    period_start: datetime | None = None
    period_end: datetime | None = None
    plan_id: int | None = None
    dimension: str | None = None


@dataclass(frozen=True)
class UsageTotals:
    """One dimension's usage records in a period, reduced the three ways a plan may ask for."""

    total: Decimal = ZERO
    peak: Decimal = ZERO
    distinct: int = 0

    def quantity(self, aggregation: Aggregation) -> Decimal:
        """Return the quantity a dimension with this aggregation is rated on."""
        if aggregation == Aggregation.SUM:
            return self.total
        if aggregation == Aggregation.MAX:
            return self.peak
        return Decimal(self.distinct)


@dataclass(frozen=True)
class AdvanceFees:
    """What the period that starts at the boundary charges up front."""

    price: PlanPrice
    seats: int
    period: Period
    plan_id: int | None = None


@dataclass(frozen=True)
class UsageCharges:
    """The metered part of the plan in force during the period that ended at the boundary."""

    price: PlanPrice
    period: Period
    usage: Mapping[str, UsageTotals] = field(default_factory=dict)
    plan_id: int | None = None


@dataclass(frozen=True)
class BoundaryInputs:
    """Everything the invoice at one boundary is made of.

    advance is None when nothing is billed up front (a trial, a suspension, a final
    invoice); usage is None when the period that ended owes no usage (a first invoice, a
    trial).
    """

    advance: AdvanceFees | None = None
    usage: UsageCharges | None = None
    charges: Sequence[PendingChargeInput] = ()
    vat_rate: Decimal = DEFAULT_VAT_RATE


@dataclass(frozen=True)
class Totals:
    """An invoice's sums: amount_due never goes below zero; the rest is carried as a credit."""

    subtotal_fen: int
    tax_fen: int
    total_fen: int
    amount_due_fen: int
    carried_credit_fen: int


@lru_cache(maxsize=4096)
def vat_in(amount_fen: int, vat_rate: Decimal) -> int:
    """Return the VAT inside a tax-inclusive amount (cached: a close repeats a few amounts)."""
    return split_inclusive(amount_fen, vat_rate).tax_fen


def line(
    kind: LineKind,
    description_key: str,
    quantity: Decimal,
    amount_fen: int,
    vat_rate: Decimal,
    *,
    dimension: str | None = None,
    period: Period | None = None,
    plan_id: int | None = None,
) -> LineValues:
    """Return a line with the VAT of its tax-inclusive amount split out."""
    return LineValues(
        kind,
        description_key,
        quantity,
        amount_fen,
        vat_in(amount_fen, vat_rate),
        dimension=dimension,
        period_start=period.start if period else None,
        period_end=period.end if period else None,
        plan_id=plan_id,
    )


def advance_lines(fees: AdvanceFees, vat_rate: Decimal) -> list[LineValues]:
    """Return the recurring-fee line and the seats line of a period billed in advance."""
    lines = []
    if any(isinstance(c, FlatFee) for c in fees.price.components):
        lines.append(
            line(
                LineKind.RECURRING,
                RECURRING_KEY,
                Decimal(1),
                flat_fen(fees.price),
                vat_rate,
                period=fees.period,
                plan_id=fees.plan_id,
            )
        )
    if sells_seats(fees.price):
        lines.append(
            line(
                LineKind.SEATS,
                SEATS_KEY,
                Decimal(fees.seats),
                fees.seats * seat_unit_fen(fees.price),
                vat_rate,
                period=fees.period,
                plan_id=fees.plan_id,
            )
        )
    return lines


def charge_lines(charges: Iterable[PendingChargeInput], vat_rate: Decimal) -> list[LineValues]:
    """Return one proration line per pending charge, each under its own description key."""
    return [
        LineValues(
            LineKind.PRORATION,
            charge.description_key,
            charge.quantity,
            charge.amount_fen,
            vat_in(charge.amount_fen, vat_rate),
            dimension=charge.dimension,
            period_start=charge.period_start,
            period_end=charge.period_end,
            plan_id=charge.plan_id,
        )
        for charge in charges
    ]


def usage_line(
    price: MeteredPrice,
    totals: UsageTotals,
    period: Period,
    vat_rate: Decimal,
    plan_id: int | None = None,
) -> LineValues:
    """Rate one dimension's usage in a period with catalog.pricing, as one line."""
    quantity = totals.quantity(price.aggregation)
    return line(
        LineKind.USAGE,
        USAGE_KEY,
        quantity,
        rate_metered(price, quantity),
        vat_rate,
        dimension=price.dimension,
        period=period,
        plan_id=plan_id,
    )


def usage_lines(charges: UsageCharges, vat_rate: Decimal) -> list[LineValues]:
    """Return one usage line per metered dimension of the plan, zero when nothing was used."""
    return [
        usage_line(
            price,
            charges.usage.get(price.dimension, UsageTotals()),
            charges.period,
            vat_rate,
            charges.plan_id,
        )
        for price in charges.price.metered
    ]


def boundary_lines(inputs: BoundaryInputs) -> list[LineValues]:
    """Return the lines of a boundary invoice: advance fees, prorations, then usage."""
    lines: list[LineValues] = []
    if inputs.advance is not None:
        lines += advance_lines(inputs.advance, inputs.vat_rate)
    lines += charge_lines(inputs.charges, inputs.vat_rate)
    if inputs.usage is not None:
        lines += usage_lines(inputs.usage, inputs.vat_rate)
    return lines


def totals(lines: Iterable[LineValues]) -> Totals:
    """Add lines up: subtotal before subsidies, total after, and what the firm owes."""
    values = list(lines)
    subtotal = sum(v.amount_fen for v in values if v.kind != LineKind.SUBSIDY)
    total = sum(v.amount_fen for v in values)
    tax = sum(v.tax_fen for v in values)
    # A credit larger than the charges is not paid out here: the next invoice takes it.
    return Totals(subtotal, tax, total, max(total, 0), min(total, 0))
