"""The vendor's subscription endpoints: list, show and activate, in the caller's mode only."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import SeatAssignment
from marketplace.clock import FrozenClock
from tests.api.billing_helpers import (
    billing_vendor,
    metered_plan,
    sandbox_headers,
    subscription,
)
from tests.api.catalog_helpers import problem, with_scopes
from tests.factories import make_member


def test_the_vendor_lists_its_subscriptions_with_filters_and_pages(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = billing_vendor(client)
    plan = metered_plan(caller)
    active = subscription(session, clock, plan)
    pending = subscription(session, clock, plan, active=False)
    other_listing = subscription(session, clock, metered_plan(caller))
    subscription(session, clock, metered_plan(billing_vendor(client)))

    everything = client.get("/api/v1/subscriptions", headers=caller.headers).get_json()
    only_pending = client.get(
        "/api/v1/subscriptions", query_string={"status": "pending"}, headers=caller.headers
    ).get_json()
    of_listing = client.get(
        "/api/v1/subscriptions",
        query_string={"listing_id": other_listing.listing_id},
        headers=caller.headers,
    ).get_json()
    first = client.get(
        "/api/v1/subscriptions", query_string={"limit": 2}, headers=caller.headers
    ).get_json()
    rest = client.get(
        "/api/v1/subscriptions",
        query_string={"limit": 2, "cursor": first["next_cursor"]},
        headers=caller.headers,
    ).get_json()

    assert [s["id"] for s in everything["data"]] == [active.id, pending.id, other_listing.id]
    assert [s["id"] for s in only_pending["data"]] == [pending.id]
    assert [s["id"] for s in of_listing["data"]] == [other_listing.id]
    assert [s["id"] for s in first["data"] + rest["data"]] == [
        active.id,
        pending.id,
        other_listing.id,
    ]


def test_a_subscription_shows_its_plan_seats_holders_and_period(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = billing_vendor(client)
    made = subscription(session, clock, metered_plan(caller))
    holder = make_member(made.organization)
    session.add(SeatAssignment(subscription_id=made.id, user_id=holder.id, assigned_at=clock.now()))
    session.flush()

    response = client.get(f"/api/v1/subscriptions/{made.id}", headers=caller.headers)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["plan_code"], body["plan_version"]) == (made.plan.code, made.plan.version)
    assert body["status"] == "active" and body["firm_id"] == made.organization_id
    assert body["assigned_user_ids"] == [holder.id]
    assert body["current_period_start"].startswith("2026-03-02T01:30")
    assert body["current_period_end"].startswith("2026-04-02T01:30")


@pytest.mark.parametrize("whose", ["other vendor", "nobody", "too large", "other mode"])
def test_a_subscription_of_another_vendor_or_mode_is_not_found(
    client: FlaskClient, session: Session, clock: FrozenClock, whose: str
) -> None:
    caller = billing_vendor(client)
    mine = subscription(session, clock, metered_plan(caller), active=False)
    other = subscription(session, clock, metered_plan(billing_vendor(client)), active=False)
    headers = sandbox_headers(client, caller) if whose == "other mode" else caller.headers
    sub_id = {"other vendor": other.id, "nobody": 2_000_000_000, "too large": 2**40}.get(
        whose, mine.id
    )

    problem(client.get(f"/api/v1/subscriptions/{sub_id}", headers=headers), 404)
    problem(client.post(f"/api/v1/subscriptions/{sub_id}/activate", headers=headers), 404)
    session.refresh(other)
    session.refresh(mine)
    assert other.status == "pending" and mine.status == "pending"


def test_the_vendor_activates_a_pending_subscription(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = billing_vendor(client)
    pending = subscription(session, clock, metered_plan(caller), active=False)

    response = client.post(f"/api/v1/subscriptions/{pending.id}/activate", headers=caller.headers)

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "active"
    assert response.get_json()["activated_at"].startswith("2026-03-02T01:30")


def test_activating_twice_is_a_conflict(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = billing_vendor(client)
    active = subscription(session, clock, metered_plan(caller))

    body = problem(
        client.post(f"/api/v1/subscriptions/{active.id}/activate", headers=caller.headers), 409
    )

    assert body["code"] == "illegal_transition"


@pytest.mark.parametrize(
    ("method", "path", "scopes"),
    [
        ("GET", "/api/v1/subscriptions", ("subscriptions:write", "usage:write")),
        ("GET", "/api/v1/subscriptions/{id}", ("subscriptions:write",)),
        ("POST", "/api/v1/subscriptions/{id}/activate", ("subscriptions:read",)),
    ],
)
def test_each_subscription_endpoint_needs_its_scope(
    client: FlaskClient,
    session: Session,
    clock: FrozenClock,
    method: str,
    path: str,
    scopes: tuple[str, ...],
) -> None:
    caller = billing_vendor(client)
    pending = subscription(session, clock, metered_plan(caller), active=False)
    headers = with_scopes(client, caller, scopes)

    problem(client.open(path.format(id=pending.id), method=method, headers=headers), 403)
    session.refresh(pending)
    assert pending.status == "pending"


@pytest.mark.parametrize("query", [{"status": "asleep"}, {"listing_id": "x"}, {"limit": 500}])
def test_bad_list_parameters_answer_422(
    client: FlaskClient, session: Session, query: dict[str, object]
) -> None:
    caller = billing_vendor(client)

    problem(client.get("/api/v1/subscriptions", query_string=query, headers=caller.headers), 422)
