"""Idempotency keys: a client's creating request, remembered with the answer it got."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base

KEY_MAX = 255


class IdempotencyKey(Base):
    """A key a client sent with a creating request, what it asked and what it was answered.

    The row is claimed before the request runs (no status yet) and completed with the answer
    afterwards; the unique constraint lets exactly one of two racing first requests run.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (sa.UniqueConstraint("client_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    client_id: Mapped[str] = mapped_column(sa.String(64))
    key: Mapped[str] = mapped_column(sa.String(KEY_MAX))
    request_method: Mapped[str] = mapped_column(sa.String(8))
    request_path: Mapped[str] = mapped_column(sa.String(500))
    request_hash: Mapped[str] = mapped_column(sa.String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[Any | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime]
