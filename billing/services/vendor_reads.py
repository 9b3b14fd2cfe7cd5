"""What a vendor reads back: its subscriptions, a period's usage so far, and its usage records.

Every read takes the vendor and the caller's mode: a sandbox client sees only sandbox
subscriptions and their records, a live client only live ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from billing.invoicing import UsageTotals
from billing.lifecycle import TRIALING
from billing.models import Subscription, UsageEvent, UsageRejection
from billing.periods import Period
from billing.services.aggregates import usage_in
from billing.services.subscriptions import subscription_of_vendor
from catalog.plans import plan_price
from catalog.pricing import MeteredPrice, rate_metered
from marketplace.pagination import Page, PageRequest, paginate


def subscriptions_page(
    session: Session,
    vendor_id: int,
    sandbox: bool,
    page: PageRequest,
    *,
    status: str | None = None,
    listing_id: int | None = None,
) -> Page[Subscription]:
    """Read one page of the vendor's subscriptions in the caller's mode, oldest first."""
    stmt = (
        sa.select(Subscription)
        .where(Subscription.vendor_id == vendor_id, Subscription.sandbox.is_(sandbox))
        .options(selectinload(Subscription.seat_assignments), selectinload(Subscription.plan))
    )
    if status is not None:
        stmt = stmt.where(Subscription.status == status)
    if listing_id is not None:
        stmt = stmt.where(Subscription.listing_id == listing_id)
    return paginate(session, stmt, [Subscription.id.expression], page, lambda s: (s.id,))


@dataclass(frozen=True)
class DimensionUsage:
    """One metered dimension's usage so far in the current period, and what it costs."""

    dimension: str
    aggregation: str
    quantity: Decimal
    included_quantity: Decimal
    amount_fen: int


@dataclass(frozen=True)
class PeriodUsage:
    """A subscription's current period and its usage so far, per dimension of the plan."""

    subscription_id: int
    period_start: datetime | None
    period_end: datetime | None
    free_trial: bool
    dimensions: list[DimensionUsage]


def period_usage(
    session: Session, vendor_id: int, sandbox: bool, subscription_id: int
) -> PeriodUsage:
    """Aggregate and rate a subscription's usage in its current period so far."""
    subscription = subscription_of_vendor(session, vendor_id, subscription_id, sandbox=sandbox)
    start, end = subscription.current_period_start, subscription.current_period_end
    # Usage during a trial is recorded but never billed.
    free = subscription.status == TRIALING
    prices = plan_price(subscription.plan).metered
    totals = {}
    if start is not None and end is not None and start < end:
        totals = usage_in(session, subscription.id, Period(start, end))
    dimensions = [_dimension_usage(price, totals.get(price.dimension), free) for price in prices]
    return PeriodUsage(subscription.id, start, end, free, dimensions)


def plain_quantity(quantity: Decimal) -> Decimal:
    """Drop a stored quantity's trailing zeros without turning it into an exponent."""
    normal = quantity.normalize()
    exponent = normal.as_tuple().exponent
    return normal.quantize(Decimal(1)) if isinstance(exponent, int) and exponent > 0 else normal


def _dimension_usage(price: MeteredPrice, totals: UsageTotals | None, free: bool) -> DimensionUsage:
    quantity = (totals or UsageTotals()).quantity(price.aggregation)
    amount = 0 if free else rate_metered(price, quantity)
    return DimensionUsage(
        price.dimension,
        price.aggregation,
        plain_quantity(quantity),
        plain_quantity(price.included_quantity),
        amount,
    )


@dataclass(frozen=True)
class RecordFilter:
    """Which usage records to list: by outcome, subscription and time received."""

    status: str
    subscription_id: int | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None


def usage_records_page(
    session: Session, vendor_id: int, sandbox: bool, wanted: RecordFilter, page: PageRequest
) -> Page[Any]:
    """Read one page of the vendor's usage records of one outcome, oldest first.

    Accepted lists every stored record; duplicate, the stored records that were sent again;
    rejected, the refused ones. A rejection naming a subscription of the vendor shows in
    that subscription's mode only; one naming none shows in both.
    """
    if wanted.status == "rejected":
        return paginate(
            session,
            _rejections(vendor_id, sandbox, wanted),
            [UsageRejection.id.expression],
            page,
            _id,
        )
    return paginate(
        session, _events(vendor_id, sandbox, wanted), [UsageEvent.id.expression], page, _id
    )


def _id(row: Any) -> tuple[int]:
    return (row.id,)


def _events(vendor_id: int, sandbox: bool, wanted: RecordFilter) -> sa.Select[Any]:
    e = UsageEvent
    stmt = sa.select(e).where(e.vendor_id == vendor_id, e.sandbox.is_(sandbox))
    if wanted.status == "duplicate":
        stmt = stmt.where(e.duplicates > 0)
    return _filtered(stmt, e.subscription_id, e.received_at, wanted)


def _rejections(vendor_id: int, sandbox: bool, wanted: RecordFilter) -> sa.Select[Any]:
    r = UsageRejection
    stmt = sa.select(r).where(r.vendor_id == vendor_id, r.sandbox.is_(sandbox))
    return _filtered(stmt, r.subscription_id, r.received_at, wanted)


def _filtered(
    stmt: sa.Select[Any],
    subscription_column: Any,
    received_column: Any,
    wanted: RecordFilter,
) -> sa.Select[Any]:
    if wanted.subscription_id is not None:
        stmt = stmt.where(subscription_column == wanted.subscription_id)
    if wanted.received_from is not None:
        stmt = stmt.where(received_column >= wanted.received_from)
    if wanted.received_to is not None:
        stmt = stmt.where(received_column < wanted.received_to)
    return stmt
