"""Record events in the outbox, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from marketplace.clock import Clock
from marketplace.events.models import OutboxEvent


def record_event(
    session: Session,
    clock: Clock,
    *,
    type: str,
    organization_id: int | None,
    aggregate: tuple[str, object],
    payload: Mapping[str, Any],
) -> OutboxEvent:
    """Add an event to the session; it commits (or rolls back) with the change it announces.

    The payload must hold JSON values only (strings, numbers, booleans, lists, dicts).
    """
    aggregate_type, aggregate_id = aggregate
    event = OutboxEvent(
        type=type,
        organization_id=organization_id,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=dict(payload),
        created_at=clock.now(),
        attempts=0,
    )
    session.add(event)
    return event
