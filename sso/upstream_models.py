"""Links between Yunshi users and their accounts at an upstream OpenID Connect provider."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base


class UpstreamIdentity(Base):
    """One upstream account (issuer and subject) that signs in as one Yunshi user."""

    __tablename__ = "upstream_identities"
    __table_args__ = (
        sa.UniqueConstraint("issuer", "subject"),
        # A user has at most one account at each provider, so a link cannot be taken over.
        sa.UniqueConstraint("user_id", "issuer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(sa.String(500))
    subject: Mapped[str] = mapped_column(sa.String(255))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    # The address the provider gave when the link was made, for the operator's records.
    email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]
