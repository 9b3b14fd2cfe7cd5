"""Queue outgoing mail: kept in the outbox table and written to the log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from marketplace.clock import Clock
from marketplace.logs import get_logger
from marketplace.mail.models import OutboundEmail

log = get_logger(__name__)


def queue_email(
    session: Session, clock: Clock, *, to: str, kind: str, subject: str, body: str
) -> OutboundEmail:
    """Add a message to the outbox (committed with the caller's change) and log it."""
    message = OutboundEmail(
        to_address=to, kind=kind, subject=subject, body=body, created_at=clock.now()
    )
    session.add(message)
    log.info("email queued", to=to, kind=kind, subject=subject, body=body)
    return message
