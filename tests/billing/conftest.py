"""Helpers of the billing tests: firms, and published plans to subscribe them to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from catalog.models import Listing, Plan, PlanStatus
from catalog.pricing import FlatFee, PlanPrice, SeatFee
from marketplace.audit.services import Actor
from marketplace.jobs import InlineRunner
from marketplace.orgs.models import Organization, OrgKind
from tests.catalog.conftest import NOW, component_row, make_plan
from tests.catalog.storefront_data import publish_listing
from tests.factories import make_member, make_org

# ¥100 a month flat, plus ¥30 a seat for 1 to 50 seats.
TEAM = PlanPrice((FlatFee(10000), SeatFee(3000, 1, 50)))
# ¥300 a month flat, plus ¥30 a seat: the upgrade of TEAM.
BUSINESS = PlanPrice((FlatFee(30000), SeatFee(3000, 1, 50)))
ACTOR = Actor(None)


def firm() -> Organization:
    """Add an SME with an owner."""
    org = make_org(OrgKind.SME)
    make_member(org)
    return org


def add_plan(listing: Listing, price: PlanPrice = TEAM, **fields: object) -> Plan:
    """Publish a plan of a listing, with extra fields (trial days, interval, auto-activation)."""
    rows = [component_row(component, n) for n, component in enumerate(price.components)]
    published: dict[str, object] = {"status": PlanStatus.PUBLISHED, "published_at": NOW}
    return make_plan(listing, rows, **(published | fields))


def new_plan(price: PlanPrice = TEAM, **fields: object) -> Plan:
    """Publish a listing and a plan of it with the given price and fields; return the plan."""
    listing = publish_listing(price=price)
    return add_plan(listing, price, **fields)


@pytest.fixture
def inline_jobs(app: Flask) -> Iterator[None]:
    """Run jobs in-process inside the test's transaction, whatever the app was given."""
    previous = app.extensions["jobs"]
    app.extensions["jobs"] = InlineRunner()
    yield
    app.extensions["jobs"] = previous
