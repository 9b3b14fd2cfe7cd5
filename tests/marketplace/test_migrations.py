"""Alembic: one head, a full upgrade and downgrade, and a schema that matches the models."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import billing.models  # noqa: F401
import catalog.models  # noqa: F401
import marketplace.models  # noqa: F401
import sso.models  # noqa: F401
from marketplace import migrate
from marketplace.db import Base
from tests import backends
from tests.conftest import BACKENDS


@pytest.fixture
def empty_database_url() -> Iterator[str]:
    """Make an empty database of the dialect the suite runs on."""
    with backends.scratch_database("migrations", has_postgres=BACKENDS.has_postgres) as url:
        yield url


def _on_this_dialect(dialect: str) -> Callable[..., bool]:
    """Leave out objects declared for another dialect only, e.g. PostgreSQL trigram indexes."""

    def include(obj: object, *_: object) -> bool:
        ddl_if = getattr(obj, "_ddl_if", None)
        return ddl_if is None or ddl_if.dialect in (None, dialect)

    return include


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_there_is_exactly_one_head() -> None:
    assert len(migrate.heads("sqlite://")) == 1


def test_an_empty_database_upgrades_to_head_and_back_to_base(empty_database_url: str) -> None:
    migrate.upgrade(empty_database_url)
    assert set(Base.metadata.tables) <= _tables(empty_database_url)
    migrate.downgrade(empty_database_url, "base")
    assert _tables(empty_database_url) <= {"alembic_version"}
    migrate.upgrade(empty_database_url)
    assert set(Base.metadata.tables) <= _tables(empty_database_url)


def test_the_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            opts = {
                "compare_type": True,
                "include_object": _on_this_dialect(connection.dialect.name),
            }
            context = MigrationContext.configure(connection, opts=opts)
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []
