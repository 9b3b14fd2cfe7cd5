"""Firm profiles, the size standards they are classified by, and park membership."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, check_in
from marketplace.orgs.models import Organization


class UsccStatus(StrEnum):
    """How far a firm's credit code has been checked."""

    VALID = "valid"  # format and both check characters hold
    UNVERIFIED = "unverified"  # check character 18 fails: waits for an operator
    CONFIRMED = "confirmed"  # an operator confirmed an unverified code
    REJECTED = "rejected"  # an operator rejected it: the firm must correct it


class ParkMembershipStatus(StrEnum):
    """Where a firm's request to join a park stands."""

    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class SizeStandardRecord(Base):
    """An effective-dated SME size standard, kept as data so a revision needs no release."""

    __tablename__ = "size_standards"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    valid_from: Mapped[date]
    valid_to: Mapped[date | None]
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    loaded_at: Mapped[datetime]


class SmeProfile(Base):
    """An SME's registration: legal identity, industry, figures and its size class."""

    __tablename__ = "sme_profiles"
    __table_args__ = (sa.CheckConstraint(check_in("uscc_status", UsccStatus), name="uscc_status"),)

    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    legal_name: Mapped[str] = mapped_column(sa.String(200))
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)
    uscc_status: Mapped[str] = mapped_column(sa.String(16))
    uscc_reviewed_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    uscc_reviewed_at: Mapped[datetime | None]
    uscc_review_note: Mapped[str | None] = mapped_column(sa.String(500))
    legal_form: Mapped[str] = mapped_column(sa.String(20))
    region_code: Mapped[str] = mapped_column(sa.String(6))
    industry_code: Mapped[str] = mapped_column(sa.String(40))
    staff_count: Mapped[int | None]
    revenue_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    total_assets_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    established_on: Mapped[date | None]
    size_class: Mapped[str] = mapped_column(sa.String(10))
    size_standard_id: Mapped[str] = mapped_column(sa.ForeignKey("size_standards.id"))
    classified_at: Mapped[datetime]
    time_zone: Mapped[str] = mapped_column(sa.String(40), default="Asia/Shanghai")
    # Flagged by the operator from the credit list (严重失信主体名单); programs may exclude it.
    seriously_dishonest: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    dishonest_note: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    organization: Mapped[Organization] = relationship()


class ParkMembership(Base):
    """A firm's request to join an industrial park, and the park's decision."""

    __tablename__ = "park_memberships"
    __table_args__ = (
        sa.UniqueConstraint("park_id", "firm_id"),
        sa.CheckConstraint(check_in("status", ParkMembershipStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    park_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    firm_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16))
    message: Mapped[str | None] = mapped_column(sa.String(500))
    requested_at: Mapped[datetime]
    requested_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    decision_reason: Mapped[str | None] = mapped_column(sa.String(500))

    park: Mapped[Organization] = relationship(foreign_keys=[park_id])
    firm: Mapped[Organization] = relationship(foreign_keys=[firm_id])
