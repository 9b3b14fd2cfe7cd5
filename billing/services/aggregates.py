"""Aggregate usage events per dimension in the database, the three ways a plan may rate them.

Every reader of usage (the firm's subscription page, the vendor's period usage, the invoice
estimate, the finalization of a chunk of invoices) reduces the records of [start, end) to a
sum, a peak and a count of distinct values per dimension with the same SQL, so they agree.
The subscription page's chart groups the same aggregates by local day as well.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.invoicing import UsageTotals
from billing.models import Invoice, UsageEvent
from billing.periods import Period

Totals = dict[str, UsageTotals]
_AGGREGATES = (
    sa.func.sum(UsageEvent.quantity),
    sa.func.max(UsageEvent.quantity),
    sa.func.count(sa.distinct(UsageEvent.unique_value)),
)


def _in_window(start: Any, end: Any) -> sa.ColumnElement[bool]:
    return sa.and_(UsageEvent.occurred_at >= start, UsageEvent.occurred_at < end)


def _grouped(session: Session, key: Any, stmt: sa.Select[Any]) -> dict[Any, Totals]:
    """Run stmt with the aggregates per (key, dimension) and collect them per key."""
    stmt = stmt.add_columns(UsageEvent.dimension, *_AGGREGATES).group_by(key, UsageEvent.dimension)
    found: dict[Any, Totals] = {}
    for group, dimension, total, peak, distinct in session.execute(stmt):
        found.setdefault(group, {})[dimension] = UsageTotals(
            Decimal(total), Decimal(peak), int(distinct)
        )
    return found


def usage_in(session: Session, subscription_id: int, period: Period) -> Totals:
    """Aggregate one subscription's usage per dimension over a period."""
    key = UsageEvent.subscription_id
    stmt = sa.select(key).where(key == subscription_id, _in_window(period.start, period.end))
    return _grouped(session, key, stmt).get(subscription_id, {})


def usage_totals(session: Session, invoice_ids: Sequence[int]) -> dict[int, Totals]:
    """Aggregate, in one query, the usage of each invoice's usage period per dimension."""
    window = sa.and_(
        UsageEvent.subscription_id == Invoice.subscription_id,
        _in_window(Invoice.usage_period_start, Invoice.usage_period_end),
    )
    stmt = (
        sa.select(Invoice.id)
        .select_from(Invoice)
        .join(UsageEvent, window)
        .where(Invoice.id.in_(invoice_ids))
    )
    return _grouped(session, Invoice.id, stmt)


def local_days(period: Period, zone: ZoneInfo) -> list[date]:
    """Return the local calendar days that a period touches, in order."""
    first = period.start.astimezone(zone).date()
    last = (period.end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def usage_per_day(
    session: Session, subscription_id: int, period: Period, zone: ZoneInfo
) -> dict[date, Totals]:
    """Aggregate one subscription's usage per local day and dimension over a period."""
    day, to_date = _local_day(session, period, zone)
    stmt = sa.select(day).where(
        UsageEvent.subscription_id == subscription_id, _in_window(period.start, period.end)
    )
    return {to_date(group): totals for group, totals in _grouped(session, day, stmt).items()}


def _local_day(
    session: Session, period: Period, zone: ZoneInfo
) -> tuple[sa.ColumnElement[Any], Callable[[Any], date]]:
    """Return an expression of the local day an event falls on, and how to read its value."""
    if session.get_bind().dialect.name == "postgresql":
        # Rendered inline: GROUP BY must repeat the select's expression to the letter.
        name = sa.bindparam("zone", zone.key, sa.String, literal_execute=True)
        unit = sa.bindparam("unit", "day", sa.String, literal_execute=True)
        local = sa.func.timezone(name, UsageEvent.occurred_at)
        return sa.cast(sa.func.date_trunc(unit, local), sa.Date), _as_date
    # SQLite has no time zones: number the days by the instants at which they end, i.e. the
    # next local midnight (the period's end for the last day).
    days = local_days(period, zone)
    ends = [*_midnights(days[1:], zone), period.end]
    bucket = sa.case(*((UsageEvent.occurred_at < end, n) for n, end in enumerate(ends)))
    return bucket, days.__getitem__


def _midnights(days: Iterable[date], zone: ZoneInfo) -> list[datetime]:
    return [datetime.combine(day, time(), zone) for day in days]


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))
