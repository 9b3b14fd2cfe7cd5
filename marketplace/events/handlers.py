"""Reactions to outbox events inside the marketplace, registered at start-up.

A package that must react to another's event without importing it (billing collecting a
finalized invoice, sso revoking tokens of a cancelled subscription) registers a handler
here from app.py; the outbox relay calls every handler of an event's type once, in the
relay's transaction, before the event goes out to vendors' webhooks. A handler must be
idempotent: a relay that crashes after a handler ran will run it again.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from marketplace.events.models import OutboxEvent

Handler = Callable[[Session, OutboxEvent], None]

_handlers: dict[str, list[Handler]] = {}


def register_handler(event_type: str, handler: Handler) -> None:
    """Call handler for every relayed event of a type (registering twice is a no-op)."""
    handlers = _handlers.setdefault(event_type, [])
    if handler not in handlers:
        handlers.append(handler)


def handlers_for(event_type: str) -> tuple[Handler, ...]:
    """Return the handlers registered for an event type, in registration order."""
    return tuple(_handlers.get(event_type, ()))
