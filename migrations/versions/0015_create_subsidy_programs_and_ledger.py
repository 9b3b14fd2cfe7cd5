"""Create subsidy programs, their versions, enrollments, grants and the quota ledger.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-26 19:35:12.934538
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "subsidy_firm_locks",
        sa.Column("park_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organizations.id"],
            name=op.f("fk_subsidy_firm_locks_firm_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["park_id"],
            ["organizations.id"],
            name=op.f("fk_subsidy_firm_locks_park_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("park_id", "firm_id", name=op.f("pk_subsidy_firm_locks")),
    )
    op.create_table(
        "subsidy_park_policies",
        sa.Column("park_id", sa.Integer(), nullable=False),
        sa.Column("firm_year_cap_fen", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "firm_year_cap_fen IS NULL OR firm_year_cap_fen >= 0",
            name=op.f("ck_subsidy_park_policies_cap_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["park_id"],
            ["organizations.id"],
            name=op.f("fk_subsidy_park_policies_park_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("park_id", name=op.f("pk_subsidy_park_policies")),
    )
    op.create_table(
        "subsidy_programs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("park_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("enrollment", sa.String(length=16), nullable=False),
        sa.Column("budget_fen", sa.BigInteger(), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "enrollment IN ('automatic', 'application')",
            name=op.f("ck_subsidy_programs_enrollment"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'active', 'paused', 'closed')",
            name=op.f("ck_subsidy_programs_status"),
        ),
        sa.CheckConstraint("budget_fen >= 0", name=op.f("ck_subsidy_programs_budget_non_negative")),
        sa.CheckConstraint(
            "current_version >= 1", name=op.f("ck_subsidy_programs_current_version_positive")
        ),
        sa.ForeignKeyConstraint(
            ["park_id"],
            ["organizations.id"],
            name=op.f("fk_subsidy_programs_park_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_programs")),
    )
    op.create_index(
        op.f("ix_subsidy_programs_park_id"), "subsidy_programs", ["park_id"], unique=False
    )
    op.create_table(
        "subsidy_enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("size_class", sa.String(length=16), nullable=True),
        sa.Column("size_standard_id", sa.String(length=40), nullable=True),
        sa.CheckConstraint(
            "status <> 'rejected' OR reason IS NOT NULL",
            name=op.f("ck_subsidy_enrollments_rejected_has_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('applied', 'approved', 'rejected', 'withdrawn')",
            name=op.f("ck_subsidy_enrollments_status"),
        ),
        sa.CheckConstraint(
            "status IN ('applied', 'withdrawn') OR decided_at IS NOT NULL",
            name=op.f("ck_subsidy_enrollments_decided_at_set"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_subsidy_enrollments_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organizations.id"],
            name=op.f("fk_subsidy_enrollments_firm_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["subsidy_programs.id"],
            name=op.f("fk_subsidy_enrollments_program_id_subsidy_programs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["size_standard_id"],
            ["size_standards.id"],
            name=op.f("fk_subsidy_enrollments_size_standard_id_size_standards"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_enrollments")),
        sa.UniqueConstraint(
            "program_id", "firm_id", name=op.f("uq_subsidy_enrollments_program_id_firm_id")
        ),
    )
    op.create_index(
        op.f("ix_subsidy_enrollments_firm_id"), "subsidy_enrollments", ["firm_id"], unique=False
    )
    op.create_table(
        "subsidy_program_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("takes_effect_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "version >= 1", name=op.f("ck_subsidy_program_versions_version_positive")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_subsidy_program_versions_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["subsidy_programs.id"],
            name=op.f("fk_subsidy_program_versions_program_id_subsidy_programs"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_program_versions")),
        sa.UniqueConstraint(
            "program_id", "version", name=op.f("uq_subsidy_program_versions_program_id_version")
        ),
    )
    op.create_index(
        "ix_subsidy_program_versions_in_force",
        "subsidy_program_versions",
        ["program_id", "takes_effect_at"],
        unique=False,
    )
    op.create_table(
        "subsidy_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("line_key", sa.String(length=64), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("program_version", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(status = 'reserved') = (settled_at IS NULL)",
            name=op.f("ck_subsidy_grants_settled_at_when_settled"),
        ),
        sa.CheckConstraint(
            "status IN ('reserved', 'confirmed', 'released')", name=op.f("ck_subsidy_grants_status")
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_subsidy_grants_amount_positive")),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organizations.id"],
            name=op.f("fk_subsidy_grants_firm_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["invoices.id"],
            name=op.f("fk_subsidy_grants_invoice_id_invoices"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["subsidy_programs.id"],
            name=op.f("fk_subsidy_grants_program_id_subsidy_programs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_subsidy_grants_vendor_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_grants")),
        sa.UniqueConstraint(
            "invoice_id",
            "line_key",
            "program_id",
            name=op.f("uq_subsidy_grants_invoice_id_line_key_program_id"),
        ),
    )
    op.create_index(
        "ix_subsidy_grants_firm_reserved_at",
        "subsidy_grants",
        ["firm_id", "reserved_at"],
        unique=False,
    )
    op.create_index(
        "ix_subsidy_grants_program_firm", "subsidy_grants", ["program_id", "firm_id"], unique=False
    )
    op.create_table(
        "subsidy_ledger_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("program_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'reserve' AND amount_fen > 0) OR (kind = 'confirm' AND amount_fen = 0)"
            " OR (kind = 'release' AND amount_fen < 0)",
            name=op.f("ck_subsidy_ledger_entries_sign_by_kind"),
        ),
        sa.CheckConstraint(
            "kind IN ('reserve', 'confirm', 'release')", name=op.f("ck_subsidy_ledger_entries_kind")
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organizations.id"],
            name=op.f("fk_subsidy_ledger_entries_firm_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["subsidy_grants.id"],
            name=op.f("fk_subsidy_ledger_entries_grant_id_subsidy_grants"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["program_id"],
            ["subsidy_programs.id"],
            name=op.f("fk_subsidy_ledger_entries_program_id_subsidy_programs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_subsidy_ledger_entries_vendor_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subsidy_ledger_entries")),
        sa.UniqueConstraint(
            "grant_id", "kind", name=op.f("uq_subsidy_ledger_entries_grant_id_kind")
        ),
    )
    op.create_index(
        "ix_subsidy_ledger_entries_program_firm",
        "subsidy_ledger_entries",
        ["program_id", "firm_id"],
        unique=False,
    )
    op.create_index(
        "ix_subsidy_ledger_entries_program_vendor",
        "subsidy_ledger_entries",
        ["program_id", "vendor_id"],
        unique=False,
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index("ix_subsidy_ledger_entries_program_vendor", table_name="subsidy_ledger_entries")
    op.drop_index("ix_subsidy_ledger_entries_program_firm", table_name="subsidy_ledger_entries")
    op.drop_table("subsidy_ledger_entries")
    op.drop_index("ix_subsidy_grants_program_firm", table_name="subsidy_grants")
    op.drop_index("ix_subsidy_grants_firm_reserved_at", table_name="subsidy_grants")
    op.drop_table("subsidy_grants")
    op.drop_index("ix_subsidy_program_versions_in_force", table_name="subsidy_program_versions")
    op.drop_table("subsidy_program_versions")
    op.drop_index(op.f("ix_subsidy_enrollments_firm_id"), table_name="subsidy_enrollments")
    op.drop_table("subsidy_enrollments")
    op.drop_index(op.f("ix_subsidy_programs_park_id"), table_name="subsidy_programs")
    op.drop_table("subsidy_programs")
    op.drop_table("subsidy_park_policies")
    op.drop_table("subsidy_firm_locks")
