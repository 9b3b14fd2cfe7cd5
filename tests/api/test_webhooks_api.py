"""The webhook endpoints of the vendor API: each operation, its bad inputs, scopes, tenants."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.clock import FrozenClock
from marketplace.idempotency_models import IdempotencyKey
from marketplace.jobs import InlineRunner
from marketplace.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.api.catalog_helpers import problem
from tests.sso.conftest import Vendor, access_token, bearer, make_client, make_vendor
from tests.webhooks.conftest import subscription_event

BASE = "/api/v1/webhook-endpoints"
CLOSED = "http://127.0.0.1:9/hooks"  # nothing listens: attempts fail at once
BOTH = ("webhooks:read", "webhooks:write")
NEW = {"url": CLOSED, "event_types": ["subscription.created"], "description": "orders"}


@pytest.fixture(autouse=True)
def inline_jobs(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run delivery jobs at once in the test's transaction."""
    monkeypatch.setitem(app.extensions, "jobs", InlineRunner())


def headers_of(
    client: FlaskClient, vendor: Vendor, scopes: tuple[str, ...] = BOTH, sandbox: bool = False
) -> dict[str, str]:
    """Return a bearer header of a new API client of the vendor."""
    issued = make_client(vendor, scopes, name=f"hooks {len(scopes)} {sandbox}", sandbox=sandbox)
    return bearer(access_token(client, issued))


@pytest.fixture
def vendor(session: Session) -> Vendor:
    """A vendor organization with a user in each role."""
    return make_vendor()


@pytest.fixture
def headers(client: FlaskClient, vendor: Vendor) -> dict[str, str]:
    """A live client of the vendor holding both webhook scopes."""
    return headers_of(client, vendor)


def created(client: FlaskClient, headers: dict[str, str], **changes: Any) -> dict[str, Any]:
    """Register an endpoint through the API; return the answer's body."""
    response = client.post(BASE, json={**NEW, **changes}, headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    return body


def count(session: Session, model: type[Any]) -> int:
    """Return how many rows of a model there are."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_a_vendor_registers_an_endpoint_and_sees_its_secret_once(
    client: FlaskClient, session: Session, headers: dict[str, str]
) -> None:
    body = created(client, headers)
    shown = client.get(f"{BASE}/{body['id']}", headers=headers).get_json()
    listed = client.get(BASE, headers=headers).get_json()

    assert body["secret"].startswith("whsec_") and body["status"] == "enabled"
    assert (body["url"], body["event_types"], body["sandbox"]) == (
        CLOSED,
        NEW["event_types"],
        False,
    )
    assert "secret" not in shown and shown["id"] == body["id"]
    assert [e["id"] for e in listed["data"]] == [body["id"]]
    stored = session.get(WebhookEndpoint, body["id"])
    assert stored is not None and body["secret"] not in stored.secret_sealed


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"event_types": ["subscription.created"]}, "url"),
        ({"url": CLOSED}, "event_types"),
        ({**NEW, "url": "http://example.com/hooks"}, "url"),
        ({**NEW, "url": "not a url"}, "url"),
        ({**NEW, "url": "x" * 2001}, "url"),
        ({**NEW, "event_types": []}, "event_types"),
        ({**NEW, "event_types": ["subscription.exploded"]}, "event_types"),
        ({**NEW, "description": "d" * 201}, "description"),
        ({**NEW, "secret": "mine"}, "secret"),
    ],
)
def test_a_bad_endpoint_is_refused_naming_the_field_and_nothing_is_saved(
    client: FlaskClient,
    session: Session,
    headers: dict[str, str],
    fields: dict[str, Any],
    field: str,
) -> None:
    body = problem(client.post(BASE, json=fields, headers=headers), 422)

    assert field in {name.split(".")[0] for name in body["errors"]}
    assert count(session, WebhookEndpoint) == 0


def test_a_sandbox_client_makes_and_sees_only_sandbox_endpoints(
    client: FlaskClient, vendor: Vendor, headers: dict[str, str]
) -> None:
    sandbox = headers_of(client, vendor, sandbox=True)
    live = created(client, headers)
    made = created(client, sandbox)

    assert made["sandbox"] is True
    assert [e["id"] for e in client.get(BASE, headers=sandbox).get_json()["data"]] == [made["id"]]
    problem(client.get(f"{BASE}/{live['id']}", headers=sandbox), 404)
    problem(client.get(f"{BASE}/{made['id']}", headers=headers), 404)


def test_an_endpoint_is_changed_disabled_and_enabled_again(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    endpoint = created(client, headers)
    url = f"{BASE}/{endpoint['id']}"

    changed = client.patch(
        url,
        json={"url": "http://localhost:8080/in", "event_types": ["invoice.paid"]},
        headers=headers,
    )
    disabled = client.patch(url, json={"enabled": False}, headers=headers)
    enabled = client.patch(url, json={"enabled": True}, headers=headers)

    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["url"] == "http://localhost:8080/in"
    assert changed.get_json()["event_types"] == ["invoice.paid"]
    assert disabled.get_json()["status"] == "disabled"
    assert enabled.get_json()["status"] == "enabled"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"url": "ftp://example.com"}, "url"),
        ({"event_types": []}, "event_types"),
        ({"event_types": ["nope"]}, "event_types"),
        ({"description": "d" * 201}, "description"),
        ({"enabled": "sometimes"}, "enabled"),
        ({"status": "enabled"}, "status"),
    ],
)
def test_a_bad_change_is_refused_and_changes_nothing(
    client: FlaskClient,
    session: Session,
    headers: dict[str, str],
    changes: dict[str, Any],
    field: str,
) -> None:
    endpoint = created(client, headers)

    body = problem(client.patch(f"{BASE}/{endpoint['id']}", json=changes, headers=headers), 422)

    assert field in {name.split(".")[0] for name in body["errors"]}
    session.expire_all()
    stored = session.get(WebhookEndpoint, endpoint["id"])
    assert stored is not None
    assert (stored.url, stored.event_types, stored.status) == (
        CLOSED,
        NEW["event_types"],
        "enabled",
    )


def test_an_endpoint_is_deleted_with_its_deliveries(
    client: FlaskClient,
    session: Session,
    clock: FrozenClock,
    vendor: Vendor,
    headers: dict[str, str],
) -> None:
    endpoint = created(client, headers)
    client.post(f"{BASE}/{endpoint['id']}/test", headers=headers)

    response = client.delete(f"{BASE}/{endpoint['id']}", headers=headers)

    assert response.status_code == 204
    problem(client.get(f"{BASE}/{endpoint['id']}", headers=headers), 404)
    assert count(session, WebhookEndpoint) == count(session, WebhookDelivery) == 0


def test_a_rotated_secret_is_shown_once_and_the_old_one_signs_for_the_overlap(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    endpoint = created(client, headers)

    response = client.post(
        f"{BASE}/{endpoint['id']}/rotate-secret", json={"overlap_hours": 2}, headers=headers
    )

    body = response.get_json()
    assert response.status_code == 200, body
    assert body["secret"].startswith("whsec_") and body["secret"] != endpoint["secret"]
    assert body["secret_rotated_at"] is not None
    assert body["previous_secret_expires_at"] > body["secret_rotated_at"]


@pytest.mark.parametrize(
    "payload", [{"overlap_hours": 169}, {"overlap_hours": -1}, {"overlap_hours": "x"}, {"a": 1}]
)
def test_a_bad_rotation_is_refused_and_keeps_the_secret(
    client: FlaskClient, session: Session, headers: dict[str, str], payload: dict[str, Any]
) -> None:
    endpoint = created(client, headers)
    sealed = session.get(WebhookEndpoint, endpoint["id"]).secret_sealed  # type: ignore[union-attr]

    problem(
        client.post(f"{BASE}/{endpoint['id']}/rotate-secret", json=payload, headers=headers), 422
    )

    session.expire_all()
    assert session.get(WebhookEndpoint, endpoint["id"]).secret_sealed == sealed  # type: ignore[union-attr]


def test_a_test_event_is_sent_and_its_attempt_logged(
    client: FlaskClient, headers: dict[str, str]
) -> None:
    endpoint = created(client, headers)

    response = client.post(f"{BASE}/{endpoint['id']}/test", headers=headers)
    log = client.get(f"{BASE}/{endpoint['id']}/deliveries", headers=headers).get_json()

    body = response.get_json()
    assert response.status_code == 202, body
    assert body["event_type"] == "webhook.test" and body["sequence"] == 1
    [delivery] = log["data"]
    assert delivery["id"] == body["id"] and delivery["status"] == "failed"
    [attempt] = delivery["attempts"]
    assert attempt["outcome"] == "connection_error" and attempt["manual"] is True
    assert attempt["latency_ms"] is not None and attempt["status_code"] is None


def test_a_retried_test_event_with_the_same_key_sends_once(
    client: FlaskClient, session: Session, headers: dict[str, str]
) -> None:
    endpoint = created(client, headers)
    keyed = {**headers, "Idempotency-Key": "test-1"}

    first = client.post(f"{BASE}/{endpoint['id']}/test", headers=keyed)
    again = client.post(f"{BASE}/{endpoint['id']}/test", headers=keyed)

    assert first.status_code == again.status_code == 202
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count(session, WebhookDelivery) == 1


def test_a_test_event_to_a_disabled_endpoint_is_refused(
    client: FlaskClient, session: Session, headers: dict[str, str]
) -> None:
    endpoint = created(client, headers)
    client.patch(f"{BASE}/{endpoint['id']}", json={"enabled": False}, headers=headers)

    problem(client.post(f"{BASE}/{endpoint['id']}/test", headers=headers), 409)

    assert count(session, WebhookDelivery) == 0


def test_an_event_is_redelivered_to_every_endpoint_that_takes_it_or_to_one(
    client: FlaskClient,
    session: Session,
    clock: FrozenClock,
    vendor: Vendor,
    headers: dict[str, str],
) -> None:
    first = created(client, headers)
    second = created(client, headers, url="http://127.0.0.1:9/other")
    event = subscription_event(session, clock, vendor)

    to_all = client.post(f"/api/v1/events/{event.id}/redeliver", json={}, headers=headers)
    to_one = client.post(
        f"/api/v1/events/{event.id}/redeliver", json={"endpoint_id": second["id"]}, headers=headers
    )

    assert to_all.status_code == to_one.status_code == 202, to_all.get_data(as_text=True)
    assert sorted(d["endpoint_id"] for d in to_all.get_json()["data"]) == [
        first["id"],
        second["id"],
    ]
    assert [d["endpoint_id"] for d in to_one.get_json()["data"]] == [second["id"]]
    assert all(d["event_id"] == event.id for d in to_all.get_json()["data"])
    assert count(session, WebhookDelivery) == 2


def test_a_retried_redelivery_with_the_same_key_sends_once(
    client: FlaskClient,
    session: Session,
    clock: FrozenClock,
    vendor: Vendor,
    headers: dict[str, str],
) -> None:
    created(client, headers)
    event = subscription_event(session, clock, vendor)
    keyed = {**headers, "Idempotency-Key": "again-1"}
    url = f"/api/v1/events/{event.id}/redeliver"

    first = client.post(url, json={}, headers=keyed)
    again = client.post(url, json={}, headers=keyed)
    other = client.post(url, json={"endpoint_id": 1}, headers=keyed)

    assert first.status_code == again.status_code == 202
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    problem(other, 422)  # the same key with another request
    [delivery] = session.scalars(sa.select(WebhookDelivery)).all()
    assert delivery.attempts == 1


@pytest.mark.parametrize("payload", [{"endpoint_id": 0}, {"endpoint_id": "one"}, {"x": 1}])
def test_a_bad_redelivery_is_refused(
    client: FlaskClient,
    session: Session,
    clock: FrozenClock,
    vendor: Vendor,
    headers: dict[str, str],
    payload: dict[str, Any],
) -> None:
    created(client, headers)
    event = subscription_event(session, clock, vendor)

    problem(client.post(f"/api/v1/events/{event.id}/redeliver", json=payload, headers=headers), 422)

    assert count(session, WebhookDelivery) == 0


def test_another_vendors_endpoint_and_event_answer_404(
    client: FlaskClient, session: Session, clock: FrozenClock, headers: dict[str, str]
) -> None:
    other = make_vendor("other")
    theirs = created(client, headers_of(client, other))
    their_event = subscription_event(session, clock, other)
    mine = created(client, headers)
    target = f"{BASE}/{theirs['id']}"

    answers = [
        client.get(target, headers=headers),
        client.patch(target, json={"enabled": False}, headers=headers),
        client.delete(target, headers=headers),
        client.post(f"{target}/rotate-secret", json={}, headers=headers),
        client.get(f"{target}/deliveries", headers=headers),
        client.post(f"{target}/test", headers=headers),
        client.post(f"/api/v1/events/{their_event.id}/redeliver", json={}, headers=headers),
        client.get(f"{BASE}/{2**31}", headers=headers),
        client.post("/api/v1/events/999999999/redeliver", json={}, headers=headers),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    stored = session.get(WebhookEndpoint, theirs["id"])
    assert stored is not None and stored.status == "enabled"
    assert count(session, WebhookDelivery) == 0 and mine["id"] != theirs["id"]


def test_redelivering_to_another_vendors_endpoint_answers_404(
    client: FlaskClient,
    session: Session,
    clock: FrozenClock,
    vendor: Vendor,
    headers: dict[str, str],
) -> None:
    theirs = created(client, headers_of(client, make_vendor("other")))
    created(client, headers)
    event = subscription_event(session, clock, vendor)

    answer = client.post(
        f"/api/v1/events/{event.id}/redeliver", json={"endpoint_id": theirs["id"]}, headers=headers
    )

    problem(answer, 404)
    assert count(session, WebhookDelivery) == 0


def test_each_operation_needs_its_scope(
    client: FlaskClient,
    session: Session,
    clock: FrozenClock,
    vendor: Vendor,
    headers: dict[str, str],
) -> None:
    endpoint = created(client, headers)
    event = subscription_event(session, clock, vendor)
    read_only = headers_of(client, vendor, ("webhooks:read",))
    other_scopes = headers_of(client, vendor, ("catalog:read",))
    target = f"{BASE}/{endpoint['id']}"

    writes = [
        client.post(BASE, json=NEW, headers=read_only),
        client.patch(target, json={"enabled": False}, headers=read_only),
        client.delete(target, headers=read_only),
        client.post(f"{target}/rotate-secret", json={}, headers=read_only),
        client.post(f"{target}/test", headers=read_only),
        client.post(f"/api/v1/events/{event.id}/redeliver", json={}, headers=read_only),
    ]
    reads = [
        client.get(BASE, headers=other_scopes),
        client.get(target, headers=other_scopes),
        client.get(f"{target}/deliveries", headers=other_scopes),
    ]

    assert [a.status_code for a in writes + reads] == [403] * 9
    assert count(session, WebhookEndpoint) == 1 and count(session, WebhookDelivery) == 0
    assert client.get(target, headers=read_only).status_code == 200


def test_the_delivery_log_pages_newest_first(
    client: FlaskClient, session: Session, headers: dict[str, str]
) -> None:
    endpoint = created(client, headers)
    for _ in range(3):
        client.post(f"{BASE}/{endpoint['id']}/test", headers=headers)
    url = f"{BASE}/{endpoint['id']}/deliveries"

    first = client.get(url, query_string={"limit": 2}, headers=headers).get_json()
    rest = client.get(
        url, query_string={"limit": 2, "cursor": first["next_cursor"]}, headers=headers
    ).get_json()

    ids = [d["id"] for d in first["data"] + rest["data"]]
    assert ids == sorted(ids, reverse=True) and len(ids) == 3
    assert rest["next_cursor"] is None
    problem(client.get(url, query_string={"limit": 0}, headers=headers), 422)


def test_an_unusable_idempotency_key_on_a_test_event_is_refused_and_sends_nothing(
    client: FlaskClient, session: Session, headers: dict[str, str]
) -> None:
    endpoint = created(client, headers)
    keyed = {**headers, "Idempotency-Key": "k" * 256}

    body = problem(client.post(f"{BASE}/{endpoint['id']}/test", headers=keyed), 422)

    assert "Idempotency-Key" in body["errors"]
    assert count(session, WebhookDelivery) == 0


def test_creating_an_endpoint_with_a_key_twice_makes_one_and_never_replays_the_secret(
    client: FlaskClient, session: Session, headers: dict[str, str]
) -> None:
    keyed = {**headers, "Idempotency-Key": "create-endpoint-1"}

    first = client.post(BASE, json=NEW, headers=keyed)
    again = client.post(BASE, json=NEW, headers=keyed)

    assert first.status_code == again.status_code == 201
    assert first.get_json()["secret"].startswith("whsec_")
    assert again.get_json()["secret"] is None
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count(session, WebhookEndpoint) == 1
    kept = session.scalars(sa.select(IdempotencyKey.response_body)).one()
    assert kept["secret"] is None
