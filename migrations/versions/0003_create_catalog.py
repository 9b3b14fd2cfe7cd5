"""Create the catalog: categories, listings and their versions, plans, price components, tiers.

Seeds the service layers (IaaS, PaaS, SaaS) and the standard business categories.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 13:39:54.939964
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (code, name_zh, name_en, kind, sort_order): literal data, so this revision never changes.
STANDARD_CATEGORIES = [
    ("iaas", "基础设施即服务", "IaaS", "layer", 10),
    ("paas", "平台即服务", "PaaS", "layer", 20),
    ("saas", "软件即服务", "SaaS", "layer", 30),
    ("finance", "财务", "Finance", "business", 110),
    ("hr", "人力资源", "Human resources", "business", 120),
    ("crm", "客户关系", "Customer relationships", "business", 130),
    ("manufacturing", "生产制造", "Manufacturing", "business", 140),
    ("ecommerce", "电子商务", "E-commerce", "business", 150),
    ("security", "安全", "Security", "business", 160),
    ("collaboration", "协同办公", "Collaboration", "business", 170),
    ("analytics", "数据分析", "Data and analytics", "business", 180),
]

categories = sa.table(
    "categories",
    sa.column("code", sa.String),
    sa.column("name_zh", sa.String),
    sa.column("name_en", sa.String),
    sa.column("kind", sa.String),
    sa.column("sort_order", sa.Integer),
)


def upgrade() -> None:
    """Create the catalog tables and seed the standard categories."""
    op.create_table(
        "categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('layer', 'business')", name=op.f("ck_categories_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_categories")),
        sa.UniqueConstraint("code", name=op.f("uq_categories_code")),
    )
    op.create_table(
        "listings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rejection_reason", sa.String(length=2000), nullable=True),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status <> 'rejected' OR rejection_reason IS NOT NULL",
            name=op.f("ck_listings_rejected_with_reason"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'in_review', 'published', 'rejected', 'delisted')",
            name=op.f("ck_listings_status"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_listings_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listings")),
        sa.UniqueConstraint("vendor_id", "slug", name=op.f("uq_listings_vendor_id_slug")),
    )
    op.create_index(op.f("ix_listings_vendor_id"), "listings", ["vendor_id"], unique=False)
    op.create_table(
        "listing_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("name_en", sa.String(length=200), nullable=False),
        sa.Column("summary_zh", sa.String(length=500), nullable=False),
        sa.Column("summary_en", sa.String(length=500), nullable=False),
        sa.Column("description_md", sa.Text(), nullable=False),
        sa.Column("layer_category_id", sa.Integer(), nullable=True),
        sa.Column("logo_url", sa.String(length=500), nullable=True),
        sa.Column("screenshots", sa.JSON(), nullable=False),
        sa.Column("support_email", sa.String(length=254), nullable=True),
        sa.Column("support_phone", sa.String(length=40), nullable=True),
        sa.Column("launch_url", sa.String(length=500), nullable=True),
        sa.Column("sso_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("review_status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "review_status = 'draft' OR layer_category_id IS NOT NULL",
            name=op.f("ck_listing_versions_layer_when_submitted"),
        ),
        sa.CheckConstraint(
            "review_status IN ('draft', 'in_review', 'approved', 'rejected')",
            name=op.f("ck_listing_versions_review_status"),
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_listing_versions_version_positive")),
        sa.ForeignKeyConstraint(
            ["layer_category_id"],
            ["categories.id"],
            name=op.f("fk_listing_versions_layer_category_id_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_listing_versions_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_versions")),
        sa.UniqueConstraint(
            "listing_id", "version", name=op.f("uq_listing_versions_listing_id_version")
        ),
    )
    op.create_index(
        op.f("ix_listing_versions_layer_category_id"),
        "listing_versions",
        ["layer_category_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_listing_versions_listing_id"), "listing_versions", ["listing_id"], unique=False
    )
    op.create_table(
        "plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name_zh", sa.String(length=100), nullable=False),
        sa.Column("name_en", sa.String(length=100), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("billing_interval", sa.String(length=8), nullable=False),
        sa.Column("trial_days", sa.Integer(), nullable=False),
        sa.Column("auto_activate", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "billing_interval IN ('month', 'year')", name=op.f("ck_plans_billing_interval")
        ),
        sa.CheckConstraint(
            "status = 'draft' OR published_at IS NOT NULL",
            name=op.f("ck_plans_published_at_when_published"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'retired')", name=op.f("ck_plans_status")
        ),
        sa.CheckConstraint("length(currency) = 3", name=op.f("ck_plans_currency_code")),
        sa.CheckConstraint("trial_days >= 0", name=op.f("ck_plans_trial_days_non_negative")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_plans_version_positive")),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_plans_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plans")),
        sa.UniqueConstraint(
            "listing_id", "code", "version", name=op.f("uq_plans_listing_id_code_version")
        ),
    )
    op.create_index(op.f("ix_plans_listing_id"), "plans", ["listing_id"], unique=False)
    op.create_table(
        "listing_version_categories",
        sa.Column("listing_version_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["categories.id"],
            name=op.f("fk_listing_version_categories_category_id_categories"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["listing_version_id"],
            ["listing_versions.id"],
            name=op.f("fk_listing_version_categories_listing_version_id_listing_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "listing_version_id", "category_id", name=op.f("pk_listing_version_categories")
        ),
    )
    op.create_index(
        op.f("ix_listing_version_categories_category_id"),
        "listing_version_categories",
        ["category_id"],
        unique=False,
    )
    op.create_table(
        "price_components",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("unit_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("min_seats", sa.Integer(), nullable=True),
        sa.Column("max_seats", sa.Integer(), nullable=True),
        sa.Column("dimension", sa.String(length=64), nullable=True),
        sa.Column("unit_name_zh", sa.String(length=40), nullable=True),
        sa.Column("unit_name_en", sa.String(length=40), nullable=True),
        sa.Column("aggregation", sa.String(length=16), nullable=True),
        sa.Column("model", sa.String(length=16), nullable=True),
        sa.Column("package_size", sa.BigInteger(), nullable=True),
        sa.Column("package_amount_fen", sa.BigInteger(), nullable=True),
        sa.Column("included_quantity", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.CheckConstraint(
            "aggregation IN ('sum', 'max', 'unique')", name=op.f("ck_price_components_aggregation")
        ),
        sa.CheckConstraint(
            "kind <> 'flat' OR amount_fen IS NOT NULL",
            name=op.f("ck_price_components_flat_has_amount"),
        ),
        sa.CheckConstraint(
            "kind <> 'metered' OR (dimension IS NOT NULL AND aggregation IS NOT NULL AND model IS NOT NULL AND included_quantity IS NOT NULL)",
            name=op.f("ck_price_components_metered_has_pricing"),
        ),
        sa.CheckConstraint(
            "kind <> 'seat' OR (unit_amount_fen IS NOT NULL AND min_seats IS NOT NULL)",
            name=op.f("ck_price_components_seat_has_price"),
        ),
        sa.CheckConstraint(
            "kind IN ('flat', 'seat', 'metered')", name=op.f("ck_price_components_kind")
        ),
        sa.CheckConstraint(
            "model IN ('per_unit', 'graduated', 'volume', 'package')",
            name=op.f("ck_price_components_model"),
        ),
        sa.CheckConstraint(
            "model IS NULL OR model <> 'package' OR (package_size IS NOT NULL AND package_amount_fen IS NOT NULL)",
            name=op.f("ck_price_components_package_has_price"),
        ),
        sa.CheckConstraint(
            "model IS NULL OR model <> 'per_unit' OR unit_amount_fen IS NOT NULL",
            name=op.f("ck_price_components_per_unit_has_price"),
        ),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_price_components_amount_non_negative")),
        sa.CheckConstraint(
            "included_quantity >= 0", name=op.f("ck_price_components_included_non_negative")
        ),
        sa.CheckConstraint("max_seats >= min_seats", name=op.f("ck_price_components_seat_bounds")),
        sa.CheckConstraint(
            "min_seats >= 0", name=op.f("ck_price_components_min_seats_non_negative")
        ),
        sa.CheckConstraint(
            "package_amount_fen >= 0", name=op.f("ck_price_components_package_amount_non_negative")
        ),
        sa.CheckConstraint(
            "package_size > 0", name=op.f("ck_price_components_package_size_positive")
        ),
        sa.CheckConstraint(
            "unit_amount_fen >= 0", name=op.f("ck_price_components_unit_amount_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plans.id"],
            name=op.f("fk_price_components_plan_id_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_components")),
        sa.UniqueConstraint(
            "plan_id", "dimension", name=op.f("uq_price_components_plan_id_dimension")
        ),
        sa.UniqueConstraint(
            "plan_id", "position", name=op.f("uq_price_components_plan_id_position")
        ),
    )
    op.create_index(
        op.f("ix_price_components_plan_id"), "price_components", ["plan_id"], unique=False
    )
    op.create_table(
        "price_tiers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("component_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("up_to", sa.Numeric(precision=20, scale=6), nullable=True),
        sa.Column("unit_amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("flat_amount_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "flat_amount_fen >= 0", name=op.f("ck_price_tiers_flat_amount_non_negative")
        ),
        sa.CheckConstraint(
            "unit_amount_fen >= 0", name=op.f("ck_price_tiers_unit_amount_non_negative")
        ),
        sa.CheckConstraint("up_to > 0", name=op.f("ck_price_tiers_up_to_positive")),
        sa.ForeignKeyConstraint(
            ["component_id"],
            ["price_components.id"],
            name=op.f("fk_price_tiers_component_id_price_components"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_tiers")),
        sa.UniqueConstraint(
            "component_id", "position", name=op.f("uq_price_tiers_component_id_position")
        ),
    )
    op.create_index(
        op.f("ix_price_tiers_component_id"), "price_tiers", ["component_id"], unique=False
    )
    op.bulk_insert(
        categories,
        [
            {"code": code, "name_zh": zh, "name_en": en, "kind": kind, "sort_order": order}
            for code, zh, en, kind, order in STANDARD_CATEGORIES
        ],
    )


def downgrade() -> None:
    """Remove the standard categories and drop the catalog tables."""
    codes = [code for code, *_ in STANDARD_CATEGORIES]
    op.execute(categories.delete().where(categories.c.code.in_(codes)))
    op.drop_index(op.f("ix_price_tiers_component_id"), table_name="price_tiers")
    op.drop_table("price_tiers")
    op.drop_index(op.f("ix_price_components_plan_id"), table_name="price_components")
    op.drop_table("price_components")
    op.drop_index(
        op.f("ix_listing_version_categories_category_id"), table_name="listing_version_categories"
    )
    op.drop_table("listing_version_categories")
    op.drop_index(op.f("ix_plans_listing_id"), table_name="plans")
    op.drop_table("plans")
    op.drop_index(op.f("ix_listing_versions_listing_id"), table_name="listing_versions")
    op.drop_index(op.f("ix_listing_versions_layer_category_id"), table_name="listing_versions")
    op.drop_table("listing_versions")
    op.drop_index(op.f("ix_listings_vendor_id"), table_name="listings")
    op.drop_table("listings")
    op.drop_table("categories")
