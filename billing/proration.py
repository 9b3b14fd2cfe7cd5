"""Prorate recurring amounts over part of a billing period.

Time is measured exactly (to the microsecond the datetimes carry, so at least to the
second). Each line's amount is worked out in Decimal and rounded once, half-up, to the
fen; credits are negative and round as the mirror image of charges.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from enum import StrEnum

from billing.periods import Period, require_aware
from catalog.pricing import EXACT_DIGITS, round_fen


class ProrationKey(StrEnum):
    """What a proration line is for; a stable code that invoices translate for display."""

    UNUSED_TIME = "unused_time"  # credit for the rest of the old plan
    REMAINING_TIME = "remaining_time"  # charge for the rest on the new plan
    SEATS_ADDED = "seats_added"
    SEATS_REMOVED = "seats_removed"


@dataclass(frozen=True)
class ProrationLine:
    """One proration line: a charge (positive) or credit (negative) over [start, end)."""

    description_key: ProrationKey
    amount_fen: int
    start: datetime
    end: datetime
    quantity: int


def _microseconds(delta: timedelta) -> int:
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def prorate(amount_fen: int, period: Period, start: datetime, end: datetime) -> int:
    """Return the share of a period's amount for [start, end), clipped to the period."""
    require_aware("start", start)
    require_aware("end", end)
    part = _microseconds(min(end, period.end) - max(start, period.start))
    if part <= 0:
        return 0
    whole = _microseconds(period.duration)
    with localcontext(prec=EXACT_DIGITS):
        return round_fen(Decimal(amount_fen * part) / Decimal(whole))


def _within(period: Period, at: datetime) -> datetime:
    require_aware("at", at)
    if not period.start <= at <= period.end:
        raise ValueError("at must fall within the billing period")
    return at.astimezone(UTC)


def _require_non_negative(name: str, value: int) -> None:
    if value < 0:
        raise ValueError(f"{name} must not be negative")


def plan_change_lines(
    old_period_fen: int, new_period_fen: int, period: Period, at: datetime
) -> tuple[ProrationLine, ProrationLine]:
    """Credit the old plan's unused time and charge the new plan's, from at to period end."""
    _require_non_negative("old_period_fen", old_period_fen)
    _require_non_negative("new_period_fen", new_period_fen)
    at = _within(period, at)
    credit = -prorate(old_period_fen, period, at, period.end)
    charge = prorate(new_period_fen, period, at, period.end)
    return (
        ProrationLine(ProrationKey.UNUSED_TIME, credit, at, period.end, 1),
        ProrationLine(ProrationKey.REMAINING_TIME, charge, at, period.end, 1),
    )


def seat_change_line(
    unit_fen: int, old_seats: int, new_seats: int, period: Period, at: datetime
) -> ProrationLine:
    """Charge added seats, or credit removed ones, from at to the end of the period."""
    _require_non_negative("unit_fen", unit_fen)
    _require_non_negative("old_seats", old_seats)
    _require_non_negative("new_seats", new_seats)
    if old_seats == new_seats:
        raise ValueError("new_seats must differ from old_seats")
    at = _within(period, at)
    added = new_seats - old_seats
    key = ProrationKey.SEATS_ADDED if added > 0 else ProrationKey.SEATS_REMOVED
    amount = prorate(unit_fen * added, period, at, period.end)
    return ProrationLine(key, amount, at, period.end, abs(added))
