"""A vendor's monthly statement: what it billed, the marketplace's commission, what it nets.

Pure: the statement service feeds it the month's finalized invoices and credit notes.
Amounts are VAT-inclusive fen before any park subsidy — the vendor is owed the whole price,
part of it by the firm and part by the park.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from billing.periods import TimeZone, as_zone
from catalog.pricing import round_fen

# Months a statement may be asked for: the month after the last one must still be a date.
FIRST_YEAR, LAST_YEAR = 2000, 9998
_MONTH = re.compile(r"(?P<year>[0-9]{4})-(?P<month>0[1-9]|1[0-2])")


@dataclass(frozen=True)
class Month:
    """A calendar month, e.g. 2026-03."""

    year: int
    month: int

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def previous(self) -> Month:
        """Return the month before this one."""
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def bounds(self, tz: TimeZone) -> tuple[datetime, datetime]:
        """Return the month's first instant and the next month's, in UTC, for a time zone."""
        zone = as_zone(tz)
        start = datetime(self.year, self.month, 1, tzinfo=zone)
        following = (
            Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)
        )
        end = datetime(following.year, following.month, 1, tzinfo=zone)
        return start.astimezone(UTC), end.astimezone(UTC)


def parse_month(text: str) -> Month:
    """Read a month written as YYYY-MM; raise ValueError with the reason otherwise."""
    found = _MONTH.fullmatch(text)
    if found is None:
        raise ValueError("a month is written YYYY-MM, e.g. 2026-03")
    year = int(found["year"])
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"a month is from {FIRST_YEAR}-01 to {LAST_YEAR}-12")
    return Month(year, int(found["month"]))


def month_of(moment: datetime, tz: TimeZone) -> Month:
    """Return the calendar month an instant falls in, in a time zone."""
    local = moment.astimezone(as_zone(tz))
    return Month(local.year, local.month)


@dataclass(frozen=True)
class StatementEntry:
    """One invoice (positive) or credit note (negative) on a statement."""

    kind: str  # "invoice", "credit_note" or "subsidy_released"
    reference: str  # the invoice number
    firm_name: str
    at: datetime
    amount_fen: int


@dataclass(frozen=True)
class Statement:
    """A vendor's month: its entries and the three figures that settle it."""

    month: Month
    entries: tuple[StatementEntry, ...]
    commission_rate: Decimal
    gross_fen: int
    commission_fen: int
    net_fen: int


def build_statement(month: Month, entries: Iterable[StatementEntry], rate: Decimal) -> Statement:
    """Total a month's entries and take the commission, rounded once, half-up, to the fen."""
    if not (rate.is_finite() and 0 <= rate < 1):
        raise ValueError("the commission rate must be at least 0 and below 1")
    ordered = tuple(sorted(entries, key=lambda e: (e.at, e.reference, e.kind)))
    gross = sum((e.amount_fen for e in ordered), 0)
    commission = round_fen(Decimal(gross) * rate)
    return Statement(month, ordered, rate, gross, commission, gross - commission)
