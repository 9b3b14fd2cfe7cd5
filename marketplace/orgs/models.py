"""Organizations, memberships and invitations."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import User
from marketplace.db import Base, check_in


class OrgKind(StrEnum):
    """The four kinds of organization on the marketplace."""

    SME = "sme"
    VENDOR = "vendor"
    PARK = "park"
    OPERATOR = "operator"


class OrgStatus(StrEnum):
    """Whether an organization may act."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


class Role(StrEnum):
    """A member's role inside one organization."""

    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    BILLING = "billing"


class Organization(Base):
    """An SME firm, a vendor, an industrial park or the operator."""

    __tablename__ = "organizations"
    __table_args__ = (
        sa.CheckConstraint(check_in("kind", OrgKind), name="kind"),
        sa.CheckConstraint(check_in("status", OrgStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(16), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16), default=OrgStatus.ACTIVE)
    suspended_reason: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="organization", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:
        """Tell whether the organization may act."""
        return self.status == OrgStatus.ACTIVE


class Membership(Base):
    """A user's place in an organization, with a role."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "organization_id"),
        sa.CheckConstraint(check_in("role", Role), name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]

    user: Mapped[User] = relationship()
    organization: Mapped[Organization] = relationship(back_populates="memberships")


class Invitation(Base):
    """An emailed offer to join an organization with a role; the token is stored hashed."""

    __tablename__ = "invitations"
    __table_args__ = (sa.CheckConstraint(check_in("role", Role), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(sa.String(254))
    role: Mapped[str] = mapped_column(sa.String(16))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship()
