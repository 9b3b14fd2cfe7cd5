"""Storefront search is served by trigram indexes on PostgreSQL, Chinese queries included."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.models import ListingVersion
from catalog.search import LIKE_ESCAPE, like_pattern
from marketplace.orgs.models import Organization

# Every column the storefront's search filter reads, with the index that serves it.
SEARCHED = {
    "ix_listing_versions_name_zh_trgm": ListingVersion.name_zh,
    "ix_listing_versions_name_en_trgm": ListingVersion.name_en,
    "ix_listing_versions_summary_zh_trgm": ListingVersion.summary_zh,
    "ix_listing_versions_summary_en_trgm": ListingVersion.summary_en,
    "ix_organizations_name_trgm": Organization.name,
}
VERSION_INDEXES = [name for name in SEARCHED if name.startswith("ix_listing_versions")]


@pytest.fixture
def postgres(session: Session) -> Session:
    """Return the session, skipping on SQLite, which has no trigram indexes."""
    if session.get_bind().dialect.name == "sqlite":
        pytest.skip("trigram indexes exist on PostgreSQL only")
    return session


def _plan(session: Session, statement: sa.Select[tuple[int]]) -> str:
    sql = statement.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    rows = session.execute(sa.text(f"EXPLAIN {sql}")).scalars()
    return "\n".join(rows)


def _matching(
    columns: list[sa.orm.InstrumentedAttribute[str]], query: str
) -> sa.ColumnElement[bool]:
    pattern = like_pattern(query)
    return sa.or_(*(column.ilike(pattern, escape=LIKE_ESCAPE) for column in columns))


def test_every_searched_column_has_a_gin_trigram_index(postgres: Session) -> None:
    rows = postgres.execute(
        sa.text(
            "SELECT indexname, tablename, indexdef FROM pg_indexes WHERE indexname LIKE '%_trgm'"
        )
    )
    found = {name: (table, definition) for name, table, definition in rows}

    assert set(found) == set(SEARCHED)
    for name, column in SEARCHED.items():
        table, definition = found[name]
        assert table == column.class_.__tablename__
        assert f"USING gin ({column.key} gin_trgm_ops)" in definition


@pytest.mark.parametrize("query", ["财务管理", "进销存", "CRM", "50%"])
def test_the_planner_searches_listing_texts_through_the_indexes(
    postgres: Session, query: str
) -> None:
    postgres.execute(sa.text("SET LOCAL enable_seqscan = off"))
    columns = [SEARCHED[name] for name in VERSION_INDEXES]

    plan = _plan(postgres, sa.select(ListingVersion.id).where(_matching(columns, query)))

    assert "Seq Scan" not in plan
    for name in VERSION_INDEXES:
        assert f"Bitmap Index Scan on {name}" in plan


def test_the_planner_searches_vendor_names_through_their_index(postgres: Session) -> None:
    postgres.execute(sa.text("SET LOCAL enable_seqscan = off"))

    plan = _plan(
        postgres, sa.select(Organization.id).where(_matching([Organization.name], "闽江云"))
    )

    assert "Bitmap Index Scan on ix_organizations_name_trgm" in plan


def test_chinese_text_yields_trigrams_under_the_database_locale(postgres: Session) -> None:
    # pg_trgm only indexes characters the locale calls alphanumeric; under a locale that
    # did not, every Chinese query would fall back to reading the whole table.
    trigrams = postgres.scalar(sa.text("SELECT show_trgm('财务管理')"))

    assert trigrams is not None and len(trigrams) == 5
