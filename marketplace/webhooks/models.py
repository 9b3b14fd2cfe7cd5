"""Vendors' webhook endpoints, one delivery per (endpoint, event), and every attempt made."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, check_in
from marketplace.events.models import OutboxEvent


class EndpointStatus(StrEnum):
    """Whether an endpoint gets events: enabled, failing (retries ran out) or disabled."""

    ENABLED = "enabled"
    FAILING = "failing"
    DISABLED = "disabled"


class DeliveryStatus(StrEnum):
    """Where one event's delivery to one endpoint stands."""

    PENDING = "pending"
    SENDING = "sending"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # the retry window ran out


class AttemptOutcome(StrEnum):
    """How one HTTP attempt ended."""

    SUCCEEDED = "succeeded"
    HTTP_ERROR = "http_error"  # an answer outside 2xx, a redirect included
    TIMEOUT = "timeout"
    CONNECTION_ERROR = "connection_error"
    REFUSED = "refused"  # the URL is not allowed (scheme, private address)
    INTERRUPTED = "interrupted"  # the worker stopped before the attempt ended


class WebhookEndpoint(Base):
    """A URL of a vendor's that receives the event types it chose, live or sandbox."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.CheckConstraint(check_in("status", EndpointStatus), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    event_types: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    sandbox: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(sa.String(16), default=EndpointStatus.ENABLED)
    # Signing secrets are sealed with a key derived from the app's SECRET_KEY.
    secret_sealed: Mapped[str] = mapped_column(sa.Text)
    previous_secret_sealed: Mapped[str | None] = mapped_column(sa.Text)
    previous_secret_expires_at: Mapped[datetime | None]
    secret_rotated_at: Mapped[datetime | None]
    failing_since: Mapped[datetime | None]
    failure_notified_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    def wants(self, event_type: str) -> bool:
        """Tell whether the endpoint subscribed to an event type."""
        return event_type in self.event_types


class WebhookDelivery(Base):
    """One event on its way to one endpoint, with its retry state."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("endpoint_id", "event_id"),
        sa.CheckConstraint(check_in("status", DeliveryStatus), name="status"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(
        sa.ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    # Asked for by hand (a test event, a redelivery): sent even while the endpoint fails.
    manual: Mapped[bool] = mapped_column(default=False)
    next_attempt_at: Mapped[datetime | None]
    # Start of the current retry window: the first attempt, or the last manual redelivery.
    window_started_at: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    endpoint: Mapped[WebhookEndpoint] = relationship()
    event: Mapped[OutboxEvent] = relationship()


class WebhookAttempt(Base):
    """One HTTP request of a delivery: when, how long, what came back."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (
        sa.UniqueConstraint("delivery_id", "number"),
        sa.CheckConstraint(
            f"outcome IS NULL OR {check_in('outcome', AttemptOutcome)}", name="outcome"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    manual: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(sa.String(20))  # None while in flight
    status_code: Mapped[int | None]
    latency_ms: Mapped[int | None]
    response_excerpt: Mapped[str] = mapped_column(sa.Text, default="")
    error: Mapped[str] = mapped_column(sa.String(500), default="")


def event_body(event: OutboxEvent) -> dict[str, Any]:
    """Return the JSON object a webhook carries for an event."""
    return {
        "id": event.id,
        "type": event.type,
        "created_at": event.created_at.isoformat(),
        "sequence": event.sequence,
        "sandbox": bool(event.payload.get("sandbox", False)),
        "data": event.payload,
    }
