"""Create the links between users and their accounts at an upstream OpenID Connect provider.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-26 18:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "upstream_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=500), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_upstream_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upstream_identities")),
        sa.UniqueConstraint(
            "issuer", "subject", name=op.f("uq_upstream_identities_issuer_subject")
        ),
        sa.UniqueConstraint(
            "user_id", "issuer", name=op.f("uq_upstream_identities_user_id_issuer")
        ),
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_table("upstream_identities")
