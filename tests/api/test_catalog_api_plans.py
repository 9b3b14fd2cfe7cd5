"""The vendor catalog API's plan endpoints: add a plan, revise it."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.models import Plan
from marketplace.clock import FrozenClock
from tests.api.catalog_helpers import api_vendor, draft_of, problem, published_of, submitted_of
from tests.catalog.workflow import audit, content, count, make_operator, plan_terms


def _terms(**changes: Any) -> dict[str, Any]:
    """Return valid terms for revising a plan (its code is in the path)."""
    return {k: v for k, v in plan_terms(**changes).items() if k != "code"}


def test_a_vendor_adds_a_plan_with_every_kind_of_component(
    client: FlaskClient, session: Session
) -> None:
    caller = api_vendor(client)
    listing = client.post("/api/v1/listings", json=content(), headers=caller.headers).get_json()

    response = client.post(
        f"/api/v1/listings/{listing['id']}/plans", json=plan_terms(), headers=caller.headers
    )

    body = response.get_json()
    assert response.status_code == 201, body
    assert (body["code"], body["version"], body["status"]) == ("standard", 1, "draft")
    assert (body["currency"], body["billing_interval"], body["trial_days"]) == ("CNY", "month", 14)
    assert [c["kind"] for c in body["components"]] == ["flat", "seat", "metered"]
    assert body["components"][1] == {
        "kind": "seat",
        "unit_amount_fen": 2000,
        "min_seats": 1,
        "max_seats": 50,
    }
    assert len(audit(session, "plan.created")) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"code": "Bad Code"}, "code"),
        ({"code": None}, "code"),
        ({"name_zh": "x"}, "name_zh"),
        ({"currency": "cny"}, "currency"),
        ({"billing_interval": "week"}, "billing_interval"),
        ({"trial_days": 400}, "trial_days"),
        ({"trial_days": -1}, "trial_days"),
        ({"auto_activate": "yes"}, "auto_activate"),
        ({"components": []}, "components"),
        ({"components": [{"kind": "barter"}]}, "components.0.kind"),
        ({"components": [{"kind": "flat", "amount_fen": -5}]}, "components.0.amount_fen"),
        ({"components": [{"kind": "flat", "amount_fen": 1.5}]}, "components.0.amount_fen"),
        (
            {
                "components": [
                    {"kind": "seat", "unit_amount_fen": 100, "min_seats": 9, "max_seats": 2}
                ]
            },
            "components[0].max_seats",
        ),
        ({"discount": 10}, "discount"),
    ],
)
def test_adding_a_plan_with_a_bad_field_names_it(
    client: FlaskClient, session: Session, clock: FrozenClock, changes: dict[str, Any], field: str
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)
    before = count(session, Plan)

    response = client.post(
        f"/api/v1/listings/{listing.id}/plans",
        json=plan_terms("extra", **changes) if "code" not in changes else plan_terms(**changes),
        headers=caller.headers,
    )

    assert field in problem(response, 422)["errors"]
    assert count(session, Plan) == before


def test_a_plan_code_is_used_once_per_listing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)

    response = client.post(
        f"/api/v1/listings/{listing.id}/plans", json=plan_terms(), headers=caller.headers
    )

    assert "code" in problem(response, 422)["errors"]


def test_a_plan_cannot_be_added_while_the_listing_is_in_review(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = submitted_of(session, clock, caller)

    response = client.post(
        f"/api/v1/listings/{listing.id}/plans", json=plan_terms("extra"), headers=caller.headers
    )

    problem(response, 409)


def test_a_draft_plan_is_revised_in_place(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)
    flat_only = _terms(name_en="Standard II", components=[{"kind": "flat", "amount_fen": 19900}])

    response = client.put(
        f"/api/v1/listings/{listing.id}/plans/standard", json=flat_only, headers=caller.headers
    )

    body = response.get_json()
    assert response.status_code == 200, body
    assert (body["version"], body["name_en"]) == (1, "Standard II")
    assert body["components"] == [{"kind": "flat", "amount_fen": 19900}]
    assert count(session, Plan) == 1


def test_a_published_plan_is_revised_as_a_new_version(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = published_of(session, clock, caller, make_operator())

    response = client.put(
        f"/api/v1/listings/{listing.id}/plans/standard",
        json=_terms(trial_days=30),
        headers=caller.headers,
    )

    body = response.get_json()
    assert response.status_code == 200, body
    assert (body["version"], body["status"], body["trial_days"]) == (2, "draft", 30)
    shown = client.get(f"/api/v1/listings/{listing.id}", headers=caller.headers).get_json()
    assert [(p["version"], p["status"]) for p in shown["plans"]] == [(1, "published"), (2, "draft")]


@pytest.mark.parametrize("code", ["premium", "Not-A-Code", "x" * 41])
def test_revising_a_plan_the_listing_lacks_is_not_found(
    client: FlaskClient, session: Session, clock: FrozenClock, code: str
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)

    response = client.put(
        f"/api/v1/listings/{listing.id}/plans/{code}", json=_terms(), headers=caller.headers
    )

    problem(response, 404)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name_en": None}, "name_en"),
        ({"components": None}, "components"),
        ({"components": [{"kind": "metered", "dimension": "calls"}]}, "components[0].model"),
        ({"code": "renamed"}, "code"),
    ],
)
def test_revising_a_plan_with_a_bad_field_names_it(
    client: FlaskClient, session: Session, clock: FrozenClock, changes: dict[str, Any], field: str
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)

    response = client.put(
        f"/api/v1/listings/{listing.id}/plans/standard",
        json=_terms() | changes,
        headers=caller.headers,
    )

    assert field in problem(response, 422)["errors"]
    assert audit(session, "plan.revised") == []
