"""Gather what a firm's subscription pages show: subscriptions, seats, usage, the next invoice.

Read-only: every query is scoped by the firm. The next invoice is estimated in one function,
estimate_next_invoice, so the invoicing engine's own estimate can take its place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from billing.charges import sells_seats
from billing.invoicing import UsageTotals
from billing.lifecycle import CHANGEABLE, charges_in_advance
from billing.models import PendingCharge, Subscription, SubscriptionStatus
from billing.periods import Period
from billing.services.aggregates import local_days, usage_in, usage_per_day
from billing.services.changes import is_upgrade
from billing.services.seats import current_assignments
from billing.services.subscriptions import (
    plan_on_sale,
    sandbox_vendor_of,
    subscription_of_firm,
    subscriptions_of_firm,
)
from billing.subsidies.estimates import SubsidyEstimate, estimate_subsidy
from catalog.models import Plan, PriceComponent
from catalog.plans import plan_price
from catalog.pricing import (
    Aggregation,
    ComponentKind,
    PlanPrice,
    Quote,
    SeatFee,
    quote,
)
from catalog.storefront import PlanOffer, plan_offer, plans_on_sale
from marketplace.audit.models import AuditEntry
from marketplace.clock import MARKET_TIME_ZONE, Clock
from marketplace.errors import NotFound, ValidationFailed
from marketplace.orgs.models import Membership

HISTORY_LIMIT = 50


@dataclass(frozen=True)
class SubscriptionRow:
    """One line of the firm's subscription list."""

    subscription: Subscription
    seats_used: int
    sells_seats: bool


@dataclass(frozen=True)
class SubscribeOffer:
    """A plan a firm is about to subscribe to, priced at the seats it starts with."""

    offer: PlanOffer
    seat_fee: SeatFee | None
    quote: Quote
    existing: Subscription | None


@dataclass(frozen=True)
class MemberSeat:
    """A member of the firm and whether they hold a seat of the subscription."""

    membership: Membership
    holds_seat: bool


@dataclass(frozen=True)
class PlanChoice:
    """Another plan of the listing and whether moving to it applies now or at period end."""

    offer: PlanOffer
    applies_now: bool


@dataclass(frozen=True)
class DayUsage:
    """A dimension's usage on one day (Beijing time), aggregated as the plan bills it."""

    day: date
    quantity: Decimal


@dataclass(frozen=True)
class DimensionUsage:
    """A metered dimension's usage in the current period: the total so far and per day."""

    component: PriceComponent
    total: Decimal
    days: list[DayUsage]

    @property
    def key(self) -> str:
        """Return the dimension's key."""
        return self.component.dimension or ""


@dataclass(frozen=True)
class EstimateLine:
    """One line of the estimated next invoice; amounts include VAT."""

    kind: str  # "flat", "seat", "usage" or "proration"
    key: str
    quantity: Decimal
    amount_fen: int


@dataclass(frozen=True)
class InvoiceEstimate:
    """What the subscription's next invoice would ask for if it were made now."""

    boundary_at: datetime
    currency: str
    lines: list[EstimateLine]
    includes_next_period: bool

    @property
    def total_fen(self) -> int:
        """Return the sum of the lines (a credit may make it negative)."""
        return sum(line.amount_fen for line in self.lines)


@dataclass(frozen=True)
class SubscriptionOverview:
    """Everything the subscription page shows."""

    subscription: Subscription
    seat_fee: SeatFee | None
    seats_used: int
    members: list[MemberSeat]
    plan_choices: list[PlanChoice]
    usage: list[DimensionUsage]
    estimate: InvoiceEstimate | None
    scheduled_plan: Plan | None = None
    # What the firm's park programs would take off the estimate.
    subsidy: SubsidyEstimate | None = None
    history: list[AuditEntry] = field(default_factory=list)

    @property
    def sells_seats(self) -> bool:
        """Tell whether the plan sells seats that must go to named members."""
        return self.seat_fee is not None

    @property
    def changeable(self) -> bool:
        """Tell whether plan and seats may change now."""
        s = self.subscription
        return s.status in CHANGEABLE and not s.cancel_at_period_end


def firm_subscription_rows(session: Session, org_id: int) -> list[SubscriptionRow]:
    """Return the firm's subscriptions, newest first, with the seats given out."""
    rows = []
    for subscription in subscriptions_of_firm(session, org_id):
        seats = sells_seats(plan_price(subscription.plan))
        used = len(current_assignments(subscription))
        rows.append(SubscriptionRow(subscription, used, seats))
    return rows


def seat_fee(price: PlanPrice) -> SeatFee | None:
    """Return the plan's seat fee, if it sells seats."""
    return next((c for c in price.components if isinstance(c, SeatFee)), None)


def subscribe_offer(session: Session, org_id: int, plan_id: int) -> SubscribeOffer:
    """Return a plan the firm may buy, priced at its fewest seats; NotFound otherwise."""
    try:
        plan = plan_on_sale(session, plan_id, sandbox_vendor_of(session, org_id))
    except ValidationFailed:
        raise NotFound(_("This plan is not on sale.")) from None
    offer = plan_offer(plan)
    fee = seat_fee(offer.price)
    seats = fee.min_seats if fee else 0
    return SubscribeOffer(
        offer, fee, quote(offer.price, seats), live_subscription(session, org_id, plan)
    )


def live_subscription(session: Session, org_id: int, plan: Plan) -> Subscription | None:
    """Return the firm's subscription to the plan's listing that has not ended, if any."""
    stmt = sa.select(Subscription).where(
        Subscription.organization_id == org_id,
        Subscription.listing_id == plan.listing_id,
        Subscription.status != SubscriptionStatus.CANCELLED,
    )
    return session.scalars(stmt).first()


def subscription_overview(
    session: Session, clock: Clock, org_id: int, subscription_id: int
) -> SubscriptionOverview:
    """Return what the page of one of the firm's subscriptions shows."""
    subscription = subscription_of_firm(session, org_id, subscription_id)
    price = plan_price(subscription.plan)
    holders = {a.user_id for a in current_assignments(subscription)}
    estimate = estimate_next_invoice(session, clock, subscription)
    return SubscriptionOverview(
        subscription=subscription,
        seat_fee=seat_fee(price),
        seats_used=len(holders),
        members=[MemberSeat(m, m.user_id in holders) for m in _members(session, org_id)],
        plan_choices=plan_choices(session, subscription),
        usage=usage_of_current_period(session, clock, subscription),
        estimate=estimate,
        scheduled_plan=scheduled_plan_of(session, subscription),
        history=subscription_history(session, subscription),
        subsidy=_subsidy(session, clock, subscription, estimate),
    )


def _subsidy(
    session: Session, clock: Clock, subscription: Subscription, estimate: InvoiceEstimate | None
) -> SubsidyEstimate | None:
    """Estimate the park subsidy on the next invoice of a live subscription."""
    if estimate is None or subscription.sandbox:
        return None
    return estimate_subsidy(
        session,
        subscription.organization_id,
        subscription.listing_id,
        subscription.vendor_id,
        [line.amount_fen for line in estimate.lines],
        clock.now(),
    )


def scheduled_plan_of(session: Session, subscription: Subscription) -> Plan | None:
    """Return the plan the subscription moves to at its period's end, if any."""
    planned = subscription.scheduled_plan_id
    return session.get(Plan, planned) if planned is not None else None


def _members(session: Session, org_id: int) -> list[Membership]:
    stmt = (
        sa.select(Membership)
        .where(Membership.organization_id == org_id)
        .options(selectinload(Membership.user))
        .order_by(Membership.id)
    )
    return list(session.scalars(stmt))


def plan_choices(session: Session, subscription: Subscription) -> list[PlanChoice]:
    """Return the listing's other plans on sale the subscription may move to."""
    current = subscription.plan
    offers = plans_on_sale(session, [subscription.listing_id])[subscription.listing_id]
    return [
        PlanChoice(offer, is_upgrade(current, offer.plan, subscription.seats))
        for offer in offers
        if offer.plan.id != current.id and offer.plan.billing_interval == current.billing_interval
    ]


def subscription_history(session: Session, subscription: Subscription) -> list[AuditEntry]:
    """Return the subscription's audit trail, newest first."""
    stmt = (
        sa.select(AuditEntry)
        .where(
            AuditEntry.target_type == "subscription",
            AuditEntry.target_id == str(subscription.id),
            AuditEntry.subject_org_id == subscription.organization_id,
        )
        .order_by(AuditEntry.id.desc())
        .limit(HISTORY_LIMIT)
    )
    return list(session.scalars(stmt))


def _usage_window(clock: Clock, subscription: Subscription) -> tuple[datetime, datetime] | None:
    start, end = subscription.current_period_start, subscription.current_period_end
    if start is None or end is None:
        return None
    return start, max(start, min(end, clock.now()))


def usage_of_current_period(
    session: Session, clock: Clock, subscription: Subscription
) -> list[DimensionUsage]:
    """Return each metered dimension's usage so far in the current period, per local day."""
    components = [c for c in subscription.plan.components if c.kind == ComponentKind.METERED]
    window = _usage_window(clock, subscription)
    if window is None or not components:
        return []
    start, end = window
    if start == end:  # the period starts now: one day, nothing used yet
        days = [start.astimezone(MARKET_TIME_ZONE).date()]
        return [_dimension_usage(c, {}, {}, days) for c in components]
    period = Period(start, end)
    totals = usage_in(session, subscription.id, period)
    daily = usage_per_day(session, subscription.id, period, MARKET_TIME_ZONE)
    days = local_days(period, MARKET_TIME_ZONE)
    return [_dimension_usage(c, totals, daily, days) for c in components]


def _dimension_usage(
    component: PriceComponent,
    totals: Mapping[str, UsageTotals],
    daily: Mapping[date, Mapping[str, UsageTotals]],
    days: list[date],
) -> DimensionUsage:
    how = Aggregation(component.aggregation or Aggregation.SUM)
    key = component.dimension or ""

    def quantity(found: Mapping[str, UsageTotals]) -> Decimal:
        return found.get(key, UsageTotals()).quantity(how)

    per_day = [DayUsage(day, quantity(daily.get(day, {}))) for day in days]
    return DimensionUsage(component, quantity(totals), per_day)


def estimate_next_invoice(
    session: Session, clock: Clock, subscription: Subscription
) -> InvoiceEstimate | None:
    """Estimate the next invoice from the plan's prices, usage so far and pending charges.

    The next invoice is the one at the end of the current period (or at its start, while the
    first invoice is still to be made): the next period's fees in advance, unless the
    subscription ends or does not charge in advance; the current period's usage so far,
    rated on the plan in force (a trial's usage is free); and every pending proration.
    Park subsidies are estimated beside it (billing.subsidies.estimates).
    """
    if not subscription.period_open or subscription.current_period_end is None:
        return None
    first_invoice = subscription.billed_boundary_at is None
    boundary = (
        subscription.current_period_start if first_invoice else subscription.current_period_end
    )
    assert boundary is not None, "an open period has a start"
    # A downgrade takes effect at the boundary, so the next period's fees are the new plan's.
    scheduled = None if first_invoice else scheduled_plan_of(session, subscription)
    advance = _advance_lines(subscription, scheduled or subscription.plan, first_invoice)
    lines = list(advance)
    if not first_invoice and subscription.status != SubscriptionStatus.TRIALING:
        lines += _usage_lines(session, clock, subscription)
    lines += _pending_lines(session, subscription)
    return InvoiceEstimate(boundary, subscription.plan.currency, lines, bool(advance))


def _advance_lines(
    subscription: Subscription, plan: Plan, first_invoice: bool
) -> list[EstimateLine]:
    ending = (
        subscription.cancel_at_period_end or subscription.status == SubscriptionStatus.CANCELLED
    )
    if ending and not first_invoice:
        return []
    # A trial's end starts the first paid period, so its fees are billed then.
    trialing = subscription.status == SubscriptionStatus.TRIALING
    status = SubscriptionStatus.ACTIVE if trialing else subscription.status
    if not charges_in_advance(status):
        return []
    fees = quote(plan_price(plan), subscription.seats)
    return [
        EstimateLine(str(line.kind), line.key, line.quantity, line.amount_fen)
        for line in fees.lines
        if line.kind in (ComponentKind.FLAT, ComponentKind.SEAT)
    ]


def _usage_lines(session: Session, clock: Clock, subscription: Subscription) -> list[EstimateLine]:
    usage = usage_of_current_period(session, clock, subscription)
    rated = quote(
        plan_price(subscription.plan), subscription.seats, {u.key: u.total for u in usage}
    )
    return [
        EstimateLine("usage", line.key, line.quantity, line.amount_fen)
        for line in rated.lines
        if line.kind == ComponentKind.METERED
    ]


def _pending_lines(session: Session, subscription: Subscription) -> list[EstimateLine]:
    stmt = (
        sa.select(PendingCharge)
        .where(
            PendingCharge.subscription_id == subscription.id,
            PendingCharge.invoice_id.is_(None),
        )
        .order_by(PendingCharge.id)
    )
    return [
        EstimateLine(charge.kind, charge.description_key, charge.quantity, charge.amount_fen)
        for charge in session.scalars(stmt)
    ]
