"""Security headers and the client address behind proxies."""

from __future__ import annotations

from dataclasses import replace

from flask import request
from flask.testing import FlaskClient

from app import create_app
from tests.conftest import make_test_settings


def test_every_page_forbids_inline_scripts_and_framing(client: FlaskClient) -> None:
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_no_page_carries_an_inline_script(client: FlaskClient) -> None:
    for path in ("/", "/login", "/signup", "/password/forgot"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and "onclick=" not in html and "javascript:" not in html


def _address_seen(database_url: str, redis_url: str | None, hops: int) -> str | None:
    settings = replace(make_test_settings(database_url, redis_url), trusted_proxy_hops=hops)
    application = create_app(settings)
    seen: list[str | None] = []

    @application.get("/_probe")
    def probe() -> str:
        seen.append(request.remote_addr)
        return "ok"

    application.test_client().get(
        "/_probe",
        headers={"X-Forwarded-For": "203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.1"},
    )
    application.extensions["db_engine"].dispose()
    return seen[0]


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(
    database_url: str, redis_url: str | None
) -> None:
    assert _address_seen(database_url, redis_url, hops=0) == "10.0.0.1"
    assert _address_seen(database_url, redis_url, hops=1) == "203.0.113.9"
