"""A storefront page costs a fixed handful of queries, however many listings it shows."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.pricing import FlatFee, PlanPrice, SeatFee
from catalog.storefront import PAGE_SIZE
from marketplace.orgs.models import Organization, OrgKind
from tests.catalog.query_counter import counted_queries
from tests.catalog.storefront_data import TEAM_PRICE, publish_listing
from tests.factories import make_org

BROWSE_QUERIES = 6
LISTING_QUERIES = 4
VENDOR_QUERIES = 4


@pytest.fixture
def uncached(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Render every page from the database: the cost of a cache miss."""
    monkeypatch.delitem(app.extensions, "page_cache", raising=False)


def _publish(vendor: Organization, n: int) -> None:
    for i in range(n):
        price = TEAM_PRICE if i % 2 else PlanPrice((FlatFee(1000 + i), SeatFee(500, 2, None)))
        publish_listing(vendor, name_zh=f"应用{i:03d}", categories=("finance", "hr"), price=price)


def _queries(session: Session, client: FlaskClient, path: str) -> list[str]:
    # A cold identity map, as at the start of a real request.
    session.expunge_all()
    with counted_queries() as statements:
        response = client.get(path)
    assert response.status_code == 200
    return statements


@pytest.mark.usefixtures("uncached")
@pytest.mark.parametrize("listings", [1, 3, PAGE_SIZE + 5])
def test_the_browse_page_costs_the_same_few_queries_for_any_number_of_listings(
    session: Session, client: FlaskClient, listings: int
) -> None:
    _publish(make_org(OrgKind.VENDOR), listings)

    assert len(_queries(session, client, "/services")) <= BROWSE_QUERIES
    assert len(_queries(session, client, "/services?q=应用&model=seat&page=2")) <= BROWSE_QUERIES


@pytest.mark.usefixtures("uncached")
@pytest.mark.parametrize("listings", [1, 12])
def test_the_vendor_page_costs_the_same_few_queries_for_any_number_of_listings(
    session: Session, client: FlaskClient, listings: int
) -> None:
    vendor = make_org(OrgKind.VENDOR)
    _publish(vendor, listings)

    assert len(_queries(session, client, f"/vendors/{vendor.id}")) <= VENDOR_QUERIES


@pytest.mark.usefixtures("uncached")
def test_the_listing_page_with_a_quote_costs_a_few_queries(
    session: Session, client: FlaskClient
) -> None:
    listing = publish_listing(slug="team", categories=("finance",), price=TEAM_PRICE)
    path = f"/services/{listing.vendor_id}/team"

    assert len(_queries(session, client, path)) <= LISTING_QUERIES
    quoted = _queries(session, client, path + "?plan=standard&seats=5&usage-api_calls=5000")
    assert len(quoted) <= LISTING_QUERIES


@pytest.mark.usefixtures("uncached")
def test_an_unknown_listing_is_not_found_in_one_query(
    session: Session, client: FlaskClient
) -> None:
    session.expunge_all()
    with counted_queries() as statements:
        response = client.get("/services/999999/nothing-here")

    assert response.status_code == 404
    assert len(statements) <= 1
