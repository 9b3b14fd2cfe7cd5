"""Subscriptions and their seats, usage records, invoices and the counters behind them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billing.periods import DEFAULT_TIME_ZONE
from catalog.models import QUANTITY, Listing, Plan
from marketplace.db import Base, check_in
from marketplace.orgs.models import Organization

# SQLite numbers rows only through an INTEGER PRIMARY KEY; PostgreSQL needs the wider type.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class SubscriptionStatus(StrEnum):
    """Where a subscription stands; see billing.lifecycle for the moves between them."""

    PENDING = "pending"  # waiting for the vendor to activate it
    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    SUSPENDED = "suspended"
    CANCELLED = "cancelled"


LIVE_STATUSES = (
    SubscriptionStatus.PENDING,
    SubscriptionStatus.TRIALING,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
    SubscriptionStatus.SUSPENDED,
)


class Subscription(Base):
    """A firm's subscription to one plan version of a listing, billed in periods."""

    __tablename__ = "subscriptions"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", SubscriptionStatus), name="status"),
        sa.CheckConstraint("seats >= 0", name="seats_non_negative"),
        sa.CheckConstraint(
            "current_period_end IS NULL OR current_period_end > current_period_start",
            name="period_forward",
        ),
        # One live subscription per firm and listing: a second click subscribes once.
        sa.Index(
            "uq_subscriptions_live_per_listing",
            "organization_id",
            "listing_id",
            unique=True,
            postgresql_where=sa.text("status <> 'cancelled'"),
            sqlite_where=sa.text("status <> 'cancelled'"),
        ),
        sa.Index("ix_subscriptions_due", "period_open", "current_period_end"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    vendor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    listing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("listings.id", ondelete="RESTRICT"), index=True
    )
    plan_id: Mapped[int] = mapped_column(sa.ForeignKey("plans.id", ondelete="RESTRICT"))
    scheduled_plan_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("plans.id", ondelete="RESTRICT")
    )
    status: Mapped[str] = mapped_column(sa.String(16), default=SubscriptionStatus.PENDING)
    sandbox: Mapped[bool] = mapped_column(default=False)
    seats: Mapped[int] = mapped_column(default=0)
    time_zone: Mapped[str] = mapped_column(sa.String(64), default=DEFAULT_TIME_ZONE)
    # Periods are counted from the anchor; the trial, if any, runs before it.
    anchor_at: Mapped[datetime | None]
    trial_end_at: Mapped[datetime | None]
    current_period_start: Mapped[datetime | None]
    current_period_end: Mapped[datetime | None]
    # True while the current period accrues charges that a close still has to invoice.
    period_open: Mapped[bool] = mapped_column(default=False)
    # The last period boundary that has its invoice; NULL until the first one is billed.
    billed_boundary_at: Mapped[datetime | None]
    # Set by an upgrade: usage of the current period before it was billed at the change.
    usage_from: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime | None]
    past_due_at: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(sa.String(500))
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    organization: Mapped[Organization] = relationship(foreign_keys=[organization_id])
    vendor: Mapped[Organization] = relationship(foreign_keys=[vendor_id])
    listing: Mapped[Listing] = relationship()
    plan: Mapped[Plan] = relationship(foreign_keys=[plan_id])
    scheduled_plan: Mapped[Plan | None] = relationship(foreign_keys=[scheduled_plan_id])
    seat_assignments: Mapped[list[SeatAssignment]] = relationship(
        back_populates="subscription", order_by="SeatAssignment.id"
    )


class SeatAssignment(Base):
    """A seat of a subscription given to a named user of the firm."""

    __tablename__ = "seat_assignments"
    __table_args__ = (
        sa.Index(
            "uq_seat_assignments_current",
            "subscription_id",
            "user_id",
            unique=True,
            postgresql_where=sa.text("unassigned_at IS NULL"),
            sqlite_where=sa.text("unassigned_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime]
    unassigned_at: Mapped[datetime | None]

    subscription: Mapped[Subscription] = relationship(back_populates="seat_assignments")


class PendingCharge(Base):
    """A charge or credit waiting for the subscription's next invoice, e.g. a proration."""

    __tablename__ = "pending_charges"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(32))
    description_key: Mapped[str] = mapped_column(sa.String(40))
    # The metered dimension of usage billed at a plan change; NULL for other charges.
    dimension: Mapped[str | None] = mapped_column(sa.String(64))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal(1))
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plans.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime]
    invoice_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("invoices.id", ondelete="SET NULL"), index=True
    )


class SandboxFirm(Base):
    """A test firm a vendor's sandbox owns: its subscriptions never charge anyone."""

    __tablename__ = "sandbox_firms"

    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    vendor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime]


class TestClock(Base):
    """The frozen time of one firm's sandbox; the operator moves it forward."""

    __tablename__ = "test_clocks"
    __test__ = False  # not a test case, whatever pytest thinks of the name

    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    frozen_at: Mapped[datetime]
    created_at: Mapped[datetime]
    advanced_at: Mapped[datetime | None]


class UsageEvent(Base):
    """One accepted usage record, stored once per vendor, mode and idempotency key.

    The mode is part of the key: a vendor's sandbox tests reuse keys freely, and must never
    make a live record look like a duplicate.
    """

    __tablename__ = "usage_events"
    __table_args__ = (
        sa.UniqueConstraint("vendor_id", "sandbox", "idempotency_key"),
        sa.CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        sa.Index(
            "ix_usage_events_subscription_time", "subscription_id", "dimension", "occurred_at"
        ),
        # The vendor's reconciliation listing: its records in id order, a page at a time.
        sa.Index("ix_usage_events_vendor_order", "vendor_id", "sandbox", "id"),
    )

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="RESTRICT"))
    sandbox: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="RESTRICT")
    )
    dimension: Mapped[str] = mapped_column(sa.String(64))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    # What a unique-count dimension counts, e.g. a user id; NULL for the others.
    unique_value: Mapped[str | None] = mapped_column(sa.String(255))
    occurred_at: Mapped[datetime]
    idempotency_key: Mapped[str] = mapped_column(sa.String(255))
    attributes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    received_at: Mapped[datetime]
    duplicates: Mapped[int] = mapped_column(default=0)


class UsageRejection(Base):
    """A usage record that was refused, kept so the vendor can reconcile what it sent."""

    __tablename__ = "usage_rejections"
    __table_args__ = (sa.Index("ix_usage_rejections_vendor_received", "vendor_id", "received_at"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    # The mode of the client that sent it: each mode's listing shows only its own.
    sandbox: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(255))
    subscription_id: Mapped[int | None]
    dimension: Mapped[str | None] = mapped_column(sa.String(64))
    code: Mapped[str] = mapped_column(sa.String(40))
    message: Mapped[str] = mapped_column(sa.String(500))
    record: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    received_at: Mapped[datetime]


class InvoiceStatus(StrEnum):
    """Where an invoice stands: drafts change, open invoices are owed, the rest are settled."""

    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"
    UNCOLLECTIBLE = "uncollectible"


class Invoice(Base):
    """What a firm owes for one subscription at one period boundary.

    The invoice at a boundary bills the period that starts there in advance (recurring
    fee, seats) and the period that ends there in arrears (usage, prorations), so a
    boundary has exactly one invoice: the unique (subscription, period_start) makes a
    second close of the same boundary a no-op.
    """

    __tablename__ = "invoices"
    __table_args__ = (
        sa.UniqueConstraint("subscription_id", "period_start"),
        sa.CheckConstraint(check_in("status", InvoiceStatus), name="status"),
        sa.CheckConstraint(
            "status = 'draft' OR number IS NOT NULL OR sandbox", name="number_when_final"
        ),
        sa.Index("ix_invoices_draft_grace", "status", "grace_until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    vendor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="RESTRICT"), index=True
    )
    sandbox: Mapped[bool] = mapped_column(default=False)
    number: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    status: Mapped[str] = mapped_column(sa.String(16), default=InvoiceStatus.DRAFT)
    currency: Mapped[str] = mapped_column(sa.String(3), default="CNY")
    # The boundary: the start of the period billed in advance.
    period_start: Mapped[datetime]
    period_end: Mapped[datetime | None]
    # The period that ended at the boundary, billed in arrears (NULL on a first invoice).
    usage_period_start: Mapped[datetime | None]
    usage_period_end: Mapped[datetime | None]
    subtotal_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    tax_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    total_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    amount_due_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    vat_rate: Mapped[Decimal] = mapped_column(sa.Numeric(5, 4))
    created_at: Mapped[datetime]
    grace_until: Mapped[datetime]
    finalized_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    voided_at: Mapped[datetime | None]

    subscription: Mapped[Subscription] = relationship()
    organization: Mapped[Organization] = relationship(foreign_keys=[organization_id])
    vendor: Mapped[Organization] = relationship(foreign_keys=[vendor_id])
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", cascade="all, delete-orphan", order_by="InvoiceLine.position"
    )


class LineKind(StrEnum):
    """What an invoice line charges for."""

    RECURRING = "recurring"
    SEATS = "seats"
    USAGE = "usage"
    PRORATION = "proration"
    SUBSIDY = "subsidy"


class InvoiceLine(Base):
    """One line of an invoice; amounts include VAT, the VAT part shown beside them."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        sa.UniqueConstraint("invoice_id", "position"),
        sa.CheckConstraint(check_in("kind", LineKind), name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(sa.ForeignKey("invoices.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(sa.String(16))
    description_key: Mapped[str] = mapped_column(sa.String(40))
    dimension: Mapped[str | None] = mapped_column(sa.String(64))
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    tax_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    plan_id: Mapped[int | None] = mapped_column(sa.ForeignKey("plans.id", ondelete="RESTRICT"))
    # The program a subsidy line draws on (kind subsidy only).
    subsidy_program_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("subsidy_programs.id", ondelete="RESTRICT")
    )

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class InvoiceNumberCounter(Base):
    """The last invoice number used in a year; a row lock keeps the numbers gapless."""

    __tablename__ = "invoice_number_counters"
    __table_args__ = (sa.CheckConstraint("last_number >= 0", name="last_number_non_negative"),)

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class CreditNote(Base):
    """A correction that reduces what a finalized invoice asks for."""

    __tablename__ = "credit_notes"
    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    tax_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    reason: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    invoice: Mapped[Invoice] = relationship()
