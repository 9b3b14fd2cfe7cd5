"""Helpers of the API tests: test-only endpoints that need a scope or page a list."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from app import create_app
from marketplace.api import api_blueprint, api_caller, require_token
from marketplace.extensions import db
from marketplace.openapi import documented
from marketplace.pagination import (
    Page,
    PageQuerySchema,
    PageRequest,
    page_body,
    page_schema,
    paginate,
    requested_page,
)
from sso.models import ApiClient
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


class ClientRefSchema(Schema):
    """An API client of the calling vendor, as the test-only list shows it."""

    id = fields.Integer(required=True)
    client_id = fields.String(required=True)
    name = fields.String(required=True)


ClientPageSchema = page_schema(ClientRefSchema, "ClientPage")


def clients_of_vendor(session: Session, organization_id: int, page: PageRequest) -> Page[ApiClient]:
    """Read one page of a vendor's API clients, oldest first."""
    stmt = sa.select(ApiClient).where(ApiClient.organization_id == organization_id)
    return paginate(session, stmt, [ApiClient.id], page, lambda c: (c.id,))


def paged_app(database_url: str, redis_url: str | None, **extra: object) -> Flask:
    """Build the app with a test-only paged list of the caller's API clients."""
    built = create_app(make_test_settings(database_url, redis_url, **extra))
    pages = api_blueprint("probe_pages", __name__)

    @pages.get("/probe/clients")
    @documented(response=ClientPageSchema, query=PageQuerySchema, tags=["probe"])
    @require_token("catalog:read")
    def list_clients() -> dict[str, Any]:
        """List the calling vendor's API clients, a page at a time."""
        page = clients_of_vendor(db.session(), api_caller().organization_id, requested_page())
        return page_body(ClientRefSchema(many=True).dump(page.items), page.next_key)

    built.register_blueprint(pages)
    return built


@pytest.fixture(scope="module")
def pages_app(database_url: str, redis_url: str | None) -> Iterator[Flask]:
    """The app with a test-only paged list, over the suite's database."""
    built = paged_app(database_url, redis_url)
    yield built
    built.extensions["db_engine"].dispose()


@pytest.fixture
def pages_client(pages_app: Flask, session: Session, clock: object) -> Iterator[FlaskClient]:
    """A client of the paged app sharing the test's transaction and frozen clock."""
    pages_app.extensions["clock"] = clock
    with pages_app.app_context():
        yield pages_app.test_client()


@pytest.fixture(scope="module")
def protected_app(database_url: str, redis_url: str | None) -> Iterator[Flask]:
    """An app with CSRF protection on, as outside the test suite."""
    built = _scoped_app(database_url, redis_url, WTF_CSRF_ENABLED=True)
    yield built
    built.extensions["db_engine"].dispose()
