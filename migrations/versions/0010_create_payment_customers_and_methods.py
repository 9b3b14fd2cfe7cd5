"""Create the Stripe customers and payment methods of firms.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_CARD_WHERE = "is_default AND detached_at IS NULL"


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "payment_customers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("stripe_customer_id", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payment_customers_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_customers")),
        sa.UniqueConstraint("organization_id", name=op.f("uq_payment_customers_organization_id")),
        sa.UniqueConstraint(
            "stripe_customer_id", name=op.f("uq_payment_customers_stripe_customer_id")
        ),
    )
    op.create_table(
        "payment_methods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("stripe_payment_method_id", sa.String(length=255), nullable=False),
        sa.Column("brand", sa.String(length=32), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("exp_month", sa.Integer(), nullable=False),
        sa.Column("exp_year", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detached_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "exp_month BETWEEN 1 AND 12", name=op.f("ck_payment_methods_exp_month_range")
        ),
        sa.CheckConstraint("length(last4) = 4", name=op.f("ck_payment_methods_last4_length")),
        sa.CheckConstraint(
            "NOT (is_default AND detached_at IS NOT NULL)",
            name=op.f("ck_payment_methods_default_attached"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_payment_methods_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_methods")),
        sa.UniqueConstraint(
            "stripe_payment_method_id",
            name=op.f("uq_payment_methods_stripe_payment_method_id"),
        ),
    )
    op.create_index(
        op.f("ix_payment_methods_organization_id"),
        "payment_methods",
        ["organization_id"],
        unique=False,
    )
    op.create_index(
        "uq_payment_methods_default_per_firm",
        "payment_methods",
        ["organization_id"],
        unique=True,
        postgresql_where=sa.text(DEFAULT_CARD_WHERE),
        sqlite_where=sa.text(DEFAULT_CARD_WHERE),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(
        "uq_payment_methods_default_per_firm",
        table_name="payment_methods",
        postgresql_where=sa.text(DEFAULT_CARD_WHERE),
        sqlite_where=sa.text(DEFAULT_CARD_WHERE),
    )
    op.drop_index(op.f("ix_payment_methods_organization_id"), table_name="payment_methods")
    op.drop_table("payment_methods")
    op.drop_table("payment_customers")
