"""The mail outbox."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base


class OutboundEmail(Base):
    """A message queued for sending; in development it is only logged and kept here."""

    __tablename__ = "outbound_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(sa.String(254), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
