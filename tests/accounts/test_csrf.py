"""CSRF: with protection on, as outside the test suite, a form posted without its token fails."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from marketplace.extensions import login_throttle
from tests.conftest import make_test_settings


@pytest.fixture(scope="module")
def protected_app(database_url: str, redis_url: str | None) -> Iterator[Flask]:
    """Build a second app with CSRF protection on, over the suite's database."""
    protected = create_app(make_test_settings(database_url, redis_url, WTF_CSRF_ENABLED=True))
    yield protected
    with protected.app_context():
        login_throttle.storage.reset()
    protected.extensions["db_engine"].dispose()


@pytest.fixture
def protected_client(protected_app: Flask) -> FlaskClient:
    """A browser on the protected app."""
    return protected_app.test_client()


def test_a_login_post_without_a_csrf_token_is_refused(protected_client: FlaskClient) -> None:
    response = protected_client.post(
        "/login", data={"email": "a@example.com", "password": "whatever1234"}
    )

    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_a_login_post_with_the_forms_token_is_judged_on_its_merits(
    protected_client: FlaskClient,
) -> None:
    page = protected_client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None

    response = protected_client.post(
        "/login",
        data={"email": "nobody@example.com", "password": "whatever1234", "csrf_token": token[1]},
    )

    assert response.status_code == 422


def test_a_logout_post_without_a_csrf_token_is_refused(protected_client: FlaskClient) -> None:
    assert protected_client.post("/logout").status_code == 400
