"""Change a running subscription: its plan (upgrade now, downgrade at period end) and seats.

A change in the middle of a paid period leaves pending charges — prorated to the period's
remaining time — that the next invoice picks up; during a trial nothing is owed yet, so
the change just applies.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.charges import recurring_fen, seat_unit_fen
from billing.invoicing import USAGE_BEFORE_CHANGE, UsageTotals
from billing.lifecycle import CHANGEABLE
from billing.models import PendingCharge, Subscription, SubscriptionStatus
from billing.periods import Period
from billing.proration import ProrationLine, plan_change_lines, seat_change_line
from billing.services.aggregates import usage_in
from billing.services.catch_up import lock_and_catch_up
from billing.services.moves import IllegalTransition, announce, snapshot_of
from billing.services.subscriptions import checked_seats, plan_on_sale, sandbox_vendor_of
from catalog.models import Plan
from catalog.plans import plan_price
from catalog.pricing import MeteredPrice, rate_metered
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.errors import ValidationFailed

PRORATION = "proration"


def _check_changeable(subscription: Subscription) -> None:
    if subscription.status not in CHANGEABLE:
        raise IllegalTransition(
            _("Only a trialing or active subscription can change plan or seats.")
        )
    if subscription.cancel_at_period_end:
        raise IllegalTransition(_("This subscription ends at its period's end: keep it first."))


def _current_period(subscription: Subscription) -> Period:
    start, end = subscription.current_period_start, subscription.current_period_end
    assert start is not None and end is not None, "a running subscription has a period"
    return Period(start, end)


def _monthly_cost(plan: Plan, seats: int) -> tuple[int, int]:
    """Return a plan's up-front charge per period, and the number of months a period has."""
    months = 12 if plan.billing_interval == "year" else 1
    return recurring_fen(plan_price(plan), seats), months


def is_upgrade(current: Plan, new: Plan, seats: int) -> bool:
    """Say whether moving to the new plan costs more per month at the same seats."""
    old_fen, old_months = _monthly_cost(current, seats)
    new_fen, new_months = _monthly_cost(new, seats)
    return new_fen * old_months > old_fen * new_months


def change_plan(
    session: Session,
    clock: Clock,
    actor: Actor,
    subscription: Subscription,
    plan_id: int,
    seats: int | None = None,
) -> Subscription:
    """Move to another plan of the same listing: upgrades now, downgrades at period end."""
    clock = lock_and_catch_up(session, clock, subscription)
    _check_changeable(subscription)
    new = plan_on_sale(session, plan_id, sandbox_vendor_of(session, subscription.organization_id))
    _check_same_listing(subscription, new)
    new_seats = checked_seats(new, subscription.seats if seats is None else seats)
    before = snapshot_of(subscription)
    if is_upgrade(subscription.plan, new, new_seats):
        _upgrade_now(session, clock.now(), subscription, new, new_seats)
        event = "subscription.plan_changed"
    else:
        subscription.scheduled_plan_id = new.id
        event = "subscription.plan_change_scheduled"
    announce(session, clock, actor, event, subscription, before=before)
    session.commit()
    return subscription


def _check_same_listing(subscription: Subscription, new: Plan) -> None:
    if new.listing_id != subscription.listing_id:
        raise ValidationFailed({"plan": _("Choose a plan of the same service.")})
    if new.id == subscription.plan_id:
        raise ValidationFailed({"plan": _("The subscription is already on this plan.")})
    if new.billing_interval != subscription.plan.billing_interval:
        raise ValidationFailed({"plan": _("Choose a plan with the same billing interval.")})


def _upgrade_now(
    session: Session, now: datetime, subscription: Subscription, new: Plan, seats: int
) -> None:
    if subscription.status != SubscriptionStatus.TRIALING:
        period = _current_period(subscription)
        old_fen = recurring_fen(plan_price(subscription.plan), subscription.seats)
        new_fen = recurring_fen(plan_price(new), seats)
        for line in plan_change_lines(old_fen, new_fen, period, now):
            _add_charge(session, now, subscription, line, new)
        _bill_usage_so_far(session, now, subscription, period)
    subscription.plan = new
    subscription.seats = seats
    subscription.scheduled_plan_id = None


def _bill_usage_so_far(
    session: Session, now: datetime, subscription: Subscription, period: Period
) -> None:
    """Rate the period's usage so far on the plan it was used under, before the plan changes.

    The next invoice rates only what comes after (Subscription.usage_from), on the new plan.
    """
    start = max(period.start, subscription.usage_from or period.start)
    if now > start:
        used = usage_in(session, subscription.id, Period(start, now))
        for price in plan_price(subscription.plan).metered:
            quantity = used.get(price.dimension, UsageTotals()).quantity(price.aggregation)
            if quantity > 0:
                session.add(_usage_charge(now, subscription, price, quantity, start))
    subscription.usage_from = now


def _usage_charge(
    now: datetime,
    subscription: Subscription,
    price: MeteredPrice,
    quantity: Decimal,
    start: datetime,
) -> PendingCharge:
    return PendingCharge(
        subscription_id=subscription.id,
        kind=USAGE_BEFORE_CHANGE,
        description_key=USAGE_BEFORE_CHANGE,
        dimension=price.dimension,
        quantity=quantity,
        amount_fen=rate_metered(price, quantity),
        period_start=start,
        period_end=now,
        plan_id=subscription.plan_id,
        created_at=now,
    )


def change_seats(
    session: Session, clock: Clock, actor: Actor, subscription: Subscription, seats: int
) -> Subscription:
    """Change the number of seats now, prorated to the second for the rest of the period."""
    clock = lock_and_catch_up(session, clock, subscription)
    _check_changeable(subscription)
    new_seats = checked_seats(subscription.plan, seats)
    if subscription.scheduled_plan is not None:
        # The plan it moves to at the period's end must sell that many seats too.
        checked_seats(subscription.scheduled_plan, seats)
    assigned = sum(1 for a in subscription.seat_assignments if a.unassigned_at is None)
    if new_seats < assigned:
        raise ValidationFailed(
            {"seats": _("%(count)d seats are given to users: free some first.", count=assigned)}
        )
    if new_seats == subscription.seats:
        raise ValidationFailed({"seats": _("The subscription already has this many seats.")})
    before = snapshot_of(subscription)
    now = clock.now()
    if subscription.status != SubscriptionStatus.TRIALING:
        unit = seat_unit_fen(plan_price(subscription.plan))
        line = seat_change_line(
            unit, subscription.seats, new_seats, _current_period(subscription), now
        )
        _add_charge(session, now, subscription, line, subscription.plan)
    subscription.seats = new_seats
    announce(session, clock, actor, "subscription.seats_changed", subscription, before=before)
    session.commit()
    return subscription


def _add_charge(
    session: Session, now: datetime, subscription: Subscription, line: ProrationLine, plan: Plan
) -> None:
    if line.amount_fen == 0:
        return
    session.add(
        PendingCharge(
            subscription_id=subscription.id,
            kind=PRORATION,
            description_key=line.description_key.value,
            quantity=line.quantity,
            amount_fen=line.amount_fen,
            period_start=line.start,
            period_end=line.end,
            plan_id=plan.id,
            created_at=now,
        )
    )
