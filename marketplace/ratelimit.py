"""Per-client request budgets on the vendor API, counted in Redis (in process without it).

Every request that brings a valid token is charged to its client in a moving window of
one minute; the answer says how much is left in RateLimit-* headers, and a client over
its budget gets 429 with Retry-After.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import Flask, Response, current_app, g
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from marketplace.errors import RateLimited

ALLOWANCE_KEY = "api_allowance"


@dataclass(frozen=True)
class Allowance:
    """A client's budget after this request: its size, what is left, seconds until room."""

    limit: int
    remaining: int
    reset_after: int

    def headers(self) -> dict[str, str]:
        """Return the RateLimit-* headers that report this allowance."""
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_after),
        }


@dataclass(frozen=True)
class _Budget:
    storage: Storage
    limiter: MovingWindowRateLimiter
    item: RateLimitItemPerMinute


def seconds_until(reset_at: float, now: float) -> int:
    """Return whole seconds from now until reset_at, at least 1 so clients never spin."""
    return max(1, math.ceil(reset_at - now))


class ApiRateLimit:
    """Charges each API request to its client and reports the budget on the answer."""

    def init_app(self, app: Flask, redis_url: str | None, *, prefix: str, per_minute: int) -> None:
        """Choose the app's counter storage and budget, and report it on every answer."""
        storage: Storage = (
            RedisStorage(redis_url, key_prefix=f"{prefix}:api") if redis_url else MemoryStorage()
        )
        app.extensions["api_rate_limit"] = _Budget(
            storage, MovingWindowRateLimiter(storage), RateLimitItemPerMinute(per_minute)
        )
        app.after_request(add_rate_limit_headers)

    @property
    def _budget(self) -> _Budget:
        budget: _Budget = current_app.extensions["api_rate_limit"]
        return budget

    @property
    def storage(self) -> Storage:
        """Return the current app's counter storage."""
        return self._budget.storage

    def charge(self, client_id: str) -> Allowance:
        """Count one request against the client, or raise RateLimited when it has none left."""
        budget = self._budget
        admitted = budget.limiter.hit(budget.item, "client", client_id)
        stats = budget.limiter.get_window_stats(budget.item, "client", client_id)
        allowance = Allowance(
            limit=budget.item.amount,
            remaining=max(0, stats.remaining),
            reset_after=seconds_until(stats.reset_time, time.time()),
        )
        setattr(g, ALLOWANCE_KEY, allowance)
        if not admitted:
            raise RateLimited(
                f"This client may make {allowance.limit} requests a minute; "
                f"try again in {allowance.reset_after} seconds.",
                retry_after=allowance.reset_after,
            )
        return allowance


def add_rate_limit_headers(response: Response) -> Response:
    """Report the caller's allowance on the answer, whatever its status."""
    allowance: Allowance | None = g.get(ALLOWANCE_KEY)
    if allowance is not None:
        response.headers.update(allowance.headers())
    return response


api_rate_limit = ApiRateLimit()
