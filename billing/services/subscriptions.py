"""Subscribe, activate, cancel, and move a subscription through its lifecycle.

Every move is looked up in billing.lifecycle first, so an illegal one raises before any row
changes; every change writes its outbox event and audit entry in the same transaction.
Invoices are not made here: a move only sets the period fields that the period close reads.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.charges import default_seats
from billing.lifecycle import Move
from billing.models import SandboxFirm, Subscription, SubscriptionStatus
from billing.periods import period_at
from billing.services.catch_up import lock_and_catch_up
from billing.services.firm_clock import clock_for_firm
from billing.services.moves import IllegalTransition, announce, move, snapshot_of
from catalog.models import Listing, ListingStatus, Plan, PlanStatus
from catalog.plans import plan_price
from catalog.pricing import QuoteInputError, check_seats
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.orgs.models import Organization, OrgKind, OrgStatus


class AlreadySubscribed(Conflict):
    """The firm already holds a live subscription to the listing."""

    code = "already_subscribed"
    title = "The firm already subscribes to this service"


def _live_query(subscription_id: int) -> sa.Select[Subscription]:
    return sa.select(Subscription).where(Subscription.id == subscription_id)


def subscription_of_firm(
    session: Session, org_id: int, subscription_id: int, *, for_update: bool = False
) -> Subscription:
    """Return a firm's subscription by id; another firm's id is not found."""
    stmt = _live_query(subscription_id).where(Subscription.organization_id == org_id)
    return _one(session, stmt, for_update)


def subscription_of_vendor(
    session: Session,
    vendor_id: int,
    subscription_id: int,
    *,
    sandbox: bool,
    for_update: bool = False,
) -> Subscription:
    """Return a subscription to one of the vendor's listings, in the caller's mode."""
    stmt = _live_query(subscription_id).where(
        Subscription.vendor_id == vendor_id, Subscription.sandbox.is_(sandbox)
    )
    return _one(session, stmt, for_update)


def _one(session: Session, stmt: sa.Select[Subscription], for_update: bool) -> Subscription:
    if for_update:
        stmt = stmt.with_for_update()
    subscription = session.scalars(stmt).one_or_none()
    if subscription is None:
        raise NotFound(_("No such subscription."))
    return subscription


def subscriptions_of_firm(session: Session, org_id: int) -> list[Subscription]:
    """Return a firm's subscriptions, newest first."""
    stmt = (
        sa.select(Subscription)
        .where(Subscription.organization_id == org_id)
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
    )
    return list(session.scalars(stmt))


def _firm(session: Session, org_id: int) -> Organization:
    firm = session.get(Organization, org_id)
    if firm is None or firm.kind != OrgKind.SME:
        raise NotFound(_("No such firm."))
    if firm.status != OrgStatus.ACTIVE:
        raise Conflict(_("This firm is suspended and cannot subscribe."))
    return firm


def sandbox_vendor_of(session: Session, org_id: int) -> int | None:
    """Return the vendor whose sandbox owns a test firm, or None for a real firm."""
    return session.scalar(
        sa.select(SandboxFirm.vendor_id).where(SandboxFirm.organization_id == org_id)
    )


def plan_on_sale(session: Session, plan_id: int, sandbox_vendor_id: int | None) -> Plan:
    """Return a published plan of a published listing a firm of this kind may buy."""
    plan = session.get(Plan, plan_id)
    if plan is None or plan.status != PlanStatus.PUBLISHED:
        raise ValidationFailed({"plan": _("This plan is not on sale.")})
    listing = plan.listing
    if not _listing_open_to(listing, sandbox_vendor_id):
        raise ValidationFailed({"plan": _("This plan is not on sale.")})
    return plan


def _listing_open_to(listing: Listing, sandbox_vendor_id: int | None) -> bool:
    if listing.status != ListingStatus.PUBLISHED:
        return False
    if sandbox_vendor_id is None:
        return not listing.sandbox and listing.vendor.status == OrgStatus.ACTIVE
    # A test firm buys only its own vendor's sandbox listings: they never charge anyone.
    return listing.sandbox and listing.vendor_id == sandbox_vendor_id


def checked_seats(plan: Plan, seats: int | None) -> int:
    """Return the seats to subscribe with, or raise naming the seats field."""
    price = plan_price(plan)
    chosen = default_seats(price) if seats is None else seats
    try:
        check_seats(price, chosen)
    except QuoteInputError as error:
        raise ValidationFailed({"seats": error.reason}) from None
    return chosen


def subscribe(
    session: Session,
    clock: Clock,
    actor: Actor,
    org_id: int,
    plan_id: int,
    seats: int | None = None,
) -> Subscription:
    """Subscribe a firm to a plan version; it waits for the vendor unless it auto-activates."""
    _firm(session, org_id)
    clock = clock_for_firm(session, org_id, clock)
    sandbox_vendor_id = sandbox_vendor_of(session, org_id)
    plan = plan_on_sale(session, plan_id, sandbox_vendor_id)
    subscription = Subscription(
        organization_id=org_id,
        vendor_id=plan.listing.vendor_id,
        listing_id=plan.listing_id,
        plan=plan,
        status=SubscriptionStatus.PENDING,
        sandbox=sandbox_vendor_id is not None,
        seats=checked_seats(plan, seats),
        created_at=clock.now(),
        period_open=False,
        cancel_at_period_end=False,
    )
    try:
        with session.begin_nested():
            session.add(subscription)
    except IntegrityError:
        raise AlreadySubscribed(_("The firm already subscribes to this service.")) from None
    announce(session, clock, actor, "subscription.created", subscription)
    if plan.auto_activate:
        start_service(session, clock, actor, subscription)
    session.commit()
    return subscription


def start_service(session: Session, clock: Clock, actor: Actor, subscription: Subscription) -> None:
    """Start a pending subscription: a trial if the plan has one, else the first period."""
    before = snapshot_of(subscription)
    now = clock.now()
    trial_days = subscription.plan.trial_days
    if trial_days > 0:
        subscription.status = move(subscription, Move.START_TRIAL)
        trial_end = now + timedelta(days=trial_days)
        subscription.trial_end_at = subscription.anchor_at = trial_end
        subscription.current_period_start, subscription.current_period_end = now, trial_end
        # Nothing is owed for a trial's start: its first invoice comes when the trial ends.
        subscription.billed_boundary_at = now
    else:
        subscription.status = move(subscription, Move.ACTIVATE)
        subscription.anchor_at = now
        first = period_at(now, subscription.plan.billing_interval, subscription.time_zone, 0)
        subscription.current_period_start, subscription.current_period_end = first.start, first.end
    subscription.period_open = True
    subscription.activated_at = now
    announce(session, clock, actor, "subscription.activated", subscription, before=before)


def activate(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    subscription_id: int,
    *,
    sandbox: bool,
) -> Subscription:
    """Let the vendor start a pending subscription it has provisioned."""
    subscription = subscription_of_vendor(
        session, vendor_id, subscription_id, sandbox=sandbox, for_update=True
    )
    clock = clock_for_firm(session, subscription.organization_id, clock)
    start_service(session, clock, actor, subscription)
    session.commit()
    return subscription


def cancel(
    session: Session,
    clock: Clock,
    actor: Actor,
    subscription: Subscription,
    *,
    at_period_end: bool,
    reason: str | None = None,
) -> Subscription:
    """Cancel now (the period ends here and its usage is billed) or at the period's end."""
    clock = lock_and_catch_up(session, clock, subscription)
    before = snapshot_of(subscription)
    if at_period_end:
        _schedule_cancellation(subscription)
        announce(
            session,
            clock,
            actor,
            "subscription.cancellation_scheduled",
            subscription,
            before=before,
        )
    else:
        end_now(subscription, clock.now(), reason)
        announce(session, clock, actor, "subscription.cancelled", subscription, before=before)
    session.commit()
    return subscription


def _schedule_cancellation(subscription: Subscription) -> None:
    move(subscription, Move.CANCEL)  # raises for a subscription already cancelled
    if subscription.status == SubscriptionStatus.PENDING:
        raise IllegalTransition(
            _("A pending subscription is cancelled at once, not at period end.")
        )
    subscription.cancel_at_period_end = True


def end_now(subscription: Subscription, now: datetime, reason: str | None) -> None:
    """Cancel at once; a period that has begun closes here so its usage is still billed."""
    subscription.status = move(subscription, Move.CANCEL)
    subscription.cancelled_at = now
    subscription.cancel_reason = reason
    subscription.scheduled_plan_id = None
    start = subscription.current_period_start
    if subscription.period_open and start is not None:
        subscription.current_period_end = max(now, start + timedelta(seconds=1))


def undo_scheduled_cancellation(
    session: Session, clock: Clock, actor: Actor, subscription: Subscription
) -> Subscription:
    """Keep a subscription that was to end at its period's end."""
    clock = lock_and_catch_up(session, clock, subscription)
    if not subscription.cancel_at_period_end:
        raise IllegalTransition(_("This subscription is not scheduled to end."))
    before = snapshot_of(subscription)
    subscription.cancel_at_period_end = False
    announce(
        session, clock, actor, "subscription.cancellation_withdrawn", subscription, before=before
    )
    session.commit()
    return subscription


def mark_past_due(session: Session, clock: Clock, actor: Actor, subscription: Subscription) -> None:
    """Record that a payment failed; the service goes on while dunning runs."""
    before = snapshot_of(subscription)
    subscription.status = move(subscription, Move.FAIL_PAYMENT)
    subscription.past_due_at = subscription.past_due_at or clock.now()
    announce(session, clock, actor, "subscription.past_due", subscription, before=before)


def suspend(session: Session, clock: Clock, actor: Actor, subscription: Subscription) -> None:
    """Stop the service of a subscription left unpaid past its grace period."""
    before = snapshot_of(subscription)
    subscription.status = move(subscription, Move.SUSPEND)
    subscription.suspended_at = clock.now()
    announce(session, clock, actor, "subscription.suspended", subscription, before=before)


def reinstate(session: Session, clock: Clock, actor: Actor, subscription: Subscription) -> None:
    """Bring a past-due or suspended subscription back once it is paid."""
    before = snapshot_of(subscription)
    subscription.status = move(subscription, Move.REINSTATE)
    subscription.past_due_at = subscription.suspended_at = None
    announce(session, clock, actor, "subscription.reinstated", subscription, before=before)
