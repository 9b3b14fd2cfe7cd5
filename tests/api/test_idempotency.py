"""Idempotency-Key on creating POSTs: a retry gets the first answer and has no second effect."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.models import Listing, Plan
from marketplace.api import ApiCaller
from marketplace.clock import FrozenClock
from marketplace.idempotency import (
    HEADER,
    RequestFingerprint,
    body_digest,
    claim_key,
    release_key,
)
from marketplace.idempotency_models import IdempotencyKey
from sso.models import ApiClient
from tests.api.catalog_helpers import ApiVendor, api_vendor, draft_of, problem
from tests.catalog.workflow import audit, content, count, plan_terms


def _keyed(caller: ApiVendor, key: str) -> dict[str, str]:
    return caller.headers | {HEADER: key}


def _keys(session: Session) -> list[IdempotencyKey]:
    session.expire_all()
    return list(session.scalars(sa.select(IdempotencyKey).order_by(IdempotencyKey.id)))


def _creating_requests(listing_id: int) -> list[tuple[str, dict[str, Any] | None]]:
    return [
        ("/api/v1/listings", content(slug="another-app")),
        (f"/api/v1/listings/{listing_id}/plans", plan_terms("extra")),
        (f"/api/v1/listings/{listing_id}/submit", None),
    ]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["listing", "plan", "submit"])
def test_a_retry_with_the_same_key_replays_the_first_answer(
    client: FlaskClient, session: Session, clock: FrozenClock, which: int
) -> None:
    caller = api_vendor(client)
    path, body = _creating_requests(draft_of(session, clock, caller).id)[which]
    counts = count(session, Listing), count(session, Plan), len(audit(session))

    first = client.post(path, json=body, headers=_keyed(caller, "retry-1"))
    again = client.post(path, json=body, headers=_keyed(caller, "retry-1"))

    assert first.status_code in (200, 201), first.get_json()
    assert (again.status_code, again.get_json()) == (first.status_code, first.get_json())
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    grown = count(session, Listing) - counts[0], count(session, Plan) - counts[1]
    assert grown == [(1, 0), (0, 1), (0, 0)][which]
    assert len(audit(session)) == counts[2] + 1
    [stored] = _keys(session)
    assert (stored.key, stored.response_status) == ("retry-1", first.status_code)
    assert stored.client_id and stored.organization_id == caller.org_id


@pytest.mark.parametrize("which", [0, 1], ids=["listing", "plan"])
def test_the_same_key_with_another_body_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock, which: int
) -> None:
    caller = api_vendor(client)
    path, body = _creating_requests(draft_of(session, clock, caller).id)[which]
    assert body is not None
    client.post(path, json=body, headers=_keyed(caller, "reused"))
    before = count(session, Listing), count(session, Plan)

    response = client.post(
        path, json=body | {"name_en": "Something else"}, headers=_keyed(caller, "reused")
    )

    assert HEADER in problem(response, 422)["errors"]
    assert (count(session, Listing), count(session, Plan)) == before


def test_the_same_key_on_another_endpoint_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)
    client.post(f"/api/v1/listings/{listing.id}/submit", headers=_keyed(caller, "k"))

    response = client.post(
        "/api/v1/listings", json=content(slug="new-one"), headers=_keyed(caller, "k")
    )

    assert HEADER in problem(response, 422)["errors"]


def test_key_order_in_the_body_does_not_make_another_request(
    client: FlaskClient, session: Session
) -> None:
    caller = api_vendor(client)
    fields = content()
    reordered = dict(reversed(list(fields.items())))

    first = client.post("/api/v1/listings", json=fields, headers=_keyed(caller, "order"))
    again = client.post("/api/v1/listings", json=reordered, headers=_keyed(caller, "order"))

    assert again.get_json() == first.get_json()
    assert count(session, Listing) == 1


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_a_key_that_is_empty_or_too_long_is_refused(
    client: FlaskClient, session: Session, key: str
) -> None:
    caller = api_vendor(client)

    response = client.post("/api/v1/listings", json=content(), headers=_keyed(caller, key))

    assert HEADER in problem(response, 422)["errors"]
    assert (count(session, Listing), _keys(session)) == (0, [])


def test_a_key_of_255_characters_is_kept(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)

    response = client.post("/api/v1/listings", json=content(), headers=_keyed(caller, "k" * 255))

    assert response.status_code == 201
    assert [k.key for k in _keys(session)] == ["k" * 255]


def test_a_request_still_running_with_the_key_answers_409(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    running = client.post("/api/v1/listings", json=content(), headers=caller.headers)
    assert running.status_code == 201
    [stored] = session.scalars(sa.select(Listing)).all()
    token_caller = _caller_of(session, caller)
    body = client.application.json.dumps(content(slug="racer"))
    fingerprint = RequestFingerprint("POST", "/api/v1/listings", body_digest(body.encode()))
    assert claim_key(session, clock, token_caller, "race", fingerprint) is None  # first claims

    response = client.post(
        "/api/v1/listings", json=content(slug="racer"), headers=_keyed(caller, "race")
    )

    body_of = problem(response, 409)
    assert body_of["code"] == "request_in_progress"
    assert count(session, Listing) == 1 and stored.slug == "cloud-ledger"


def test_a_failed_request_releases_its_key_for_the_corrected_retry(
    client: FlaskClient, session: Session
) -> None:
    caller = api_vendor(client)

    refused = client.post(
        "/api/v1/listings", json=content(slug="Bad Slug"), headers=_keyed(caller, "fix")
    )
    fixed = client.post("/api/v1/listings", json=content(), headers=_keyed(caller, "fix"))

    assert refused.status_code == 422
    assert fixed.status_code == 201, fixed.get_json()
    assert [(k.key, k.response_status) for k in _keys(session)] == [("fix", 201)]


def test_keys_belong_to_one_client(client: FlaskClient, session: Session) -> None:
    first, second = api_vendor(client), api_vendor(client)

    one = client.post("/api/v1/listings", json=content(), headers=_keyed(first, "shared"))
    two = client.post("/api/v1/listings", json=content(), headers=_keyed(second, "shared"))

    assert (one.status_code, two.status_code) == (201, 201)
    assert one.get_json()["id"] != two.get_json()["id"]
    assert len(_keys(session)) == 2


def test_without_a_key_every_request_runs(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)

    client.post("/api/v1/listings", json=content(), headers=caller.headers)
    again = client.post("/api/v1/listings", json=content(), headers=caller.headers)

    assert "slug" in problem(again, 422)["errors"]
    assert _keys(session) == []


def test_releasing_keeps_a_completed_answer(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    client.post("/api/v1/listings", json=content(), headers=_keyed(caller, "done"))

    release_key(session, _caller_of(session, caller), "done")

    assert [k.response_status for k in _keys(session)] == [201]


def test_the_body_digest_ignores_key_order_and_spacing() -> None:
    assert body_digest(b'{"a": 1, "b": [1, 2]}') == body_digest(b'{"b":[1,2],"a":1}')
    assert body_digest(b'{"a": 1}') != body_digest(b'{"a": 2}')
    assert body_digest(b"not json") != body_digest(b"")


def _caller_of(session: Session, caller: ApiVendor) -> ApiCaller:
    """Return the ApiCaller of the vendor's first API client, as a request would see it."""
    client_row = session.scalars(
        sa.select(ApiClient).where(ApiClient.organization_id == caller.org_id)
    ).first()
    assert client_row is not None
    return ApiCaller(
        client_id=client_row.client_id,
        client_name=client_row.name,
        organization_id=caller.org_id,
        organization_name=caller.vendor.org.name,
        scopes=("catalog:read", "catalog:write"),
        sandbox=False,
    )


def test_the_document_tells_clients_about_the_key_and_the_409(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    for path in ("/api/v1/listings", "/api/v1/listings/{listing_id}/plans"):
        operation = paths[path]["post"]
        [header] = [p for p in operation["parameters"] if p["in"] == "header"]
        assert header["name"] == HEADER and "409" in header["description"]
        assert {"201", "409", "422"} <= set(operation["responses"])
