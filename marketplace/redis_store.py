"""The Redis connection, absent when no REDIS_URL is set."""

from __future__ import annotations

import redis
from flask import Flask


class RedisStore:
    """Holds the app's Redis client, or None in the embedded mode without Redis."""

    def __init__(self) -> None:
        self.url: str | None = None
        self.client: redis.Redis | None = None

    def init_app(self, app: Flask, url: str | None) -> None:
        """Connect lazily to url, if there is one."""
        self.url = url
        self.client = (
            redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2) if url else None
        )
        app.extensions["redis"] = self

    def status(self) -> str:
        """Report "ok", "absent" (not configured) or "down: <reason>"."""
        if self.client is None:
            return "absent"
        try:
            self.client.ping()
        except redis.RedisError as exc:
            return f"down: {exc}"
        return "ok"
