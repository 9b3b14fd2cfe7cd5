"""Queue outgoing mail: kept in the outbox table and written to the log."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from marketplace.clock import Clock
from marketplace.logs import get_logger
from marketplace.mail.models import OutboundEmail

log = get_logger(__name__)


def queue_email(
    session: Session,
    clock: Clock,
    *,
    to: str,
    kind: str,
    subject: str,
    body: str,
    log_body: bool | None = None,
) -> OutboundEmail:
    """Add a message to the outbox (committed with the caller's change) and log it.

    The body carries live links (confirmation, reset, invitation), so it is logged only
    outside production, where the log is the developer's mailbox.
    """
    message = OutboundEmail(
        to_address=to, kind=kind, subject=subject, body=body, created_at=clock.now()
    )
    session.add(message)
    if log_body is None:
        log_body = not current_app.config["SETTINGS"].is_production
    details = {"body": body} if log_body else {}
    log.info("email queued", to=to, kind=kind, subject=subject, **details)
    return message
