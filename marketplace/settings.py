"""Settings read from the environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_URL = f"sqlite:///{PROJECT_ROOT / 'instance' / 'yunshi.db'}"
DEVELOPMENT_SECRET = "development-only-secret-key-change-me"  # noqa: S105
REQUIRED_IN_PRODUCTION = (
    "SECRET_KEY",
    "DATABASE_URL",
    "STRIPE_API_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
)
# Outside production the stripe SDK talks to localstripe, which `make run` starts here.
LOCALSTRIPE_URL = "http://127.0.0.1:8420"
STRIPE_API_URL = "https://api.stripe.com"
STRIPE_JS_URL = "https://js.stripe.com/v3/"
# Stripe.js opens 3-D Secure challenges in frames from this origin.
STRIPE_HOOKS_ORIGIN = "https://hooks.stripe.com"
DEVELOPMENT_PUBLISHABLE_KEY = "pk_test_development"


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
    # The key Stripe.js uses in the browser; production has no default (see payment settings).
    stripe_publishable_key: str | None = DEVELOPMENT_PUBLISHABLE_KEY
    # Where pages load Stripe.js from; None: Stripe's own in production, localstripe's otherwise.
    stripe_js_url: str | None = None
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
    # Seconds a vendor's webhook endpoint has to answer 2xx before the attempt counts as failed.
    webhook_timeout_seconds: int = 10
    # Our Stripe webhook endpoint's signing secret (whsec_…); without it every event is refused.
    stripe_webhook_secret: str | None = None
    # Days after an invoice's finalization on which a failed payment is tried again.
    dunning_retry_days: tuple[int, ...] = (1, 3, 7)
    # Days from the first failed payment until the subscription is suspended.
    dunning_grace_days: int = 14
    # Hours a vendor has to activate a new subscription before it is cancelled.
    activation_deadline_hours: int = 72
    # Minutes after which a payment no webhook settled is looked up at Stripe by the sweep.
    payment_settle_after_minutes: int = 60
    # Signing in through an upstream OpenID Connect provider (统一身份); off while no issuer.
    upstream_oidc_issuer: str | None = None
    upstream_oidc_client_id: str | None = None
    upstream_oidc_client_secret: str | None = None
    # The provider's name on the sign-in button; None shows the translated default.
    upstream_oidc_name: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        """Tell whether this is a production deployment."""
        return self.env == "production"

    @property
    def upstream_oidc_enabled(self) -> bool:
        """Tell whether users may sign in through the upstream OpenID Connect provider."""
        return bool(self.upstream_oidc_issuer)

    @property
    def stripe_api_url(self) -> str:
        """Return the address the stripe SDK talks to: localstripe unless in production."""
        if self.stripe_api_base:
            return self.stripe_api_base.rstrip("/")
        return STRIPE_API_URL if self.is_production else LOCALSTRIPE_URL

    @property
    def stripe_js_script_url(self) -> str:
        """Return the URL of Stripe.js: Stripe's own in production, else the fake's copy."""
        if self.stripe_js_url:
            return self.stripe_js_url
        if self.is_production:
            return STRIPE_JS_URL
        return f"{self.stripe_api_url}/js.stripe.com/v3/"

    @property
    def payment_csp_sources(self) -> dict[str, tuple[str, ...]]:
        """Return the origins the Content-Security-Policy must allow for Stripe.js to work."""
        script = _origin(self.stripe_js_script_url)
        frames = (script, STRIPE_HOOKS_ORIGIN) if script == _origin(STRIPE_JS_URL) else (script,)
        return {
            "script-src": (script,),
            "frame-src": frames,
            "connect-src": tuple(dict.fromkeys((_origin(self.stripe_api_url), script))),
        }

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
            "WEBHOOK_TIMEOUT_SECONDS": self.webhook_timeout_seconds,
            **self.extra,
        }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


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


# A worker presumes a delivery's sender gone after a 5-minute lease: stay well inside it.
WEBHOOK_TIMEOUT_MAX = 60


def _webhook_timeout(environ: Mapping[str, str], default: int) -> int:
    value = _positive(environ, "WEBHOOK_TIMEOUT", default)
    if value > WEBHOOK_TIMEOUT_MAX:
        raise SettingsError(f"WEBHOOK_TIMEOUT must be at most {WEBHOOK_TIMEOUT_MAX}, got {value}")
    return value


def _retry_days(environ: Mapping[str, str], name: str, default: tuple[int, ...]) -> tuple[int, ...]:
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        days = tuple(int(part) for part in raw.split(","))
    except ValueError:
        raise SettingsError(f"{name} must be whole days separated by commas, got {raw!r}") from None
    if any(day < 1 for day in days):
        raise SettingsError(f"{name} must count days from 1, got {raw!r}")
    if any(later <= earlier for earlier, later in pairwise(days)):
        raise SettingsError(f"{name} must list days in increasing order, got {raw!r}")
    return days


def _upstream_issuer(environ: Mapping[str, str], production: bool) -> str | None:
    issuer = environ.get("UPSTREAM_OIDC_ISSUER", "").strip() or None
    if issuer is None:
        return None
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"UPSTREAM_OIDC_ISSUER must be an http(s) URL, got {issuer!r}")
    if production and parts.scheme != "https":
        raise SettingsError("UPSTREAM_OIDC_ISSUER must use https in production")
    if not environ.get("UPSTREAM_OIDC_CLIENT_ID") or not environ.get("UPSTREAM_OIDC_CLIENT_SECRET"):
        raise SettingsError(
            "UPSTREAM_OIDC_ISSUER needs UPSTREAM_OIDC_CLIENT_ID and UPSTREAM_OIDC_CLIENT_SECRET"
        )
    return issuer


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
        stripe_publishable_key=environ.get("STRIPE_PUBLISHABLE_KEY")
        or (None if env == "production" else defaults.stripe_publishable_key),
        stripe_js_url=environ.get("STRIPE_JS_URL") or None,
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
        webhook_timeout_seconds=_webhook_timeout(environ, defaults.webhook_timeout_seconds),
        stripe_webhook_secret=environ.get("STRIPE_WEBHOOK_SECRET") or None,
        dunning_retry_days=_retry_days(environ, "DUNNING_RETRY_DAYS", defaults.dunning_retry_days),
        dunning_grace_days=_positive(environ, "DUNNING_GRACE_DAYS", defaults.dunning_grace_days),
        activation_deadline_hours=_positive(
            environ, "ACTIVATION_DEADLINE_HOURS", defaults.activation_deadline_hours
        ),
        payment_settle_after_minutes=_positive(
            environ, "PAYMENT_SETTLE_AFTER_MINUTES", defaults.payment_settle_after_minutes
        ),
        upstream_oidc_issuer=_upstream_issuer(environ, env == "production"),
        upstream_oidc_client_id=environ.get("UPSTREAM_OIDC_CLIENT_ID") or None,
        upstream_oidc_client_secret=environ.get("UPSTREAM_OIDC_CLIENT_SECRET") or None,
        upstream_oidc_name=environ.get("UPSTREAM_OIDC_NAME", "").strip() or None,
    )
