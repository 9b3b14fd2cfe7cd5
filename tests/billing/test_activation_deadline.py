"""Subscriptions the vendor never activates are cancelled after the deadline, never charged."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import Invoice, SubscriptionStatus
from billing.services import subscriptions as subs
from billing.services.activation_deadline import NOT_ACTIVATED, cancel_unactivated
from billing.services.close import close_due_periods, finalize_due_invoices
from marketplace.clock import FrozenClock
from tests.billing.conftest import ACTOR, firm, new_plan
from tests.billing.payments_world import events_about

DEADLINE = timedelta(hours=72)


def test_a_subscription_left_pending_past_the_deadline_is_cancelled_and_never_billed(
    session: Session, clock: FrozenClock
) -> None:
    plan = new_plan()
    waiting = subs.subscribe(session, clock, ACTOR, firm().id, plan.id)
    started = clock.now()

    clock.set(started + DEADLINE - timedelta(seconds=1))
    assert cancel_unactivated(session, clock, DEADLINE) == []
    clock.set(started + DEADLINE)
    assert cancel_unactivated(session, clock, DEADLINE) == [waiting.id]
    assert cancel_unactivated(session, clock, DEADLINE) == []  # once

    assert waiting.status == SubscriptionStatus.CANCELLED
    assert (waiting.cancel_reason, waiting.cancelled_at) == (NOT_ACTIVATED, clock.now())
    cancelled = events_about(session, waiting.vendor_id, "subscription.cancelled")
    assert cancelled == ["subscription.cancelled"]
    clock.set(started + timedelta(days=60))
    close_due_periods(session, clock)
    finalize_due_invoices(session, clock)
    count = sa.select(sa.func.count(Invoice.id)).where(Invoice.subscription_id == waiting.id)
    assert session.scalar(count) == 0


def test_activated_and_auto_activated_subscriptions_are_left_alone(
    session: Session, clock: FrozenClock
) -> None:
    manual = new_plan()
    activated = subs.subscribe(session, clock, ACTOR, firm().id, manual.id)
    subs.activate(session, clock, ACTOR, activated.vendor_id, activated.id, sandbox=False)
    automatic = subs.subscribe(session, clock, ACTOR, firm().id, new_plan(auto_activate=True).id)
    clock.set(clock.now() + DEADLINE * 2)

    assert cancel_unactivated(session, clock, DEADLINE) == []
    assert activated.status == automatic.status == SubscriptionStatus.ACTIVE
