"""The application shell: health, backends, migrations, errors."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from marketplace.extensions import db
from tests import backends
from tests.conftest import BACKENDS


def test_healthz_reports_database_and_redis(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"] == ("ok" if BACKENDS.has_redis else "absent")


def test_on_ci_the_suite_runs_on_postgresql_and_redis(app: Flask) -> None:
    if not backends.on_ci():
        pytest.skip("only CI insists on PostgreSQL and Redis")
    assert app.extensions["db_engine"].dialect.name == "postgresql"
    assert app.extensions["redis"].status() == "ok"


def test_the_database_dialect_matches_what_the_machine_offers(session: sa.orm.Session) -> None:
    expected = "postgresql" if BACKENDS.has_postgres else "sqlite"
    assert db.engine.dialect.name == expected


def test_unknown_page_renders_an_html_error(client: FlaskClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_unknown_api_path_answers_problem_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 404 and body["title"]
