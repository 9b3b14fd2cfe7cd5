"""Subsidy programs, their versions, enrollments, grants and the append-only quota ledger.

What is left of a program's budget is never a stored counter: it is the budget minus the
sum of the program's ledger entries, so every fen granted or given back is a row.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from billing.models import BIG_ID
from marketplace.db import Base, check_in


class ProgramStatus(StrEnum):
    """Where a program stands; only active programs grant."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    CLOSED = "closed"


class EnrollmentMode(StrEnum):
    """How firms join a program."""

    AUTOMATIC = "automatic"  # every eligible member firm
    APPLICATION = "application"  # firms apply, the park admin decides


class EnrollmentStatus(StrEnum):
    """Where a firm's enrollment in a program stands."""

    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class GrantStatus(StrEnum):
    """Where a grant stands: held on finalization, settled by payment or given back."""

    RESERVED = "reserved"
    CONFIRMED = "confirmed"
    RELEASED = "released"


class EntryKind(StrEnum):
    """What a ledger entry records about a grant."""

    RESERVE = "reserve"  # +amount: the budget is taken
    CONFIRM = "confirm"  # 0: the invoice was paid, the amount stays taken
    RELEASE = "release"  # -amount: the budget is given back


class SubsidyProgram(Base):
    """A park's subsidy program; its row is what a reservation locks."""

    __tablename__ = "subsidy_programs"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", ProgramStatus), name="status"),
        sa.CheckConstraint(check_in("enrollment", EnrollmentMode), name="enrollment"),
        sa.CheckConstraint("budget_fen >= 0", name="budget_non_negative"),
        sa.CheckConstraint("current_version >= 1", name="current_version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    park_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[str] = mapped_column(sa.String(16), default=ProgramStatus.DRAFT)
    enrollment: Mapped[str] = mapped_column(sa.String(16), default=EnrollmentMode.APPLICATION)
    # The live budget; raising or lowering it applies at once, unlike the versioned rules.
    budget_fen: Mapped[int] = mapped_column(sa.BigInteger)
    # The newest version written (it may take effect later than now).
    current_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class SubsidyProgramVersion(Base):
    """One version of a program's rules, for invoices finalized at or after takes_effect_at."""

    __tablename__ = "subsidy_program_versions"
    __table_args__ = (
        sa.UniqueConstraint("program_id", "version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.Index("ix_subsidy_program_versions_in_force", "program_id", "takes_effect_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subsidy_programs.id", ondelete="RESTRICT")
    )
    version: Mapped[int]
    # The ProgramRules fields other than program_id, version and budget_fen, as JSON.
    rules: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    takes_effect_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime]


class SubsidyEnrollment(Base):
    """A firm's application to, or automatic enrollment in, one program."""

    __tablename__ = "subsidy_enrollments"
    __table_args__ = (
        sa.UniqueConstraint("program_id", "firm_id"),
        sa.CheckConstraint(check_in("status", EnrollmentStatus), name="status"),
        sa.CheckConstraint(
            "status <> 'rejected' OR reason IS NOT NULL", name="rejected_has_reason"
        ),
        sa.CheckConstraint(
            "status IN ('applied', 'withdrawn') OR decided_at IS NOT NULL", name="decided_at_set"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subsidy_programs.id", ondelete="RESTRICT")
    )
    firm_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), default=EnrollmentStatus.APPLIED)
    # What the firm wrote with its latest application.
    message: Mapped[str | None] = mapped_column(sa.String(500))
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    requested_at: Mapped[datetime]
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # The size class the decision saw, and the standard version that classified the firm.
    size_class: Mapped[str | None] = mapped_column(sa.String(16))
    size_standard_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("size_standards.id", ondelete="RESTRICT")
    )


class SubsidyParkPolicy(Base):
    """What a park limits across all its programs: a firm's subsidy per calendar year."""

    __tablename__ = "subsidy_park_policies"
    __table_args__ = (
        sa.CheckConstraint(
            "firm_year_cap_fen IS NULL OR firm_year_cap_fen >= 0", name="cap_non_negative"
        ),
    )

    park_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    firm_year_cap_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    updated_at: Mapped[datetime]


class SubsidyFirmLock(Base):
    """A row per (park, firm), made on first use and locked while that firm is granted.

    Program locks alone do not serialize two invoices of one firm drawing on different
    programs of a park, and the park's annual cap per firm is shared by all of them.
    """

    __tablename__ = "subsidy_firm_locks"

    park_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    firm_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )


class SubsidyGrant(Base):
    """What one program grants one line of one invoice; one row, whatever the retries."""

    __tablename__ = "subsidy_grants"
    __table_args__ = (
        sa.UniqueConstraint("invoice_id", "line_key", "program_id"),
        sa.CheckConstraint(check_in("status", GrantStatus), name="status"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint(
            "(status = 'reserved') = (settled_at IS NULL)", name="settled_at_when_settled"
        ),
        sa.Index("ix_subsidy_grants_program_firm", "program_id", "firm_id"),
        sa.Index("ix_subsidy_grants_firm_reserved_at", "firm_id", "reserved_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id", ondelete="RESTRICT"))
    line_key: Mapped[str] = mapped_column(sa.String(64))
    program_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subsidy_programs.id", ondelete="RESTRICT")
    )
    program_version: Mapped[int]
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="RESTRICT"))
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="RESTRICT"))
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(16), default=GrantStatus.RESERVED)
    reserved_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]


class SubsidyLedgerEntry(Base):
    """An append-only movement of a program's budget; its rows sum to the budget used."""

    __tablename__ = "subsidy_ledger_entries"
    __table_args__ = (
        sa.UniqueConstraint("grant_id", "kind"),
        sa.CheckConstraint(check_in("kind", EntryKind), name="kind"),
        sa.CheckConstraint(
            "(kind = 'reserve' AND amount_fen > 0) OR (kind = 'confirm' AND amount_fen = 0)"
            " OR (kind = 'release' AND amount_fen < 0)",
            name="sign_by_kind",
        ),
        sa.Index("ix_subsidy_ledger_entries_program_vendor", "program_id", "vendor_id"),
        sa.Index("ix_subsidy_ledger_entries_program_firm", "program_id", "firm_id"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    grant_id: Mapped[int] = mapped_column(sa.ForeignKey("subsidy_grants.id", ondelete="RESTRICT"))
    # Copied from the grant so the sums that granting reads need no join.
    program_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subsidy_programs.id", ondelete="RESTRICT")
    )
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="RESTRICT"))
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(sa.String(16))
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    at: Mapped[datetime]


class SubsidyBudgetAlert(Base):
    """A program's use of its budget crossed a threshold (80 or 100 percent): once per budget."""

    __tablename__ = "subsidy_budget_alerts"
    __table_args__ = (
        sa.UniqueConstraint("program_id", "budget_fen", "percent"),
        sa.CheckConstraint("percent > 0", name="percent_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subsidy_programs.id", ondelete="RESTRICT"), index=True
    )
    # The budget the threshold was measured against; raising it arms the alerts again.
    budget_fen: Mapped[int] = mapped_column(sa.BigInteger)
    percent: Mapped[int]
    used_fen: Mapped[int] = mapped_column(sa.BigInteger)
    at: Mapped[datetime]
