"""The Redis connection of each app, absent when no REDIS_URL is set."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import Flask, current_app


@dataclass(frozen=True)
class RedisConnection:
    """One app's Redis URL and client (None in the embedded mode without Redis)."""

    url: str | None
    client: redis.Redis | None

    def status(self) -> str:
        """Report "ok", "absent" (not configured) or "down: <reason>"."""
        if self.client is None:
            return "absent"
        try:
            self.client.ping()
        except redis.RedisError as exc:
            return f"down: {exc}"
        return "ok"


class RedisStore:
    """Gives the current app's Redis connection."""

    def init_app(self, app: Flask, url: str | None) -> None:
        """Make a lazily connecting client for url, if there is one."""
        client = (
            redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) if url else None
        )
        app.extensions["redis"] = RedisConnection(url, client)

    @property
    def client(self) -> redis.Redis | None:
        """Return the current app's client, or None without Redis."""
        connection: RedisConnection = current_app.extensions["redis"]
        return connection.client

    def status(self) -> str:
        """Report the current app's Redis status."""
        connection: RedisConnection = current_app.extensions["redis"]
        return connection.status()
