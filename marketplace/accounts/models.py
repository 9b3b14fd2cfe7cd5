"""The user account."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base


class User(Base):
    """A person who signs in; belongs to organizations through memberships."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(100))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    email_confirmed_at: Mapped[datetime | None]
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    # Bumped on password change so every older session stops working.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]

    # Flask-Login's user protocol; the id carries the epoch so old sessions die.
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """Return the session identifier: user id and session epoch."""
        return f"{self.id}:{self.session_epoch}"

    @property
    def is_confirmed(self) -> bool:
        """Tell whether the user has confirmed the email address."""
        return self.email_confirmed_at is not None
