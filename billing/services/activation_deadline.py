"""Cancel subscriptions the vendor never activated, once their deadline has passed.

A new subscription waits, pending, for the vendor to activate it. If that has not happened
within the deadline (ACTIVATION_DEADLINE_HOURS, 72 h by default), the scheduled job cancels
it with the reason "not activated" and announces subscription.cancelled. Nothing is
charged: a pending subscription has no open period, so no close ever bills it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import Subscription, SubscriptionStatus
from billing.payments.config import payment_settings
from billing.services.moves import announce, snapshot_of
from billing.services.subscriptions import end_now
from marketplace.audit.services import Actor
from marketplace.clock import Clock, current_clock
from marketplace.extensions import db
from marketplace.logs import get_logger

NOT_ACTIVATED = "not activated"
CHUNK = 200
SYSTEM = Actor(None)
log = get_logger(__name__)


def overdue_pending(session: Session, cutoff_at: datetime, limit: int) -> list[Subscription]:
    """Lock pending subscriptions made before the cutoff, skipping rows others hold."""
    stmt = (
        sa.select(Subscription)
        .where(
            Subscription.status == SubscriptionStatus.PENDING,
            Subscription.created_at <= cutoff_at,
        )
        .order_by(Subscription.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def cancel_unactivated(session: Session, clock: Clock, deadline: timedelta) -> list[int]:
    """Cancel every subscription still pending `deadline` after it was made; return their ids."""
    now = clock.now()
    cancelled: list[int] = []
    while chunk := overdue_pending(session, now - deadline, CHUNK):
        for subscription in chunk:
            before = snapshot_of(subscription)
            end_now(subscription, now, NOT_ACTIVATED)
            announce(
                session,
                clock,
                SYSTEM,
                "subscription.cancelled",
                subscription,
                before=before,
                reason=NOT_ACTIVATED,
            )
            cancelled.append(subscription.id)
        session.commit()
    return cancelled


def run_activation_deadline() -> dict[str, object]:
    """Job: cancel the subscriptions not activated in time (ACTIVATION_DEADLINE_HOURS)."""
    clock = current_clock()
    ids = cancel_unactivated(db.session(), clock, payment_settings().activation_deadline)
    log.info("activation deadline ran", cancelled=len(ids))
    return {"at": clock.now().isoformat(), "cancelled": ids}
