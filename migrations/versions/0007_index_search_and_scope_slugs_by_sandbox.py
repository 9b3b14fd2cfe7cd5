"""Index storefront search with trigrams (PostgreSQL), and make slugs unique per sandbox mode.

Storefront search matches a visitor's words anywhere in listing names, summaries and vendor
names with ILIKE '%…%'. A B-tree cannot serve that; pg_trgm's GIN operator class can, for
any query of three or more characters, Chinese included. SQLite has no such index and keeps
its scan.

A vendor's sandbox listings live beside its live ones, so the same slug may be used once
in each mode.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 15:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (index name, table, column): every column the storefront's search filter reads.
TRIGRAM_INDEXES = [
    ("ix_listing_versions_name_zh_trgm", "listing_versions", "name_zh"),
    ("ix_listing_versions_name_en_trgm", "listing_versions", "name_en"),
    ("ix_listing_versions_summary_zh_trgm", "listing_versions", "summary_zh"),
    ("ix_listing_versions_summary_en_trgm", "listing_versions", "summary_en"),
    ("ix_organizations_name_trgm", "organizations", "name"),
]

listings = sa.table(
    "listings",
    sa.column("id", sa.Integer),
    sa.column("vendor_id", sa.Integer),
    sa.column("slug", sa.String),
    sa.column("sandbox", sa.Boolean),
)


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    """Create the trigram indexes (PostgreSQL) and scope slug uniqueness by sandbox mode."""
    if _on_postgresql():
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, column in TRIGRAM_INDEXES:
            op.create_index(
                name,
                table,
                [column],
                postgresql_using="gin",
                postgresql_ops={column: "gin_trgm_ops"},
            )
    with op.batch_alter_table("listings") as batch:
        batch.drop_constraint(op.f("uq_listings_vendor_id_slug"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_listings_vendor_id_sandbox_slug"), ["vendor_id", "sandbox", "slug"]
        )


def _rename_clashing_sandbox_slugs() -> None:
    """Give a sandbox listing whose slug a live listing of its vendor also uses a unique one.

    Slugs are at most 60 characters when made, so the suffix fits the column's 80.
    """
    live = listings.alias("live")
    clashes = (
        sa.select(live.c.id)
        .where(
            live.c.vendor_id == listings.c.vendor_id,
            live.c.slug == listings.c.slug,
            live.c.sandbox == sa.false(),
        )
        .exists()
    )
    suffix = sa.literal("-sandbox-") + sa.cast(listings.c.id, sa.String)
    op.execute(
        listings.update()
        .where(listings.c.sandbox == sa.true(), clashes)
        .values(slug=listings.c.slug + suffix)
    )


def downgrade() -> None:
    """Make slugs unique per vendor again (renaming clashing sandbox ones) and drop the indexes."""
    _rename_clashing_sandbox_slugs()
    with op.batch_alter_table("listings") as batch:
        batch.drop_constraint(op.f("uq_listings_vendor_id_sandbox_slug"), type_="unique")
        batch.create_unique_constraint(op.f("uq_listings_vendor_id_slug"), ["vendor_id", "slug"])
    if _on_postgresql():
        for name, table, _column in reversed(TRIGRAM_INDEXES):
            op.drop_index(name, table_name=table)
        # The extension stays: dropping it could break objects outside this schema's history.
