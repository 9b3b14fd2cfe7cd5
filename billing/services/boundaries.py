"""Walk a subscription across the period boundaries it has passed, one at a time.

Each boundary crossed says what its invoice bills: the period that starts there in advance,
the period that ended there in arrears, or (when the subscription ends there) usage only.
The lifecycle moves that happen at a boundary — a trial's end, a scheduled downgrade, a
cancellation at period end — are made and announced on the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from billing.invoicing import PendingChargeInput
from billing.lifecycle import Move, charges_in_advance
from billing.models import PendingCharge, Subscription, SubscriptionStatus
from billing.periods import Period, period_containing
from billing.services.bulk import PlanInfo
from billing.services.moves import announce, move, snapshot_of
from catalog.models import Plan
from marketplace.audit.services import Actor
from marketplace.clock import Clock

SYSTEM = Actor(None)  # the close acts on its own, for no user
# What walking a subscription across boundaries may change.
WALKED_FIELDS = (
    "status",
    "plan_id",
    "scheduled_plan_id",
    "current_period_start",
    "current_period_end",
    "billed_boundary_at",
    "usage_from",
    "period_open",
    "cancelled_at",
)


@dataclass
class Boundary:
    """One boundary a subscription crossed, and what its invoice bills."""

    subscription: Subscription
    at: datetime
    fee_plan: PlanInfo
    seats: int
    next_period: Period | None  # None: the subscription ended here
    bills_advance: bool
    usage_period: Period | None = None
    usage_plan: PlanInfo | None = None  # None: no usage owed (a first invoice, a trial)
    charges: list[PendingCharge] = field(default_factory=list)


def plan_ids(chunk: Sequence[Subscription]) -> set[int]:
    """Return the plans a chunk of subscriptions may bill: current and scheduled."""
    ids = {s.plan_id for s in chunk}
    return ids | {s.scheduled_plan_id for s in chunk if s.scheduled_plan_id}


def walk(
    session: Session,
    clock: Clock,
    subscription: Subscription,
    now: datetime,
    plans: dict[int, PlanInfo],
) -> list[Boundary]:
    """Move a subscription across every boundary up to now; return the boundaries to bill."""
    crossed = []
    if subscription.billed_boundary_at is None:
        first = first_boundary(subscription, plans)
        subscription.billed_boundary_at = subscription.current_period_start
        if first is not None:
            crossed.append(first)
    while subscription.period_open and _end(subscription) <= now:
        crossed.append(cross_boundary(session, clock, subscription, plans))
    return crossed


def _end(subscription: Subscription) -> datetime:
    assert subscription.current_period_end is not None, "an open period has an end"
    return subscription.current_period_end


def current_period(subscription: Subscription) -> Period:
    """Return the period a running subscription accrues now."""
    assert subscription.current_period_start is not None
    return Period(subscription.current_period_start, _end(subscription))


def first_boundary(subscription: Subscription, plans: dict[int, PlanInfo]) -> Boundary | None:
    """Return the activation's boundary: period 0 in advance (nothing if it never started).

    A subscription cancelled after activation but before its first close still owes the
    first period's fees: the service ran, and cancelling refunds nothing.
    """
    if subscription.activated_at is None or subscription.current_period_start is None:
        return None
    period = current_period(subscription)
    ended_early = subscription.status == SubscriptionStatus.CANCELLED
    return Boundary(
        subscription,
        period.start,
        plans[subscription.plan_id],
        subscription.seats,
        period,
        ended_early or charges_in_advance(subscription.status),
    )


def in_trial(subscription: Subscription, boundary: datetime) -> bool:
    """Say whether the period ending at boundary was (part of) the free trial."""
    trial_end = subscription.trial_end_at
    return trial_end is not None and boundary <= trial_end


def cross_boundary(
    session: Session, clock: Clock, subscription: Subscription, plans: dict[int, PlanInfo]
) -> Boundary:
    """Cross the end of the current period: end, convert or downgrade, then open the next."""
    ended = current_period(subscription)
    at = ended.end
    usage_plan = None if in_trial(subscription, at) else plans[subscription.plan_id]
    # Usage before an upgrade in this period was billed at the upgrade, on the old plan.
    billed_from = subscription.usage_from
    subscription.usage_from = None
    if billed_from is not None and billed_from >= at:
        usage_plan = None
    elif billed_from is not None and billed_from > ended.start:
        ended = Period(billed_from, at)
    subscription.billed_boundary_at = at
    if subscription.status == SubscriptionStatus.CANCELLED or subscription.cancel_at_period_end:
        _end_at_boundary(session, clock, subscription, at)
        fee_plan = plans[subscription.plan_id]
        return Boundary(
            subscription, at, fee_plan, subscription.seats, None, False, ended, usage_plan
        )
    if subscription.status == SubscriptionStatus.TRIALING:
        before = snapshot_of(subscription)
        subscription.status = move(subscription, Move.END_TRIAL)
        announce(session, clock, SYSTEM, "subscription.trial_ended", subscription, before=before)
    if subscription.scheduled_plan_id is not None:
        _apply_scheduled_plan(session, clock, subscription)
    fee_plan = plans[subscription.plan_id]
    assert subscription.anchor_at is not None
    following = period_containing(
        subscription.anchor_at, fee_plan.billing_interval, subscription.time_zone, at
    )
    subscription.current_period_start, subscription.current_period_end = at, following.end
    return Boundary(
        subscription,
        at,
        fee_plan,
        subscription.seats,
        Period(at, following.end),
        charges_in_advance(subscription.status),
        ended,
        usage_plan,
    )


def _end_at_boundary(
    session: Session, clock: Clock, subscription: Subscription, at: datetime
) -> None:
    subscription.period_open = False
    if subscription.status == SubscriptionStatus.CANCELLED:
        return  # cancelled now: the cancellation was announced then
    before = snapshot_of(subscription)
    subscription.status = move(subscription, Move.CANCEL)
    subscription.cancelled_at = at
    subscription.scheduled_plan_id = None
    announce(session, clock, SYSTEM, "subscription.cancelled", subscription, before=before)


def _apply_scheduled_plan(session: Session, clock: Clock, subscription: Subscription) -> None:
    before = snapshot_of(subscription)
    plan = session.get(Plan, subscription.scheduled_plan_id)
    assert plan is not None
    subscription.plan = plan
    subscription.scheduled_plan_id = None
    announce(session, clock, SYSTEM, "subscription.plan_changed", subscription, before=before)


def charge_input(charge: PendingCharge) -> PendingChargeInput:
    """Return the pure input of a pending charge."""
    return PendingChargeInput(
        charge.description_key,
        charge.quantity,
        charge.amount_fen,
        charge.period_start,
        charge.period_end,
        charge.plan_id,
        charge.dimension,
    )
