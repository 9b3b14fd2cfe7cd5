"""Add subsidy lines naming their program, budget alerts, the dishonest flag, messages.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-26 22:05:04.862664
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "subsidy_budget_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("used_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("percent > 0", name=op.f("ck_subsidy_budget_alerts_percent_positive")),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["subsidy_programs.id"],
            name=op.f("fk_subsidy_budget_alerts_program_id_subsidy_programs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_budget_alerts")),
        sa.UniqueConstraint(
            "program_id",
            "budget_fen",
            "percent",
            name=op.f("uq_subsidy_budget_alerts_program_id_budget_fen_percent"),
        ),
    )
    op.create_index(
        op.f("ix_subsidy_budget_alerts_program_id"),
        "subsidy_budget_alerts",
        ["program_id"],
        unique=False,
    )
    with op.batch_alter_table("invoice_lines") as batch:
        batch.add_column(sa.Column("subsidy_program_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_invoice_lines_subsidy_program_id_subsidy_programs"),
            "subsidy_programs",
            ["subsidy_program_id"],
            ["id"],
            ondelete="RESTRICT",
        )
    op.add_column(
        "sme_profiles",
        sa.Column(
            "seriously_dishonest", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    op.add_column("sme_profiles", sa.Column("dishonest_note", sa.String(length=500), nullable=True))
    op.add_column("subsidy_enrollments", sa.Column("message", sa.String(length=500), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    op.drop_column("subsidy_enrollments", "message")
    op.drop_column("sme_profiles", "dishonest_note")
    op.drop_column("sme_profiles", "seriously_dishonest")
    with op.batch_alter_table("invoice_lines") as batch:
        batch.drop_constraint(
            op.f("fk_invoice_lines_subsidy_program_id_subsidy_programs"), type_="foreignkey"
        )
        batch.drop_column("subsidy_program_id")
    op.drop_index(op.f("ix_subsidy_budget_alerts_program_id"), table_name="subsidy_budget_alerts")
    op.drop_table("subsidy_budget_alerts")
