"""The sandbox API: test firms and their subscriptions, for sandbox clients only."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import SandboxFirm, Subscription
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Organization
from tests.api.billing_helpers import billing_vendor, metered_plan, sandbox_headers
from tests.api.catalog_helpers import ApiVendor, problem
from tests.billing.conftest import firm


def _firm(client: FlaskClient, headers: dict[str, str], name: str = "Test Firm One") -> Any:
    response = client.post("/api/v1/sandbox/firms", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _count(session: Session, model: Any) -> int:
    return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_a_sandbox_client_creates_and_lists_its_test_firms(
    client: FlaskClient, session: Session
) -> None:
    caller = billing_vendor(client)
    headers = sandbox_headers(client, caller)

    made = _firm(client, headers, "  Test   Firm One ")
    second = _firm(client, headers, "Test Firm Two")
    listed = client.get("/api/v1/sandbox/firms", headers=headers).get_json()
    other = client.get(
        "/api/v1/sandbox/firms", headers=sandbox_headers(client, billing_vendor(client))
    ).get_json()

    assert made["name"] == "Test Firm One"
    assert [f["id"] for f in listed["data"]] == [made["id"], second["id"]]
    assert other["data"] == []
    row = session.get(SandboxFirm, made["id"])
    assert row is not None and row.vendor_id == caller.org_id
    org = session.get(Organization, made["id"])
    assert org is not None and org.kind == "sme"


def test_a_retried_firm_creation_with_the_same_key_makes_one_firm(
    client: FlaskClient, session: Session
) -> None:
    headers = sandbox_headers(client, billing_vendor(client)) | {"Idempotency-Key": "firm-1"}

    first = client.post("/api/v1/sandbox/firms", json={"name": "Once"}, headers=headers)
    again = client.post("/api/v1/sandbox/firms", json={"name": "Once"}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert _count(session, SandboxFirm) == 1


@pytest.mark.parametrize("body", [{}, {"name": "x"}, {"name": 5}, {"name": "a" * 201}])
def test_a_bad_firm_name_answers_422(
    client: FlaskClient, session: Session, body: dict[str, Any]
) -> None:
    headers = sandbox_headers(client, billing_vendor(client))

    problem(client.post("/api/v1/sandbox/firms", json=body, headers=headers), 422)
    assert _count(session, SandboxFirm) == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/sandbox/firms"),
        ("GET", "/api/v1/sandbox/firms"),
        ("POST", "/api/v1/sandbox/subscriptions"),
    ],
)
def test_live_clients_may_not_use_the_sandbox(
    client: FlaskClient, session: Session, method: str, path: str
) -> None:
    caller = billing_vendor(client)

    body = problem(
        client.open(path, method=method, json={"name": "Nope"}, headers=caller.headers), 403
    )

    assert body["code"] == "forbidden"
    assert _count(session, SandboxFirm) == 0


def test_sandbox_endpoints_need_their_scopes(client: FlaskClient, session: Session) -> None:
    headers = sandbox_headers(client, billing_vendor(client), ("usage:write",))

    problem(client.post("/api/v1/sandbox/firms", json={"name": "Nope"}, headers=headers), 403)
    problem(client.get("/api/v1/sandbox/firms", headers=headers), 403)
    problem(client.post("/api/v1/sandbox/subscriptions", json={}, headers=headers), 403)


def _order(caller: ApiVendor, firm_id: int, **changes: Any) -> dict[str, Any]:
    plan = metered_plan(caller, sandbox=True)
    return {"firm_id": firm_id, "listing_id": plan.listing_id, "plan_code": plan.code} | changes


def test_a_test_firm_subscribes_to_a_sandbox_listing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = billing_vendor(client)
    headers = sandbox_headers(client, caller)
    test_firm = _firm(client, headers)

    response = client.post(
        "/api/v1/sandbox/subscriptions", json=_order(caller, test_firm["id"]), headers=headers
    )

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["sandbox"] is True and body["status"] == "pending"
    assert body["firm_id"] == test_firm["id"]
    activated = client.post(f"/api/v1/subscriptions/{body['id']}/activate", headers=headers)
    assert activated.get_json()["status"] == "active"
    listed = client.get("/api/v1/subscriptions", headers=headers).get_json()
    assert [s["id"] for s in listed["data"]] == [body["id"]]
    live = client.get("/api/v1/subscriptions", headers=caller.headers).get_json()
    assert live["data"] == []


def test_a_retried_sandbox_subscription_with_the_same_key_subscribes_once(
    client: FlaskClient, session: Session
) -> None:
    caller = billing_vendor(client)
    headers = sandbox_headers(client, caller)
    order = _order(caller, _firm(client, headers)["id"])
    keyed = headers | {"Idempotency-Key": "sub-1"}

    first = client.post("/api/v1/sandbox/subscriptions", json=order, headers=keyed)
    again = client.post("/api/v1/sandbox/subscriptions", json=order, headers=keyed)
    without_key = client.post("/api/v1/sandbox/subscriptions", json=order, headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert problem(without_key, 409)["code"] == "already_subscribed"
    assert _count(session, Subscription) == 1


def test_another_vendors_firm_or_listing_and_live_listings_are_not_found(
    client: FlaskClient, session: Session
) -> None:
    caller = billing_vendor(client)
    headers = sandbox_headers(client, caller)
    mine = _firm(client, headers)["id"]
    other = billing_vendor(client)
    theirs = _firm(client, sandbox_headers(client, other))["id"]
    live_plan = metered_plan(caller)
    their_plan = metered_plan(other, sandbox=True)

    orders = [
        _order(caller, theirs),
        _order(caller, firm().id),
        _order(caller, 2_000_000_000),
        {"firm_id": mine, "listing_id": live_plan.listing_id, "plan_code": live_plan.code},
        {"firm_id": mine, "listing_id": their_plan.listing_id, "plan_code": their_plan.code},
    ]

    for order in orders:
        problem(client.post("/api/v1/sandbox/subscriptions", json=order, headers=headers), 404)
    assert _count(session, Subscription) == 0


@pytest.mark.parametrize(
    "changes",
    [
        {"plan_code": "nope"},
        {"plan_code": ""},
        {"seats": -1},
        {"seats": "2"},
        {"firm_id": None},
        {"listing_id": "1"},
    ],
)
def test_a_bad_sandbox_order_answers_422(
    client: FlaskClient, session: Session, changes: dict[str, Any]
) -> None:
    caller = billing_vendor(client)
    headers = sandbox_headers(client, caller)
    order = _order(caller, _firm(client, headers)["id"]) | changes

    problem(client.post("/api/v1/sandbox/subscriptions", json=order, headers=headers), 422)
    assert _count(session, Subscription) == 0
