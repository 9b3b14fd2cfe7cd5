"""The vendor catalog API's listing endpoints: list, create, show, update, submit, delist."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.models import Listing
from catalog.services import review
from marketplace.clock import FrozenClock
from tests.api.catalog_helpers import (
    api_vendor,
    draft_of,
    problem,
    published_of,
    submitted_of,
    with_scopes,
)
from tests.catalog.workflow import audit, content, count, make_operator, plan_terms

# Every endpoint, with the scope it needs: (method, path template).
ENDPOINTS = [
    ("GET", "/api/v1/listings", "catalog:read"),
    ("POST", "/api/v1/listings", "catalog:write"),
    ("GET", "/api/v1/listings/{id}", "catalog:read"),
    ("PATCH", "/api/v1/listings/{id}", "catalog:write"),
    ("POST", "/api/v1/listings/{id}/plans", "catalog:write"),
    ("PUT", "/api/v1/listings/{id}/plans/standard", "catalog:write"),
    ("POST", "/api/v1/listings/{id}/submit", "catalog:write"),
    ("POST", "/api/v1/listings/{id}/delist", "catalog:write"),
]


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_every_endpoint_refuses_a_request_without_a_token(
    client: FlaskClient, session: Session, clock: FrozenClock, method: str, path: str, scope: str
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)

    response = client.open(path.format(id=listing.id), method=method, json={})

    problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS)
def test_every_endpoint_refuses_a_token_without_its_scope(
    client: FlaskClient, session: Session, clock: FrozenClock, method: str, path: str, scope: str
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)
    other_scope = "catalog:write" if scope == "catalog:read" else "catalog:read"
    headers = with_scopes(client, caller, (other_scope, "usage:write"))

    response = client.open(path.format(id=listing.id), method=method, json={}, headers=headers)

    body = problem(response, 403)
    assert body["code"] == "insufficient_scope"
    assert body["required_scopes"] == [scope]


def _valid_body(path: str) -> dict[str, Any]:
    """Return a body the endpoint at path would accept, so only the listing's owner matters."""
    if path.endswith("/plans"):
        return plan_terms("extra")
    if path.endswith("/standard"):
        return {k: v for k, v in plan_terms().items() if k != "code"}
    return {"name_en": "Mine now"}


@pytest.mark.parametrize(("method", "path", "scope"), ENDPOINTS[2:])
def test_every_endpoint_answers_404_for_another_vendors_listing(
    client: FlaskClient, session: Session, clock: FrozenClock, method: str, path: str, scope: str
) -> None:
    owner, caller = api_vendor(client), api_vendor(client)
    theirs = draft_of(session, clock, owner)
    before = count(session, Listing), len(audit(session))

    response = client.open(
        path.format(id=theirs.id), method=method, json=_valid_body(path), headers=caller.headers
    )

    problem(response, 404)
    assert (count(session, Listing), len(audit(session))) == before


@pytest.mark.parametrize("listing_id", [2_000_000_000, 2**31, 10**20])
def test_a_listing_that_exists_nowhere_is_not_found(
    client: FlaskClient, session: Session, listing_id: int
) -> None:
    caller = api_vendor(client)

    problem(client.get(f"/api/v1/listings/{listing_id}", headers=caller.headers), 404)


def test_a_vendor_creates_a_draft_listing(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)

    response = client.post("/api/v1/listings", json=content(), headers=caller.headers)

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "draft"
    assert body["slug"] == "cloud-ledger"
    assert body["draft"]["name_zh"] == "云账本"
    assert body["draft"]["layer_category"] == "saas"
    assert body["draft"]["business_categories"] == ["finance"]
    assert body["published"] is None
    assert body["plans"] == []
    created = session.get(Listing, body["id"])
    assert created is not None and created.vendor_id == caller.org_id
    assert [entry.actor_org_id for entry in audit(session, "listing.created")] == [caller.org_id]


def test_only_the_required_fields_make_a_listing(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)
    minimal = {"slug": "tiny-app", "name_zh": "小应用", "name_en": "Tiny", "layer_category": "paas"}

    response = client.post("/api/v1/listings", json=minimal, headers=caller.headers)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["draft"]["launch_url"] is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name_zh": None}, "name_zh"),
        ({"name_en": "x"}, "name_en"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"layer_category": "finance"}, "layer_category"),
        ({"business_categories": ["no-such-category"]}, "business_categories"),
        ({"launch_url": "http://app.ledger.example/"}, "launch_url"),
        ({"support_email": "not-an-address"}, "support_email"),
        ({"screenshots": "https://one.example/1.png"}, "screenshots"),
        ({"summary_en": "x" * 501}, "summary_en"),
        ({"name_en": "Nul\x00name"}, "name_en"),
        ({"price": 100}, "price"),
    ],
)
def test_creating_a_listing_with_a_bad_field_names_it(
    client: FlaskClient, session: Session, changes: dict[str, Any], field: str
) -> None:
    caller = api_vendor(client)

    response = client.post("/api/v1/listings", json=content(**changes), headers=caller.headers)

    body = problem(response, 422)
    assert field in body["errors"]
    assert count(session, Listing) == 0


def test_a_missing_required_field_is_named(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)
    fields = content()
    del fields["slug"], fields["layer_category"]

    body = problem(client.post("/api/v1/listings", json=fields, headers=caller.headers), 422)

    assert {"slug", "layer_category"} <= set(body["errors"])


def test_a_body_that_is_not_a_json_object_is_refused(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)

    response = client.post(
        "/api/v1/listings", data="slug=x", content_type="text/plain", headers=caller.headers
    )

    assert "body" in problem(response, 422)["errors"]


def test_a_second_listing_with_the_same_slug_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    draft_of(session, clock, caller)

    response = client.post("/api/v1/listings", json=content(), headers=caller.headers)

    assert "slug" in problem(response, 422)["errors"]


def test_the_list_shows_only_the_vendors_listings_a_page_at_a_time(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller, other = api_vendor(client), api_vendor(client)
    mine = [draft_of(session, clock, caller, slug=f"app-{n}") for n in range(3)]
    draft_of(session, clock, other)

    first = client.get("/api/v1/listings?limit=2", headers=caller.headers).get_json()
    cursor = first["next_cursor"]
    second = client.get(f"/api/v1/listings?limit=2&cursor={cursor}", headers=caller.headers)

    assert [item["id"] for item in first["data"]] == [mine[0].id, mine[1].id]
    assert [item["id"] for item in second.get_json()["data"]] == [mine[2].id]
    assert second.get_json()["next_cursor"] is None
    assert first["data"][0]["name_en"] == "Cloud Ledger"


def test_the_list_keeps_only_listings_in_the_asked_status(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    draft_of(session, clock, caller, slug="still-draft")
    waiting = submitted_of(session, clock, caller, slug="in-review")

    response = client.get("/api/v1/listings?status=in_review", headers=caller.headers)

    assert [item["id"] for item in response.get_json()["data"]] == [waiting.id]


@pytest.mark.parametrize(
    ("query", "field"),
    [("status=gone", "status"), ("limit=0", "limit"), ("cursor=forged", "cursor")],
)
def test_bad_list_parameters_are_named(
    client: FlaskClient, session: Session, query: str, field: str
) -> None:
    caller = api_vendor(client)

    response = client.get(f"/api/v1/listings?{query}", headers=caller.headers)

    assert field in problem(response, 422)["errors"]


def test_a_vendor_reads_its_listing_with_plans(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)

    body = client.get(f"/api/v1/listings/{listing.id}", headers=caller.headers).get_json()

    assert body["status"] == "draft"
    assert body["rejection_reason"] is None
    assert body["draft"]["version"] == 1
    assert [(p["code"], p["version"], p["status"]) for p in body["plans"]] == [
        ("standard", 1, "draft")
    ]
    metered = body["plans"][0]["components"][2]
    assert metered["included_quantity"] == "1000"
    assert metered["tiers"][1] == {"up_to": None, "unit_amount_fen": 1, "flat_amount_fen": 0}


def test_the_vendor_sees_the_operators_rejection_reason(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller, operator = api_vendor(client), make_operator()
    listing = submitted_of(session, clock, caller)
    review.reject(session, clock, operator.actor, listing.id, "The logo is missing.")

    body = client.get(f"/api/v1/listings/{listing.id}", headers=caller.headers).get_json()

    assert body["status"] == "rejected"
    assert body["rejection_reason"] == "The logo is missing."
    assert body["draft"]["review_status"] == "rejected"


def test_a_published_listing_shows_its_published_version_and_a_new_draft(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = published_of(session, clock, caller, make_operator())

    response = client.patch(
        f"/api/v1/listings/{listing.id}", json={"name_en": "Ledger Pro"}, headers=caller.headers
    )

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["published"]["name_en"] == "Cloud Ledger"
    assert (body["draft"]["version"], body["draft"]["name_en"]) == (2, "Ledger Pro")


def test_a_vendor_updates_its_draft(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)

    response = client.patch(
        f"/api/v1/listings/{listing.id}",
        json={"summary_en": "Books for small firms", "logo_url": None},
        headers=caller.headers,
    )

    body = response.get_json()
    assert response.status_code == 200, body
    assert (body["draft"]["version"], body["draft"]["summary_en"]) == (1, "Books for small firms")
    assert body["draft"]["logo_url"] is None
    assert len(audit(session, "listing.updated")) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({}, "content"),
        ({"slug": "renamed"}, "slug"),
        ({"name_zh": ""}, "name_zh"),
        ({"launch_url": "ftp://ledger.example"}, "launch_url"),
        ({"business_categories": "finance"}, "business_categories"),
    ],
)
def test_updating_a_draft_with_a_bad_field_names_it(
    client: FlaskClient, session: Session, clock: FrozenClock, changes: dict[str, Any], field: str
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)

    response = client.patch(f"/api/v1/listings/{listing.id}", json=changes, headers=caller.headers)

    assert field in problem(response, 422)["errors"]
    assert audit(session, "listing.updated") == []


def test_a_listing_in_review_cannot_be_edited(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = submitted_of(session, clock, caller)

    response = client.patch(
        f"/api/v1/listings/{listing.id}", json={"name_en": "Late"}, headers=caller.headers
    )

    problem(response, 409)


def test_a_vendor_submits_its_draft_for_review(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)

    response = client.post(f"/api/v1/listings/{listing.id}/submit", headers=caller.headers)

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["status"] == "in_review"
    assert body["draft"]["review_status"] == "in_review"
    assert len(audit(session, "listing.submitted")) == 1


def test_a_listing_without_a_plan_cannot_be_submitted(
    client: FlaskClient, session: Session
) -> None:
    caller = api_vendor(client)
    created = client.post("/api/v1/listings", json=content(), headers=caller.headers).get_json()

    response = client.post(f"/api/v1/listings/{created['id']}/submit", headers=caller.headers)

    assert "plans" in problem(response, 422)["errors"]


def test_a_listing_in_review_cannot_be_submitted_again(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = submitted_of(session, clock, caller)

    problem(client.post(f"/api/v1/listings/{listing.id}/submit", headers=caller.headers), 409)


def test_a_vendor_delists_its_published_listing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = published_of(session, clock, caller, make_operator())

    response = client.post(f"/api/v1/listings/{listing.id}/delist", headers=caller.headers)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "delisted"
    assert len(audit(session, "listing.delisted")) == 1


def test_a_draft_cannot_be_delisted(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)

    problem(client.post(f"/api/v1/listings/{listing.id}/delist", headers=caller.headers), 409)
    assert audit(session, "listing.delisted") == []
