"""Settings from the environment."""

from __future__ import annotations

import pytest

from app import create_app
from marketplace.settings import REQUIRED_IN_PRODUCTION, SettingsError, settings_from_env


def test_development_runs_on_defaults() -> None:
    settings = settings_from_env({})
    assert settings.env == "development"
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None


@pytest.mark.parametrize("missing", REQUIRED_IN_PRODUCTION)
def test_production_refuses_to_start_without_a_required_setting(missing: str) -> None:
    environ = {
        "YUNSHI_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": "postgresql+psycopg://db/yunshi",
        "STRIPE_API_KEY": "sk_live_x",
        "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
    }
    del environ[missing]
    with pytest.raises(SettingsError, match=missing):
        settings_from_env(environ)


def test_production_sets_secure_cookies() -> None:
    settings = settings_from_env(
        {
            "YUNSHI_ENV": "production",
            "SECRET_KEY": "s" * 40,
            "DATABASE_URL": "sqlite://",
            "STRIPE_API_KEY": "sk_live_x",
            "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
            "STRIPE_WEBHOOK_SECRET": "whsec_x",
        }
    )
    config = settings.flask_config()
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_a_malformed_number_names_the_variable() -> None:
    with pytest.raises(SettingsError, match="LOGIN_LOCKOUT_SECONDS"):
        settings_from_env({"LOGIN_LOCKOUT_SECONDS": "soon"})


def test_create_app_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    monkeypatch.setenv("YUNSHI_ENV", "development")
    app = create_app()
    assert app.config["SETTINGS"].database_url == "sqlite://"
