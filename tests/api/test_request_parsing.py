"""Reading API input with marshmallow: field errors named the way problems report them."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema, fields, validate

from marketplace.api import field_errors, load_body, load_query, require_token
from marketplace.errors import ValidationFailed
from marketplace.openapi import SCOPES_ATTRIBUTE


class PriceSchema(Schema):
    """A price, as a test body."""

    amount_fen = fields.Integer(required=True, validate=validate.Range(min=0))
    currency = fields.String(load_default="CNY", validate=validate.OneOf(["CNY"]))


class PlanSchema(Schema):
    """A plan, as a test body with a nested price."""

    name = fields.String(required=True)
    price = fields.Nested(PriceSchema, required=True)


def test_nested_errors_are_flattened_to_dotted_fields() -> None:
    messages = {"name": ["Missing data."], "price": {"amount_fen": ["Too small."]}}

    assert field_errors(messages) == {"name": ["Missing data."], "price.amount_fen": ["Too small."]}
    assert field_errors({"tiers": {0: {"up_to": ["Bad."]}}}) == {"tiers.0.up_to": ["Bad."]}
    assert field_errors(["Invalid input type."]) == {"body": ["Invalid input type."]}


def test_a_valid_body_is_loaded(app: Flask) -> None:
    body = {"name": "Basic", "price": {"amount_fen": 9900}}
    with app.test_request_context(json=body):
        assert load_body(PlanSchema()) == {
            "name": "Basic",
            "price": {"amount_fen": 9900, "currency": "CNY"},
        }


def test_a_bad_body_is_refused_naming_each_field(app: Flask) -> None:
    body = {"price": {"amount_fen": -1, "currency": "USD"}}
    with app.test_request_context(json=body), pytest.raises(ValidationFailed) as refused:
        load_body(PlanSchema())

    assert set(refused.value.errors) == {"name", "price.amount_fen", "price.currency"}


@pytest.mark.parametrize("data", ["not json", "[1, 2]", ""])
def test_a_body_that_is_not_a_json_object_is_refused(app: Flask, data: str) -> None:
    context = app.test_request_context(data=data, content_type="application/json")
    with context, pytest.raises(ValidationFailed) as refused:
        load_body(PlanSchema())

    assert list(refused.value.errors) == ["body"]


def test_query_parameters_are_loaded_and_checked(app: Flask) -> None:
    with app.test_request_context(query_string={"amount_fen": "5"}):
        assert load_query(PriceSchema()) == {"amount_fen": 5, "currency": "CNY"}
    bad = app.test_request_context(query_string={"amount_fen": "x"})
    with bad, pytest.raises(ValidationFailed) as refused:
        load_query(PriceSchema())
    assert list(refused.value.errors) == ["amount_fen"]


def test_a_guarded_view_records_the_scopes_it_needs() -> None:
    def view() -> dict[str, Any]:
        return {}

    assert getattr(require_token("catalog:write")(view), SCOPES_ATTRIBUTE) == ["catalog:write"]
    either = require_token(["usage:write", "catalog:read catalog:write"])(view)
    assert getattr(either, SCOPES_ATTRIBUTE) == ["usage:write", "catalog:read catalog:write"]
    assert getattr(require_token(view), SCOPES_ATTRIBUTE) == []
