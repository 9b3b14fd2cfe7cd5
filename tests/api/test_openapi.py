"""The OpenAPI document and the docs page that reads it."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate
from sqlalchemy.orm import Session

from marketplace.api import API_PREFIX
from marketplace.api_docs import constraints_of, type_label
from marketplace.openapi import OPERATION_ATTRIBUTE
from sso.scopes import ALLOWED_SCOPES
from tests.api.catalog_helpers import api_vendor


def _document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document: dict[str, Any] = response.get_json()
    return document


def test_the_document_is_valid_openapi_3(client: FlaskClient) -> None:
    document = _document(client)

    validate(document)
    assert document["openapi"].startswith("3.")


def test_the_document_needs_no_token(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    assert "RateLimit-Limit" not in response.headers


def test_me_is_documented_with_its_schema_and_token(client: FlaskClient) -> None:
    operation = _document(client)["paths"]["/api/v1/me"]["get"]

    ok = operation["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Caller"}
    assert set(ok["headers"]) == {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
    assert operation["security"] == [{"oauth2": []}]
    assert set(operation["responses"]) == {"200", "401", "429"}
    assert operation["summary"].startswith("Describe the API client")


def test_the_security_scheme_is_client_credentials_with_every_scope(client: FlaskClient) -> None:
    scheme = _document(client)["components"]["securitySchemes"]["oauth2"]

    flow = scheme["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == set(ALLOWED_SCOPES)
    assert all(flow["scopes"].values())


def test_problems_share_one_schema_with_field_errors(client: FlaskClient) -> None:
    components = _document(client)["components"]

    problem = components["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code", "errors"} <= set(problem["properties"])
    assert problem["additionalProperties"] is True
    too_many = components["responses"]["TooManyRequests"]
    assert "Retry-After" in too_many["headers"]
    assert too_many["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }


def test_every_api_route_is_in_the_document(app: Flask, client: FlaskClient) -> None:
    paths = _document(client)["paths"]

    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX) or rule.endpoint.startswith("api_docs."):
            continue
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, OPERATION_ATTRIBUTE), f"{rule.rule} is not @documented"
        # The document writes a path variable as {name}, Flask as <converter:name>.
        assert re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule) in paths


def test_scopes_and_paging_parameters_come_from_the_route(
    pages_client: FlaskClient, session: Session
) -> None:
    document = _document(pages_client)
    validate(document)

    operation = document["paths"]["/api/v1/probe/clients"]["get"]
    assert operation["security"] == [{"oauth2": ["catalog:read"]}]
    assert {p["name"] for p in operation["parameters"]} == {"limit", "cursor"}
    assert set(operation["responses"]) == {"200", "401", "403", "422", "429"}
    page = document["components"]["schemas"]["ClientPage"]
    assert page["required"] == ["data", "next_cursor"]
    assert page["properties"]["next_cursor"]["nullable"] is True


def test_the_docs_page_lists_endpoints_schemas_and_scopes(client: FlaskClient) -> None:
    response = client.get("/api/v1/docs")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert (
        "/api/v1/me" in html and 'id="schema-Caller"' in html and 'href="#schema-Problem"' in html
    )
    for scope in ALLOWED_SCOPES:
        assert scope in html
    assert "/oauth/token" in html
    assert "/static/api-docs/docs.css" in html


def test_the_docs_page_loads_nothing_from_elsewhere_and_runs_no_inline_script(
    client: FlaskClient,
) -> None:
    html = client.get("/api/v1/docs").get_data(as_text=True)

    assert "<script>" not in html and "onclick=" not in html and "style=" not in html
    assert "https://" not in html.replace("https://yunshi.example", "")
    assert client.get("/static/api-docs/docs.css").status_code == 200


def test_the_docs_page_reads_in_chinese(client: FlaskClient) -> None:
    html = client.get("/api/v1/docs", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)

    assert "/api/v1/me" in html
    assert '<html lang="zh' in html


def test_type_labels_name_references_arrays_maps_and_nulls() -> None:
    assert type_label({"$ref": "#/components/schemas/Caller"}).ref == "Caller"
    assert type_label({"type": "array", "items": {"type": "string"}}).text == "array of string"
    values = {"type": "object", "additionalProperties": {"type": "integer"}}
    assert type_label(values).text == "map of integer"
    assert type_label({"type": "string", "nullable": True}).text == "string or null"
    assert type_label({"type": "string", "format": "date-time"}).text == "string (date-time)"
    assert type_label(None).text == "any"


def test_constraints_read_as_one_line() -> None:
    bounded = {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}

    assert constraints_of(bounded) == "1–100; default 20"
    assert constraints_of({"enum": ["month", "year"]}) == "month | year"
    assert constraints_of({"type": "string"}) == ""


IDEMPOTENT_OPERATIONS = {
    ("/api/v1/listings", "post"),
    ("/api/v1/listings/{listing_id}/plans", "post"),
    ("/api/v1/listings/{listing_id}/submit", "post"),
}


def _header_parameters(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}


def test_creating_posts_declare_idempotency_key_as_an_optional_header(
    client: FlaskClient,
) -> None:
    paths = _document(client)["paths"]

    for path, method in IDEMPOTENT_OPERATIONS:
        header = _header_parameters(paths[path][method])["Idempotency-Key"]
        assert header["required"] is False
        assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}
        assert "replays the first answer" in header["description"]


CATALOG_OPERATIONS_WITHOUT_KEY = {
    ("/api/v1/listings", "get"),
    ("/api/v1/listings/{listing_id}", "get"),
    ("/api/v1/listings/{listing_id}", "patch"),
    ("/api/v1/listings/{listing_id}/plans/{code}", "put"),
    ("/api/v1/listings/{listing_id}/delist", "post"),
}


def test_operations_that_ignore_idempotency_key_do_not_declare_it(client: FlaskClient) -> None:
    paths = _document(client)["paths"]

    declaring = {
        (path, method)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "Idempotency-Key" in _header_parameters(operation)
    }

    assert {method for _path, method in declaring} == {"post"}
    assert declaring >= IDEMPOTENT_OPERATIONS
    assert not declaring & CATALOG_OPERATIONS_WITHOUT_KEY
    assert _all_operations(paths) >= CATALOG_OPERATIONS_WITHOUT_KEY


def _all_operations(paths: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, operations in paths.items() for method in operations}


def test_a_declared_idempotency_key_is_honoured(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)
    headers = {**caller.headers, "Idempotency-Key": "listing-1"}
    body = {"slug": "cloud-ledger", "name_zh": "云账本", "name_en": "Cloud Ledger"}
    body["layer_category"] = "saas"

    first = client.post("/api/v1/listings", json=body, headers=headers)
    again = client.post("/api/v1/listings", json=body, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
