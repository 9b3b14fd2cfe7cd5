"""Helpers of the API tests: a test-only endpoint that needs a scope, besides the sso ones."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app
from marketplace.api import api_blueprint, api_caller, require_token
from tests.conftest import make_test_settings
from tests.sso.conftest import (  # noqa: F401 (shared by this part's tests)
    access_token,
    bearer,
    make_client,
    make_vendor,
    tokens_of,
)


def _scoped_app(database_url: str, redis_url: str | None, **extra: object) -> Flask:
    """Build an app with two test-only endpoints that need scopes."""
    scoped = create_app(make_test_settings(database_url, redis_url, **extra))
    probe = api_blueprint("probe", __name__)

    @probe.get("/probe/catalog")
    @require_token("catalog:write")
    def catalog_writer() -> dict[str, Any]:
        return {"client_id": api_caller().client_id}

    @probe.post("/probe/usage")
    @require_token(["usage:write", "catalog:read catalog:write"])
    def usage_writer() -> dict[str, Any]:
        return {"client_id": api_caller().client_id}

    scoped.register_blueprint(probe)
    return scoped


@pytest.fixture(scope="module")
def scoped_app(database_url: str, redis_url: str | None) -> Iterator[Flask]:
    """An app with test-only endpoints that need scopes, over the suite's database."""
    built = _scoped_app(database_url, redis_url)
    yield built
    built.extensions["db_engine"].dispose()


@pytest.fixture
def scoped_client(scoped_app: Flask, session: Session, clock: object) -> Iterator[FlaskClient]:
    """A client of the scoped app sharing the test's transaction and frozen clock."""
    scoped_app.extensions["clock"] = clock
    with scoped_app.app_context():
        yield scoped_app.test_client()


@pytest.fixture(scope="module")
def protected_app(database_url: str, redis_url: str | None) -> Iterator[Flask]:
    """An app with CSRF protection on, as outside the test suite."""
    built = _scoped_app(database_url, redis_url, WTF_CSRF_ENABLED=True)
    yield built
    built.extensions["db_engine"].dispose()
