"""Settings read from the environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_URL = f"sqlite:///{PROJECT_ROOT / 'instance' / 'yunshi.db'}"
DEVELOPMENT_SECRET = "development-only-secret-key-change-me"  # noqa: S105
REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "DATABASE_URL", "STRIPE_API_KEY")


class SettingsError(RuntimeError):
    """A setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    """Every setting the app reads, with its development default."""

    env: str = "development"
    secret_key: str = DEVELOPMENT_SECRET
    database_url: str = DEFAULT_SQLITE_URL
    redis_url: str | None = None
    stripe_api_key: str = "sk_test_development"
    stripe_api_base: str | None = None
    mail_sender: str = "Yunshi 云市 <noreply@yunshi.example>"
    public_url: str = "http://127.0.0.1:5000"
    default_locale: str = "zh_CN"
    default_timezone: str = "Asia/Shanghai"
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 20
    login_lockout_seconds: int = 900
    rate_limit_prefix: str = "yunshi"
    api_rate_limit_per_minute: int = 600
    # How many reverse proxies in front of the app set X-Forwarded-For; 0 trusts none.
    trusted_proxy_hops: int = 0
    log_json: bool = True
    # Prepended to the RQ queue names, so deployments (or test runs) can share one Redis.
    job_queue_prefix: str = ""
    # Minutes between two runs of the periodic billing close (`flask jobs scheduler`).
    billing_close_interval_minutes: int = 15
    # The marketplace's share of what vendors bill, taken on their monthly statements.
    commission_rate: Decimal = Decimal("0.10")
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        """Tell whether this is a production deployment."""
        return self.env == "production"

    def flask_config(self) -> dict[str, Any]:
        """Return the Flask config keys these settings imply."""
        secure = self.is_production
        return {
            "SECRET_KEY": self.secret_key,
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": secure,
            "REMEMBER_COOKIE_SECURE": secure,
            "REMEMBER_COOKIE_HTTPONLY": True,
            "PREFERRED_URL_SCHEME": "https" if secure else "http",
            "BABEL_DEFAULT_LOCALE": self.default_locale,
            "BABEL_DEFAULT_TIMEZONE": self.default_timezone,
            "WTF_CSRF_TIME_LIMIT": None,
            "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
            **self.extra,
        }


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc


def _positive(environ: Mapping[str, str], name: str, default: int) -> int:
    value = _int(environ, name, default)
    if value < 1:
        raise SettingsError(f"{name} must be at least 1, got {value}")
    return value


def _rate(environ: Mapping[str, str], name: str, default: Decimal) -> Decimal:
    raw = environ.get(name)
    if not raw:
        return default
    try:
        rate = Decimal(raw)
    except InvalidOperation:
        raise SettingsError(f"{name} must be a decimal fraction such as 0.1") from None
    if not (rate.is_finite() and 0 <= rate < 1):
        raise SettingsError(f"{name} must be at least 0 and below 1")
    return rate


def _bool(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def check_production(environ: Mapping[str, str]) -> None:
    """Refuse to run in production without the settings that must not default."""
    missing = [name for name in REQUIRED_IN_PRODUCTION if not environ.get(name)]
    if missing:
        raise SettingsError("production needs these settings: " + ", ".join(missing))


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from environment variables (YUNSHI_ENV picks the deployment kind)."""
    environ = os.environ if environ is None else environ
    env = environ.get("YUNSHI_ENV", "development")
    if env == "production":
        check_production(environ)
    defaults = Settings()
    return Settings(
        env=env,
        secret_key=environ.get("SECRET_KEY") or defaults.secret_key,
        database_url=environ.get("DATABASE_URL") or defaults.database_url,
        redis_url=environ.get("REDIS_URL") or None,
        stripe_api_key=environ.get("STRIPE_API_KEY") or defaults.stripe_api_key,
        stripe_api_base=environ.get("STRIPE_API_BASE") or None,
        mail_sender=environ.get("MAIL_SENDER") or defaults.mail_sender,
        public_url=environ.get("PUBLIC_URL") or defaults.public_url,
        login_max_failures_per_account=_int(
            environ, "LOGIN_MAX_FAILURES_PER_ACCOUNT", defaults.login_max_failures_per_account
        ),
        login_max_failures_per_ip=_int(
            environ, "LOGIN_MAX_FAILURES_PER_IP", defaults.login_max_failures_per_ip
        ),
        login_lockout_seconds=_int(
            environ, "LOGIN_LOCKOUT_SECONDS", defaults.login_lockout_seconds
        ),
        rate_limit_prefix=environ.get("RATE_LIMIT_PREFIX") or defaults.rate_limit_prefix,
        api_rate_limit_per_minute=_int(
            environ, "API_RATE_LIMIT", defaults.api_rate_limit_per_minute
        ),
        trusted_proxy_hops=_int(environ, "TRUSTED_PROXY_HOPS", defaults.trusted_proxy_hops),
        log_json=_bool(environ, "LOG_JSON", env == "production"),
        job_queue_prefix=environ.get("JOB_QUEUE_PREFIX") or defaults.job_queue_prefix,
        billing_close_interval_minutes=_positive(
            environ, "BILLING_CLOSE_INTERVAL", defaults.billing_close_interval_minutes
        ),
        commission_rate=_rate(environ, "COMMISSION_RATE", defaults.commission_rate),
    )
