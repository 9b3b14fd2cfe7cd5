"""Events waiting in the outbox for delivery to the organizations they concern."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base


class OutboxEvent(Base):
    """A domain event, committed with the change it announces and delivered afterwards."""

    __tablename__ = "outbox_events"
    __table_args__ = (sa.CheckConstraint("attempts >= 0", name="attempts_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(64), index=True)
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    aggregate_type: Mapped[str] = mapped_column(sa.String(40))
    aggregate_id: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    # 1, 2, 3… per subscription (or, for events of no subscription, per aggregate), so
    # receivers can order what arrives out of order; None until assigned (bulk inserts).
    sequence: Mapped[int | None]


class EventSequence(Base):
    """The last sequence number given to the events of one subscription or aggregate."""

    __tablename__ = "event_sequences"

    scope_type: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    scope_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    last_value: Mapped[int]
