"""Create the OpenID Connect provider's signing keys, at most one of them active.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 17:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MOMENT = sa.DateTime(timezone=True)
ONE_ACTIVE = "status = 'active'"


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "signing_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=10), nullable=False),
        sa.Column("private_key_sealed", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("activated_at", MOMENT, nullable=False),
        sa.Column("retire_after", MOMENT, nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'retiring', 'retired')", name=op.f("ck_signing_keys_status")
        ),
        sa.CheckConstraint("algorithm = 'RS256'", name=op.f("ck_signing_keys_algorithm")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_keys_kid")),
    )
    op.create_index(
        "uq_signing_keys_one_active",
        "signing_keys",
        ["status"],
        unique=True,
        postgresql_where=sa.text(ONE_ACTIVE),
        sqlite_where=sa.text(ONE_ACTIVE),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("uq_signing_keys_one_active", table_name="signing_keys")
    op.drop_table("signing_keys")
