"""Fixtures every layer shares: backends, one migrated database a run, the app, a clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask, g, request_started
from flask.testing import FlaskClient

from app import create_app
from marketplace import migrate
from marketplace.clock import FrozenClock
from marketplace.db import make_engine
from marketplace.extensions import db, login_throttle
from marketplace.settings import Settings
from tests import backends

pytest_plugins = ["tests.localstripe"]

BACKENDS = backends.probe()
RUN_PREFIX = f"yunshi-test-{uuid.uuid4().hex[:8]}"


def pytest_configure(config: pytest.Config) -> None:
    """Stop at once on CI when PostgreSQL or Redis is missing: the suite must run on them."""
    if backends.on_ci():
        missing = [e for e in (BACKENDS.postgres_error, BACKENDS.redis_error) if e]
        if missing:
            pytest.exit("CI needs PostgreSQL and Redis:\n" + "\n".join(missing), returncode=3)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip, with the reason, what needs a backend this machine lacks (never on CI)."""
    for item in items:
        if "postgres" in item.keywords and not BACKENDS.has_postgres:
            item.add_marker(pytest.mark.skip(reason=f"needs PostgreSQL: {BACKENDS.postgres_error}"))
        if "redis" in item.keywords and not BACKENDS.has_redis:
            item.add_marker(pytest.mark.skip(reason=f"needs Redis: {BACKENDS.redis_error}"))


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which database and Redis this run uses."""
    pg = "PostgreSQL" if BACKENDS.has_postgres else f"SQLite ({BACKENDS.postgres_error})"
    rd = "Redis" if BACKENDS.has_redis else f"in-process limits ({BACKENDS.redis_error})"
    return [f"yunshi backends: database={pg}; redis={rd}"]


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """Create one database for the run, migrate it to head, drop it at the end."""
    with backends.scratch_database("test", has_postgres=BACKENDS.has_postgres) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str | None]:
    """Use the real Redis where there is one, under a prefix this run cleans up."""
    if not BACKENDS.has_redis:
        yield None
        return
    yield backends.REDIS_URL
    backends.clear_redis_prefix(RUN_PREFIX)


@contextmanager
def migrated_engine(
    label: str, *, pool_size: int = 5, postgres: bool = True
) -> Iterator[sa.Engine]:
    """Give a test a migrated scratch database of its own, for connections that really commit.

    PostgreSQL unless postgres is False and none is reachable (then SQLite).
    """
    has_postgres = True if postgres else BACKENDS.has_postgres
    with backends.scratch_database(label, has_postgres=has_postgres) as url:
        migrate.upgrade(url)
        engine = make_engine(url, pool_size=pool_size)
        try:
            yield engine
        finally:
            engine.dispose()


@contextmanager
def committing_app(label: str, redis_url: str | None, now: datetime) -> Iterator[Flask]:
    """Build an app over a migrated database of its own, whose requests really commit."""
    with backends.scratch_database(label, has_postgres=BACKENDS.has_postgres) as url:
        migrate.upgrade(url)
        built = create_app(make_test_settings(url, redis_url))
        built.extensions["clock"] = FrozenClock(now)
        try:
            yield built
        finally:
            built.extensions["db_engine"].dispose()


def make_test_settings(database_url: str, redis_url: str | None, **extra: object) -> Settings:
    """Return settings for an app under test."""
    return Settings(
        env="testing",
        secret_key="test-secret-key",
        database_url=database_url,
        redis_url=redis_url,
        rate_limit_prefix=RUN_PREFIX,
        public_url="http://localhost",
        log_json=False,
        extra={"TESTING": True, "WTF_CSRF_ENABLED": False, "SERVER_NAME": "localhost", **extra},
    )


@pytest.fixture(scope="session")
def app(database_url: str, redis_url: str | None) -> Iterator[Flask]:
    """Build one app for the whole run."""
    application = create_app(make_test_settings(database_url, redis_url))
    request_started.connect(_fresh_globals, application)
    yield application
    application.extensions["db_engine"].dispose()


def _fresh_globals(sender: Flask, **_extra: object) -> None:
    """Start each request with empty `g`, as in production, though tests share an app context."""
    g.__dict__.clear()


@pytest.fixture
def clock(app: Flask) -> Iterator[FrozenClock]:
    """Stop the app's clock at a known moment for one test."""
    previous = app.extensions["clock"]
    frozen = FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    app.extensions["clock"] = frozen
    yield frozen
    app.extensions["clock"] = previous


@pytest.fixture
def session(app: Flask, clock: FrozenClock) -> Iterator[sa.orm.Session]:
    """Run one test inside a transaction that is rolled back at its end."""
    with app.app_context(), db.engine.connect() as connection:
        transaction = connection.begin()
        with db.bound_to(connection):
            yield db.session()
        transaction.rollback()
        login_throttle.storage.reset()


@pytest.fixture
def client(app: Flask, session: sa.orm.Session) -> FlaskClient:
    """A browser-like client whose requests share the test's transaction."""
    return app.test_client()
