"""Outbox reactions that end app sign-ins when a subscription stops serving or a seat is taken.

Registered from app.py: billing announces, sso reacts, neither imports the other. Tokens are
also checked live against the subscription on every use, so these handlers make the end
durable and visible (a revoked grant stays revoked if the subscription is reinstated).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.clock import current_clock
from marketplace.events.models import OutboxEvent
from sso.provider.grants import RevokedBecause, revoke_grants

ENDING_EVENTS = ("subscription.suspended", "subscription.cancelled")
SEAT_EVENT = "subscription.seat_unassigned"


def on_subscription_ended(session: Session, event: OutboxEvent) -> None:
    """Revoke every grant made under a subscription that was suspended or cancelled."""
    revoke_grants(
        session,
        current_clock(),
        RevokedBecause.SUBSCRIPTION_ENDED,
        subscription_id=int(event.aggregate_id),
    )


def on_seat_unassigned(session: Session, event: OutboxEvent) -> None:
    """Revoke the grants of the user whose seat was taken back."""
    revoke_grants(
        session,
        current_clock(),
        RevokedBecause.SEAT_REMOVED,
        subscription_id=int(event.aggregate_id),
        user_id=int(event.payload["user_id"]),
    )
