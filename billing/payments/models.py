"""Firms' Stripe customers and the cards they saved: Stripe ids and what Stripe reports."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.db import Base

# One default card per firm, among the cards still attached.
DEFAULT_CARD_WHERE = "is_default AND detached_at IS NULL"


class PaymentCustomer(Base):
    """A firm's customer at Stripe; the unique firm id makes it exist at most once."""

    __tablename__ = "payment_customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), unique=True
    )
    stripe_customer_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    created_at: Mapped[datetime]


class PaymentMethod(Base):
    """A card a firm saved at Stripe: brand, last four digits and expiry as Stripe reports."""

    __tablename__ = "payment_methods"
    __table_args__ = (
        sa.CheckConstraint("exp_month BETWEEN 1 AND 12", name="exp_month_range"),
        sa.CheckConstraint("length(last4) = 4", name="last4_length"),
        sa.CheckConstraint("NOT (is_default AND detached_at IS NOT NULL)", name="default_attached"),
        sa.Index(
            "uq_payment_methods_default_per_firm",
            "organization_id",
            unique=True,
            postgresql_where=sa.text(DEFAULT_CARD_WHERE),
            sqlite_where=sa.text(DEFAULT_CARD_WHERE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    stripe_payment_method_id: Mapped[str] = mapped_column(sa.String(255), unique=True)
    brand: Mapped[str] = mapped_column(sa.String(32))
    last4: Mapped[str] = mapped_column(sa.String(4))
    exp_month: Mapped[int]
    exp_year: Mapped[int]
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    detached_at: Mapped[datetime | None]

    @property
    def attached(self) -> bool:
        """Tell whether the card can still be charged (it was not removed)."""
        return self.detached_at is None
