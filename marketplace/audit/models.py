"""The audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base


class AuditEntry(Base):
    """Who did what to which record, when, with the record before and after."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    actor_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    actor_org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="SET NULL")
    )
    # The organization whose data the action touched; lets a tenant read its own trail.
    subject_org_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    target_type: Mapped[str] = mapped_column(sa.String(40))
    target_id: Mapped[str] = mapped_column(sa.String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
