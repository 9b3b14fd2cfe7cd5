"""Alembic environment: runs migrations against DATABASE_URL or the URL the caller set."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import context

import billing.models
import billing.payments.attempt_models
import billing.payments.models
import billing.subsidies.models  # noqa: F401
import catalog.models  # noqa: F401
import marketplace.models  # noqa: F401  (fills the metadata for autogenerate)
import sso.models
import sso.provider.models
import sso.upstream_models  # noqa: F401
from marketplace.db import Base, UTCDateTime
from marketplace.settings import settings_from_env

config = context.config
target_metadata = Base.metadata


def database_url() -> str:
    """Prefer a URL the caller put on the config, then the settings."""
    return config.attributes.get("database_url") or settings_from_env().database_url


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our UTC column type as a plain timezone-aware DateTime in migration files."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_offline() -> None:
    """Emit SQL without a connection."""
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a connection (one given by the caller, or a new one)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = sa.create_engine(database_url(), poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_item=render_item,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
