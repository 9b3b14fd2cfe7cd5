"""Sign-in throttling: failures counted per account and per IP, with a temporary lockout."""

from __future__ import annotations

import time
from dataclasses import dataclass

from flask import Flask, current_app
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter


@dataclass(frozen=True)
class LockState:
    """Whether sign-in is locked for a key, and for how many more seconds."""

    locked: bool
    retry_after: int = 0


@dataclass(frozen=True)
class _ThrottleState:
    storage: Storage
    limiter: MovingWindowRateLimiter
    per_account: RateLimitItemPerSecond
    per_ip: RateLimitItemPerSecond


class LoginThrottle:
    """Counts failed sign-ins in a moving window in Redis (in process when Redis is absent)."""

    def init_app(
        self,
        app: Flask,
        redis_url: str | None,
        *,
        prefix: str,
        max_per_account: int,
        max_per_ip: int,
        window_seconds: int,
    ) -> None:
        """Choose the app's storage and limits from its settings."""
        storage: Storage = (
            RedisStorage(redis_url, key_prefix=f"{prefix}:login") if redis_url else MemoryStorage()
        )
        app.extensions["login_throttle"] = _ThrottleState(
            storage=storage,
            limiter=MovingWindowRateLimiter(storage),
            per_account=RateLimitItemPerSecond(max_per_account, window_seconds),
            per_ip=RateLimitItemPerSecond(max_per_ip, window_seconds),
        )

    @property
    def _state(self) -> _ThrottleState:
        state: _ThrottleState = current_app.extensions["login_throttle"]
        return state

    @property
    def storage(self) -> Storage:
        """Return the current app's counter storage."""
        return self._state.storage

    @property
    def limiter(self) -> MovingWindowRateLimiter:
        """Return the current app's rate limiter."""
        return self._state.limiter

    @property
    def per_account(self) -> RateLimitItemPerSecond:
        """Return the limit on failures per account."""
        return self._state.per_account

    @property
    def per_ip(self) -> RateLimitItemPerSecond:
        """Return the limit on failures per IP address."""
        return self._state.per_ip

    def _checks(self, email: str, ip: str) -> list[tuple[RateLimitItemPerSecond, str]]:
        assert self.per_account is not None and self.per_ip is not None
        return [(self.per_account, f"account:{email.lower()}"), (self.per_ip, f"ip:{ip}")]

    def state(self, email: str, ip: str) -> LockState:
        """Tell whether either the account or the IP has used up its failures."""
        assert self.limiter is not None
        for item, key in self._checks(email, ip):
            if not self.limiter.test(item, key):
                reset_at, _remaining = self.limiter.get_window_stats(item, key)
                return LockState(True, max(1, int(reset_at - time.time()) + 1))
        return LockState(False)

    def record_failure(self, email: str, ip: str) -> None:
        """Count one failed sign-in against the account and the IP."""
        assert self.limiter is not None
        for item, key in self._checks(email, ip):
            self.limiter.hit(item, key)

    def clear_account(self, email: str) -> None:
        """Forget an account's failures after a successful sign-in or a password reset."""
        assert self.limiter is not None and self.per_account is not None
        self.limiter.clear(self.per_account, f"account:{email.lower()}")
