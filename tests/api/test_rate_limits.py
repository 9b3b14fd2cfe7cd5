"""Per-client request budgets: RateLimit-* headers on every answer, 429 past the budget."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app
from marketplace.clock import FrozenClock
from marketplace.ratelimit import Allowance, seconds_until
from marketplace.settings import SettingsError, settings_from_env
from tests.api.conftest import access_token, bearer, make_client, make_vendor
from tests.conftest import make_test_settings

BUDGET = 3


@pytest.fixture(scope="module")
def small_budget_app(database_url: str, redis_url: str | None) -> Iterator[Flask]:
    """An app whose clients may make three requests a minute."""
    settings = replace(make_test_settings(database_url, redis_url), api_rate_limit_per_minute=3)
    built = create_app(settings)
    yield built
    built.extensions["db_engine"].dispose()


@pytest.fixture
def small_client(
    small_budget_app: Flask, session: Session, clock: FrozenClock
) -> Iterator[FlaskClient]:
    """A client of the small-budget app sharing the test's transaction."""
    small_budget_app.extensions["clock"] = clock
    with small_budget_app.app_context():
        yield small_budget_app.test_client()


def test_every_answer_reports_the_budget_left(client: FlaskClient, session: Session) -> None:
    token = access_token(client, make_client(make_vendor()))

    first = client.get("/api/v1/me", headers=bearer(token))
    second = client.get("/api/v1/me", headers=bearer(token))

    assert first.headers["RateLimit-Limit"] == "600"
    assert first.headers["RateLimit-Remaining"] == "599"
    assert second.headers["RateLimit-Remaining"] == "598"
    assert 1 <= int(first.headers["RateLimit-Reset"]) <= 60


def test_a_client_over_its_budget_gets_429_with_retry_after(
    small_client: FlaskClient, session: Session
) -> None:
    token = access_token(small_client, make_client(make_vendor()))
    answers = [small_client.get("/api/v1/me", headers=bearer(token)) for _ in range(BUDGET + 1)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    refused = answers[-1]
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["code"] == "rate_limited"
    assert "3 requests a minute" in refused.get_json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["RateLimit-Limit"] == "3"


def test_each_client_has_its_own_budget(small_client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    busy = access_token(small_client, make_client(vendor, name="Busy"))
    quiet = access_token(small_client, make_client(vendor, name="Quiet"))
    for _ in range(BUDGET + 1):
        small_client.get("/api/v1/me", headers=bearer(busy))

    response = small_client.get("/api/v1/me", headers=bearer(quiet))

    assert response.status_code == 200
    assert response.headers["RateLimit-Remaining"] == "2"


def test_requests_refused_for_scope_still_count(
    small_client: FlaskClient, session: Session
) -> None:
    token = access_token(small_client, make_client(make_vendor(), ("usage:write",)))

    response = small_client.get("/api/v1/me", headers=bearer(token))

    assert response.headers["RateLimit-Remaining"] == "2"


def test_requests_without_a_valid_token_are_not_charged(
    small_client: FlaskClient, session: Session
) -> None:
    for headers in ({}, bearer("yat_not-a-token-we-issued")):
        response = small_client.get("/api/v1/me", headers=headers)

        assert response.status_code == 401
        assert "RateLimit-Remaining" not in response.headers


def test_browser_pages_carry_no_rate_limit_headers(client: FlaskClient, session: Session) -> None:
    assert "RateLimit-Limit" not in client.get("/").headers


def test_the_budget_is_read_from_api_rate_limit() -> None:
    assert settings_from_env({}).api_rate_limit_per_minute == 600
    assert settings_from_env({"API_RATE_LIMIT": "120"}).api_rate_limit_per_minute == 120
    with pytest.raises(SettingsError, match="API_RATE_LIMIT"):
        settings_from_env({"API_RATE_LIMIT": "lots"})


def test_reset_is_whole_seconds_and_never_zero() -> None:
    assert seconds_until(100.2, 100.0) == 1
    assert seconds_until(99.0, 100.0) == 1
    assert seconds_until(130.5, 100.0) == 31
    assert Allowance(600, 12, 30).headers() == {
        "RateLimit-Limit": "600",
        "RateLimit-Remaining": "12",
        "RateLimit-Reset": "30",
    }
