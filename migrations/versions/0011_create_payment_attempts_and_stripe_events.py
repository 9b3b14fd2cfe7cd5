"""Create payment attempts, dunning state, refunds and the received Stripe events.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "stripe_events",
        sa.Column("id", sa.String(length=255), nullable=False),
        sa.Column("type", sa.String(length=100), nullable=False),
        sa.Column("payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("received_at", MOMENT, nullable=False),
        sa.Column("processed_at", MOMENT, nullable=True),
        sa.Column("outcome", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stripe_events")),
    )
    op.create_index(
        op.f("ix_stripe_events_payment_intent_id"), "stripe_events", ["payment_intent_id"]
    )
    op.create_table(
        "payment_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("stripe_payment_intent_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=True),
        sa.Column("stripe_payment_method_id", sa.String(length=255), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("failure_code", sa.String(length=100), nullable=True),
        sa.Column("failure_message", sa.String(length=500), nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.Column("settled_at", MOMENT, nullable=True),
        sa.CheckConstraint(
            "status IN ('creating', 'pending', 'succeeded', 'failed')",
            name=op.f("ck_payment_attempts_status"),
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_payment_attempts_amount_positive")),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_payment_attempts_invoice_id_invoices"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payment_attempts_organization_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_attempts")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_attempts_idempotency_key")),
        sa.UniqueConstraint(
            "invoice_id", "number", name=op.f("uq_payment_attempts_invoice_id_number")
        ),
        sa.UniqueConstraint(
            "stripe_payment_intent_id", name=op.f("uq_payment_attempts_stripe_payment_intent_id")
        ),
    )
    op.create_index(op.f("ix_payment_attempts_invoice_id"), "payment_attempts", ["invoice_id"])
    op.create_index(
        op.f("ix_payment_attempts_organization_id"), "payment_attempts", ["organization_id"]
    )
    op.create_table(
        "dunning_states",
        sa.Column("invoice_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("started_at", MOMENT, nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("last_failure_code", sa.String(length=100), nullable=True),
        sa.Column("last_failed_at", MOMENT, nullable=True),
        sa.Column("next_retry_at", MOMENT, nullable=True),
        sa.Column("suspended_at", MOMENT, nullable=True),
        sa.Column("resolved_at", MOMENT, nullable=True),
        sa.CheckConstraint(
            "failed_attempts >= 0", name=op.f("ck_dunning_states_failed_attempts_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_dunning_states_invoice_id_invoices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_dunning_states_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("invoice_id", name=op.f("pk_dunning_states")),
    )
    op.create_index(
        "ix_dunning_states_open_retry", "dunning_states", ["resolved_at", "next_retry_at"]
    )
    op.create_index(
        op.f("ix_dunning_states_subscription_id"), "dunning_states", ["subscription_id"]
    )
    op.create_table(
        "payment_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("credit_note_id", sa.Integer(), nullable=False),
        sa.Column("payment_attempt_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=100), nullable=False),
        sa.Column("stripe_refund_id", sa.String(length=255), nullable=True),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.ForeignKeyConstraint(
            ["credit_note_id"],
            ["credit_notes.id"],
            name=op.f("fk_payment_refunds_credit_note_id_credit_notes"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["payment_attempt_id"],
            ["payment_attempts.id"],
            name=op.f("fk_payment_refunds_payment_attempt_id_payment_attempts"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_refunds")),
        sa.UniqueConstraint("credit_note_id", name=op.f("uq_payment_refunds_credit_note_id")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_refunds_idempotency_key")),
        sa.UniqueConstraint("stripe_refund_id", name=op.f("uq_payment_refunds_stripe_refund_id")),
    )
    op.create_index(
        op.f("ix_payment_refunds_payment_attempt_id"), "payment_refunds", ["payment_attempt_id"]
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_payment_refunds_payment_attempt_id"), table_name="payment_refunds")
    op.drop_table("payment_refunds")
    op.drop_index(op.f("ix_dunning_states_subscription_id"), table_name="dunning_states")
    op.drop_index("ix_dunning_states_open_retry", table_name="dunning_states")
    op.drop_table("dunning_states")
    op.drop_index(op.f("ix_payment_attempts_organization_id"), table_name="payment_attempts")
    op.drop_index(op.f("ix_payment_attempts_invoice_id"), table_name="payment_attempts")
    op.drop_table("payment_attempts")
    op.drop_index(op.f("ix_stripe_events_payment_intent_id"), table_name="stripe_events")
    op.drop_table("stripe_events")
