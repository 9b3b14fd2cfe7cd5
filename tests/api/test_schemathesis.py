"""Property-based checks of every documented operation against the OpenAPI document.

schemathesis reads /api/v1/openapi.json from the app and generates requests for each
operation, valid ones and invalid ones; every answer must be no server error, with a
documented status, content type and body. Strategies are driven from a plain test so the
suite's transaction and token fixtures apply.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from app import create_app
from marketplace.api import api_blueprint
from marketplace.openapi import documented
from sso.scopes import ALLOWED_SCOPES
from tests.api.conftest import ClientRefSchema, access_token, bearer, make_client, make_vendor
from tests.conftest import make_test_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 40


@pytest.fixture
def vendor_headers(pages_app: Flask, session: Session) -> dict[str, str]:
    """Return the Authorization header of a client holding every scope, beside a few others."""
    vendor = make_vendor()
    issued = make_client(vendor, ALLOWED_SCOPES, name="Conformance")
    for n in range(3):
        make_client(vendor, ("catalog:read",), name=f"Client {n}")
    return bearer(access_token(pages_app.test_client(), issued))


def _has_input(operation: Any) -> bool:
    parts = (operation.path_parameters, operation.query, operation.headers, operation.body)
    return any(len(part) for part in parts)


def _check_operation(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    if mode is GenerationMode.NEGATIVE and not _has_input(operation):
        return  # nothing to get wrong

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def answers_as_documented(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    answers_as_documented()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_its_document_says(
    pages_app: Flask, session: Session, vendor_headers: dict[str, str], mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", pages_app)
    operations = [result.ok() for result in schema.get_all_operations()]

    for operation in operations:
        _check_operation(operation, mode, vendor_headers)

    assert {op.path for op in operations} >= {"/api/v1/me", "/api/v1/probe/clients"}


def _all_messages(error: BaseException) -> str:
    inner = getattr(error, "exceptions", ())
    return " ".join([str(error), *(_all_messages(e) for e in inner)])


def test_the_checks_catch_an_answer_that_breaks_the_document(
    database_url: str, redis_url: str | None, session: Session
) -> None:
    lying = create_app(make_test_settings(database_url, redis_url))
    probe = api_blueprint("lying", __name__)

    @probe.get("/probe/lie")
    @documented(response=ClientRefSchema)
    def lie() -> dict[str, Any]:
        """Answer a body that is not the documented one."""
        return {"id": "not a number"}

    lying.register_blueprint(probe)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", lying)
    operations = [result.ok() for result in schema.get_all_operations()]
    [operation] = [op for op in operations if op.path == "/api/v1/probe/lie"]

    with pytest.raises(FailureGroup) as found:
        _check_operation(operation, GenerationMode.POSITIVE, {})

    assert "Response violates schema" in _all_messages(found.value)
    lying.extensions["db_engine"].dispose()
