"""Payment attempts on invoices, the Stripe events received, dunning and refunds."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from billing.models import CreditNote, Invoice
from marketplace.db import Base, check_in


class AttemptStatus(StrEnum):
    """What Stripe said of one attempt to collect an invoice."""

    CREATING = "creating"  # the key is taken; Stripe has not answered yet
    PENDING = "pending"  # Stripe answered, the outcome is not known yet (3-D Secure, async)
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class PaymentAttempt(Base):
    """One off-session PaymentIntent made to collect an invoice.

    status is what Stripe last said; settled_at is when that outcome was applied to the
    invoice and its dunning (by a webhook, or the sweep that stands in for a lost one).
    """

    __tablename__ = "payment_attempts"
    __table_args__ = (
        sa.UniqueConstraint("invoice_id", "number"),
        sa.CheckConstraint(check_in("status", AttemptStatus), name="status"),
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invoices.id", ondelete="RESTRICT"), index=True
    )
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    number: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    # The card the attempt was made for, so a resend with its key asks Stripe the same thing.
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(255))
    stripe_payment_method_id: Mapped[str | None] = mapped_column(sa.String(255))
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    currency: Mapped[str] = mapped_column(sa.String(3))
    status: Mapped[str] = mapped_column(sa.String(16), default=AttemptStatus.CREATING)
    failure_code: Mapped[str | None] = mapped_column(sa.String(100))
    failure_message: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    settled_at: Mapped[datetime | None]

    invoice: Mapped[Invoice] = relationship()


class StripeEvent(Base):
    """A Stripe webhook event received once: inserting its id first makes a repeat a no-op."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100))
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(255), index=True)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    # What processing made of it, e.g. "paid", "failure", "stale", "unknown_payment_intent".
    outcome: Mapped[str | None] = mapped_column(sa.String(40))


class DunningState(Base):
    """How collecting an unpaid invoice goes: failures so far, the next retry, the grace."""

    __tablename__ = "dunning_states"
    __table_args__ = (
        sa.CheckConstraint("failed_attempts >= 0", name="failed_attempts_non_negative"),
        sa.Index("ix_dunning_states_open_retry", "resolved_at", "next_retry_at"),
    )

    invoice_id: Mapped[int] = mapped_column(
        sa.ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    last_failure_code: Mapped[str | None] = mapped_column(sa.String(100))
    last_failed_at: Mapped[datetime | None]
    next_retry_at: Mapped[datetime | None]
    suspended_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]

    invoice: Mapped[Invoice] = relationship()


class PaymentRefund(Base):
    """The Stripe refund of a credit note on a paid invoice: one per credit note."""

    __tablename__ = "payment_refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    credit_note_id: Mapped[int] = mapped_column(
        sa.ForeignKey("credit_notes.id", ondelete="RESTRICT"), unique=True
    )
    payment_attempt_id: Mapped[int] = mapped_column(
        sa.ForeignKey("payment_attempts.id", ondelete="RESTRICT"), index=True
    )
    idempotency_key: Mapped[str] = mapped_column(sa.String(100), unique=True)
    stripe_refund_id: Mapped[str | None] = mapped_column(sa.String(255), unique=True)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    status: Mapped[str] = mapped_column(sa.String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    credit_note: Mapped[CreditNote] = relationship()
    attempt: Mapped[PaymentAttempt] = relationship()
