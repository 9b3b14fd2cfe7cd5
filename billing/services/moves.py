"""Announce a subscription's moves: the lifecycle check, its outbox event and audit entry.

Shared by every service that changes a subscription, the period close included, so each
move is looked up in billing.lifecycle the same way and announced the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from billing.lifecycle import IllegalMove, Move, next_status
from billing.models import Subscription
from marketplace.audit.services import Actor, record
from marketplace.clock import Clock
from marketplace.errors import Conflict
from marketplace.events.services import record_event

AUDITED = ("status", "plan_id", "seats", "cancel_at_period_end", "scheduled_plan_id")


class IllegalTransition(Conflict):
    """A lifecycle move the subscription's status does not allow."""

    code = "illegal_transition"
    title = "This subscription cannot make that move now"


def move(subscription: Subscription, step: Move) -> str:
    """Return the status a move leads to; raise IllegalTransition if it is not allowed."""
    try:
        return next_status(subscription.status, step)
    except IllegalMove as error:
        # Named current_status: a problem document's own `status` member is the HTTP status.
        raise IllegalTransition(
            str(error), current_status=error.status, move=error.move.value
        ) from None


def event_payload(subscription: Subscription) -> dict[str, Any]:
    """Describe a subscription the way every subscription event does."""
    plan = subscription.plan
    return {
        "subscription_id": subscription.id,
        "firm_id": subscription.organization_id,
        "listing_id": subscription.listing_id,
        "plan_code": plan.code,
        "plan_version": plan.version,
        "status": subscription.status,
        "seats": subscription.seats,
        "sandbox": subscription.sandbox,
        "current_period_start": _iso(subscription.current_period_start),
        "current_period_end": _iso(subscription.current_period_end),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def announce(
    session: Session,
    clock: Clock,
    actor: Actor,
    event: str,
    subscription: Subscription,
    *,
    before: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    """Write a subscription's outbox event and its audit entry in the caller's transaction."""
    session.flush()
    payload = event_payload(subscription) | extra
    record_event(
        session,
        clock,
        type=event,
        organization_id=subscription.vendor_id,
        aggregate=("subscription", subscription.id),
        payload=payload,
    )
    after = {key: getattr(subscription, key) for key in AUDITED}
    record(
        session,
        clock,
        actor,
        event,
        ("subscription", subscription.id),
        before=before,
        after=after,
        subject_org_id=subscription.organization_id,
    )


def snapshot_of(subscription: Subscription) -> dict[str, Any]:
    """Copy the audited fields before a change."""
    return {key: getattr(subscription, key) for key in AUDITED}
