"""The database extension: engine, scoped session and the declarative base."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session, sessionmaker

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Store aware datetimes as UTC and hand them back aware, on every dialect."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Refuse naive datetimes and convert aware ones to UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Attach UTC where the dialect (SQLite) drops the zone."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def check_in(column: str, enum: type[StrEnum]) -> str:
    """Return a CHECK constraint's SQL that keeps column within an enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


class Base(DeclarativeBase):
    """Declarative base for every model, with constraint names Alembic can follow."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


def make_engine(url: str, **kwargs: Any) -> sa.Engine:
    """Create an engine, turning on SQLite's foreign keys where SQLite is used."""
    engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_connect)
        sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT; let SQLAlchemy emit BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN")


class _AppBoundSession(Session):
    """A session that uses the engine of the app in context unless bound explicitly."""

    def get_bind(self, mapper: Any = None, clause: Any = None, **kwargs: Any) -> Any:
        """Return the explicit bind (a test's connection), else the current app's engine."""
        if self.bind is not None:
            return self.bind
        return current_app.extensions["db_engine"]


class Database:
    """Engines per app and one request-scoped session, attached with init_app."""

    def __init__(self) -> None:
        self.session_factory = sessionmaker(class_=_AppBoundSession, expire_on_commit=False)
        self.session: scoped_session[_AppBoundSession] = scoped_session(self.session_factory)

    def init_app(self, app: Flask, url: str) -> None:
        """Create the app's engine for url and remove the session after each app context."""
        app.extensions["db"] = self
        app.extensions["db_engine"] = make_engine(url)
        app.teardown_appcontext(self._remove_session)

    @property
    def engine(self) -> sa.Engine:
        """Return the engine of the app in context."""
        engine: sa.Engine = current_app.extensions["db_engine"]
        return engine

    def _remove_session(self, _exc: BaseException | None) -> None:
        self.session.remove()

    @contextmanager
    def bound_to(self, connection: sa.Connection) -> Iterator[None]:
        """Bind sessions to one connection, joining its transaction with savepoints (tests)."""
        self.session.remove()
        self.session_factory.configure(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield
        finally:
            self.session.remove()
            self.session_factory.configure(bind=None, join_transaction_mode="conditional_savepoint")
