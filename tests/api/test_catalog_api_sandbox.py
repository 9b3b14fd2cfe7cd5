"""Sandbox API clients work on sandbox listings only, which publish without an operator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from catalog.models import Listing, ListingStatus, PlanStatus, ReviewStatus
from catalog.services import review
from catalog.storefront import storefront_versions
from marketplace import migrate
from marketplace.clock import FrozenClock
from sso.models import ApiClient
from tests import backends
from tests.api.catalog_helpers import READ_WRITE, ApiVendor, api_vendor, draft_of, problem
from tests.catalog.workflow import audit, content, count, events, make_operator, plan_terms
from tests.conftest import BACKENDS
from tests.sso.conftest import access_token, bearer, make_client

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
# Every endpoint that names a listing: (method, path template).
LISTING_ENDPOINTS = [
    ("GET", "/api/v1/listings/{id}"),
    ("PATCH", "/api/v1/listings/{id}"),
    ("POST", "/api/v1/listings/{id}/plans"),
    ("PUT", "/api/v1/listings/{id}/plans/standard"),
    ("POST", "/api/v1/listings/{id}/submit"),
    ("POST", "/api/v1/listings/{id}/delist"),
]


def sandbox_headers(client: FlaskClient, caller: ApiVendor) -> dict[str, str]:
    """Return a bearer header of a sandbox client of the same vendor."""
    issued = make_client(caller.vendor, READ_WRITE, name="Sandbox", sandbox=True)
    return bearer(access_token(client, issued))


def _valid_body(path: str) -> dict[str, Any]:
    """Return a body the endpoint would accept, so only the listing's mode matters."""
    if path.endswith("/plans"):
        return plan_terms("extra")
    if path.endswith("/standard"):
        return {k: v for k, v in plan_terms().items() if k != "code"}
    return {"name_en": "Mine now"}


def _sandbox_listing(client: FlaskClient, headers: dict[str, str], **changes: Any) -> int:
    """Create a sandbox listing with a plan through the API; return its id."""
    created = client.post("/api/v1/listings", json=content(**changes), headers=headers)
    assert created.status_code == 201, created.get_json()
    listing_id: int = created.get_json()["id"]
    plan = client.post(f"/api/v1/listings/{listing_id}/plans", json=plan_terms(), headers=headers)
    assert plan.status_code == 201, plan.get_json()
    return listing_id


def test_a_sandbox_client_creates_sandbox_listings(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)

    listing_id = _sandbox_listing(client, sandbox_headers(client, caller))

    listing = session.get(Listing, listing_id)
    assert listing is not None and listing.sandbox is True
    assert listing.vendor_id == caller.org_id
    [created] = events(session, "listing.created")
    assert created.payload["sandbox"] is True


def test_a_live_client_creates_live_listings(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)

    response = client.post("/api/v1/listings", json=content(), headers=caller.headers)

    listing = session.get(Listing, response.get_json()["id"])
    assert listing is not None and listing.sandbox is False
    assert events(session, "listing.created")[0].payload["sandbox"] is False


@pytest.mark.parametrize(("method", "path"), LISTING_ENDPOINTS)
def test_a_live_client_cannot_reach_a_sandbox_listing(
    client: FlaskClient, session: Session, method: str, path: str
) -> None:
    caller = api_vendor(client)
    listing_id = _sandbox_listing(client, sandbox_headers(client, caller))
    before = count(session, Listing), len(audit(session))

    response = client.open(
        path.format(id=listing_id), method=method, json=_valid_body(path), headers=caller.headers
    )

    problem(response, 404)
    assert (count(session, Listing), len(audit(session))) == before


@pytest.mark.parametrize(("method", "path"), LISTING_ENDPOINTS)
def test_a_sandbox_client_cannot_reach_a_live_listing(
    client: FlaskClient, session: Session, clock: FrozenClock, method: str, path: str
) -> None:
    caller = api_vendor(client)
    live = draft_of(session, clock, caller)
    headers = sandbox_headers(client, caller)
    before = count(session, Listing), len(audit(session))

    response = client.open(
        path.format(id=live.id), method=method, json=_valid_body(path), headers=headers
    )

    problem(response, 404)
    assert (count(session, Listing), len(audit(session))) == before


def _listed_ids(client: FlaskClient, headers: dict[str, str]) -> list[int]:
    response = client.get("/api/v1/listings", headers=headers)
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["data"]]


def test_each_mode_lists_only_its_own_listings(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    live = draft_of(session, clock, caller)
    headers = sandbox_headers(client, caller)
    sandbox_id = _sandbox_listing(client, headers, slug="ledger-trial")

    live_ids = _listed_ids(client, caller.headers)
    sandbox_ids = _listed_ids(client, headers)

    assert live_ids == [live.id]
    assert sandbox_ids == [sandbox_id]


def test_submitting_a_sandbox_listing_publishes_it_at_once(
    client: FlaskClient, session: Session
) -> None:
    caller = api_vendor(client)
    headers = sandbox_headers(client, caller)
    listing_id = _sandbox_listing(client, headers)
    sandbox_client = session.scalars(
        sa.select(ApiClient).where(ApiClient.organization_id == caller.org_id, ApiClient.sandbox)
    ).one()

    response = client.post(f"/api/v1/listings/{listing_id}/submit", headers=headers)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["status"] == ListingStatus.PUBLISHED
    assert body["draft"] is None
    assert body["published"]["review_status"] == ReviewStatus.APPROVED
    assert [plan["status"] for plan in body["plans"]] == [PlanStatus.PUBLISHED]
    [published] = events(session, "listing.published")
    assert published.payload["sandbox"] is True
    assert published.payload["approved_by_client"] == sandbox_client.client_id
    assert events(session, "listing.submitted") == []
    [entry] = audit(session, "listing.published")
    assert (entry.actor_user_id, entry.actor_org_id) == (None, caller.org_id)
    assert entry.before == {"status": "draft"}
    assert entry.after == {
        "status": "published",
        "approved_by_client": sandbox_client.client_id,
    }


def test_a_published_sandbox_listing_stays_off_the_storefront_and_the_review_queue(
    client: FlaskClient, session: Session
) -> None:
    caller = api_vendor(client)
    operator = make_operator()
    headers = sandbox_headers(client, caller)
    listing_id = _sandbox_listing(client, headers)
    client.post(f"/api/v1/listings/{listing_id}/submit", headers=headers)
    client.patch(f"/api/v1/listings/{listing_id}", json={"name_en": "New"}, headers=headers)

    on_storefront = session.scalars(storefront_versions()).all()

    assert listing_id not in {version.listing_id for version in on_storefront}
    assert review.review_queue(session, operator.actor) == []


def test_a_changed_sandbox_listing_republishes_on_submit(
    client: FlaskClient, session: Session
) -> None:
    caller = api_vendor(client)
    headers = sandbox_headers(client, caller)
    listing_id = _sandbox_listing(client, headers)
    client.post(f"/api/v1/listings/{listing_id}/submit", headers=headers)
    url = f"/api/v1/listings/{listing_id}"
    client.patch(url, json={"name_en": "Cloud Ledger 2"}, headers=headers)

    response = client.post(f"{url}/submit", headers=headers)

    body = response.get_json()
    assert body["status"] == ListingStatus.PUBLISHED
    assert body["published"]["name_en"] == "Cloud Ledger 2"
    assert len(events(session, "listing.published")) == 2


def test_a_sandbox_listing_is_still_checked_before_it_publishes(
    client: FlaskClient, session: Session
) -> None:
    caller = api_vendor(client)
    headers = sandbox_headers(client, caller)
    created = client.post("/api/v1/listings", json=content(), headers=headers).get_json()

    response = client.post(f"/api/v1/listings/{created['id']}/submit", headers=headers)

    assert "plans" in problem(response, 422)["errors"]
    assert events(session, "listing.published") == []


def test_a_live_listing_still_waits_for_the_operator(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)
    created = client.post("/api/v1/listings", json=content(), headers=caller.headers).get_json()
    url = f"/api/v1/listings/{created['id']}"
    client.post(f"{url}/plans", json=plan_terms(), headers=caller.headers)

    response = client.post(f"{url}/submit", headers=caller.headers)

    assert response.get_json()["status"] == ListingStatus.IN_REVIEW
    assert events(session, "listing.published") == []
    assert events(session, "listing.submitted")[0].payload["sandbox"] is False


def test_a_slug_is_unique_per_vendor_and_mode(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)
    headers = sandbox_headers(client, caller)

    live = client.post("/api/v1/listings", json=content(), headers=caller.headers)
    sandbox = client.post("/api/v1/listings", json=content(), headers=headers)
    again = client.post("/api/v1/listings", json=content(), headers=headers)

    assert (live.status_code, sandbox.status_code) == (201, 201)
    assert "slug" in problem(again, 422)["errors"]


def _listing_row(vendor_id: int, *, sandbox: bool) -> Listing:
    return Listing(
        vendor_id=vendor_id, slug="same-slug", sandbox=sandbox, created_at=NOW, updated_at=NOW
    )


def test_the_database_refuses_a_repeated_slug_within_one_mode(
    client: FlaskClient, session: Session
) -> None:
    caller = api_vendor(client)
    session.add_all([_listing_row(caller.org_id, sandbox=s) for s in (False, True)])
    session.flush()

    session.add(_listing_row(caller.org_id, sandbox=True))
    with pytest.raises(IntegrityError):
        session.flush()


@pytest.fixture
def migrated_url() -> Iterator[str]:
    """Make an empty database of the suite's dialect, migrated to head."""
    with backends.scratch_database("sandbox_slugs", has_postgres=BACKENDS.has_postgres) as url:
        migrate.upgrade(url)
        yield url


def test_downgrading_renames_sandbox_slugs_that_clash_with_live_ones(migrated_url: str) -> None:
    engine = sa.create_engine(migrated_url)
    try:
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO organizations (id, kind, name, status, created_at)"
                    " VALUES (1, 'vendor', 'Vendor', 'active', :now)"
                ),
                {"now": NOW},
            )
            for listing_id, slug, sandbox in [(1, "ledger", False), (2, "ledger", True)]:
                connection.execute(
                    sa.text(
                        "INSERT INTO listings (id, vendor_id, slug, status, sandbox,"
                        " created_at, updated_at)"
                        " VALUES (:id, 1, :slug, 'draft', :sandbox, :now, :now)"
                    ),
                    {"id": listing_id, "slug": slug, "sandbox": sandbox, "now": NOW},
                )
            connection.execute(
                sa.text(
                    "INSERT INTO listings (id, vendor_id, slug, status, sandbox,"
                    " created_at, updated_at)"
                    " VALUES (3, 1, 'trial-only', 'draft', :sandbox, :now, :now)"
                ),
                {"sandbox": True, "now": NOW},
            )
        migrate.downgrade(migrated_url, "0006")
        with engine.connect() as connection:
            slugs = dict(connection.execute(sa.text("SELECT id, slug FROM listings")).all())
        migrate.upgrade(migrated_url)
    finally:
        engine.dispose()

    assert slugs == {1: "ledger", 2: "ledger-sandbox-2", 3: "trial-only"}
