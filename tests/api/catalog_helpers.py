"""Helpers of the catalog API tests: a vendor with a token, and its listings made directly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from catalog.models import Listing
from marketplace.clock import Clock
from tests.catalog.workflow import Party, draft_with_plan, published, submitted
from tests.sso.conftest import Vendor, access_token, bearer, make_client, make_vendor

READ_WRITE = ("catalog:read", "catalog:write")


@dataclass
class ApiVendor:
    """A vendor with an API client's bearer header, able to call the catalog API."""

    vendor: Vendor
    headers: dict[str, str]

    @property
    def party(self) -> Party:
        """Return the vendor as the catalog workflow helpers take it."""
        return Party(self.vendor.org, self.vendor.users["owner"])

    @property
    def org_id(self) -> int:
        """Return the vendor's organization id."""
        return self.vendor.org.id


def api_vendor(
    client: FlaskClient, scopes: tuple[str, ...] = READ_WRITE, name: str | None = None
) -> ApiVendor:
    """Add a vendor with an API client holding scopes, and a token for it."""
    vendor = make_vendor(name)
    issued = make_client(vendor, scopes, name="Catalog sync")
    return ApiVendor(vendor, bearer(access_token(client, issued)))


def with_scopes(client: FlaskClient, caller: ApiVendor, scopes: tuple[str, ...]) -> dict[str, str]:
    """Return a bearer header of another client of the same vendor, holding scopes."""
    issued = make_client(caller.vendor, scopes, name=f"Only {' '.join(scopes)}")
    return bearer(access_token(client, issued))


def draft_of(session: Session, clock: Clock, caller: ApiVendor, **changes: Any) -> Listing:
    """Create a draft listing with one plan for the vendor, through the services."""
    return draft_with_plan(session, clock, caller.party, **changes)


def submitted_of(session: Session, clock: Clock, caller: ApiVendor, **changes: Any) -> Listing:
    """Create a listing with a plan for the vendor and submit it."""
    return submitted(session, clock, caller.party, **changes)


def published_of(
    session: Session, clock: Clock, caller: ApiVendor, operator: Party, **changes: Any
) -> Listing:
    """Create a listing with a plan for the vendor and have the operator approve it."""
    return published(session, clock, caller.party, operator, **changes)


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    """Assert the response is a problem+json with status; return its body."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    assert body["status"] == status
    return body
