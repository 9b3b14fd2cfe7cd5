"""Find the PostgreSQL and Redis the suite runs against, and make a database per run."""

from __future__ import annotations

import os
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import redis

PG_ADMIN_DSN = os.environ.get("TEST_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def on_ci() -> bool:
    """Tell whether this run is CI, where PostgreSQL and Redis must be there."""
    return os.environ.get("CI", "").lower() == "true"


@dataclass(frozen=True)
class Backends:
    """What this machine offers the suite, and why something is missing."""

    postgres_error: str | None
    redis_error: str | None

    @property
    def has_postgres(self) -> bool:
        """Tell whether PostgreSQL answered."""
        return self.postgres_error is None

    @property
    def has_redis(self) -> bool:
        """Tell whether Redis answered."""
        return self.redis_error is None


def probe() -> Backends:
    """Try PostgreSQL and Redis once each."""
    pg_error = redis_error = None
    try:
        with psycopg.connect(PG_ADMIN_DSN, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pg_error = f"PostgreSQL at {PG_ADMIN_DSN} unreachable: {exc}".strip()
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        redis_error = f"Redis at {REDIS_URL} unreachable: {exc}"
    return Backends(pg_error, redis_error)


def _admin_execute(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def create_postgres_database(label: str) -> str:
    """Create a fresh database for this run and return its SQLAlchemy URL."""
    name = f"yunshi_{label}_{uuid.uuid4().hex[:10]}"
    _admin_execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def drop_postgres_database(url: str) -> None:
    """Drop a database this run created, closing whatever still holds it."""
    name = url.rsplit("/", 1)[1]
    _admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def clear_redis_prefix(prefix: str) -> None:
    """Delete every key this run wrote under its prefix."""
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}*", count=500))
    if keys:
        client.delete(*keys)


@contextmanager
def scratch_database(label: str, *, has_postgres: bool) -> Iterator[str]:
    """Give an empty database of the suite's dialect for one use, and remove it afterwards."""
    if has_postgres:
        url = create_postgres_database(label)
        try:
            yield url
        finally:
            drop_postgres_database(url)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / f'{label}.db'}"
