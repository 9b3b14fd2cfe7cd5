"""The vendor console's listing page: the review status and the operator's reason."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.services import review
from marketplace.clock import FrozenClock
from marketplace.orgs.models import OrgKind
from tests.catalog.workflow import make_operator, make_vendor, submitted
from tests.factories import make_member, make_org
from tests.sessions import sign_in


def test_a_vendor_sees_its_rejected_listing_with_the_reason(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor, other, operator = make_vendor(), make_vendor(), make_operator()
    listing = submitted(session, clock, vendor)
    submitted(session, clock, other, slug="other-app", name_zh="别家应用")
    review.reject(session, clock, operator.actor, listing.id, "Please add screenshots.")
    sign_in(client, vendor.user, vendor.org)

    page = client.get("/vendor/listings")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "云账本" in html and "Rejected" in html and "Please add screenshots." in html
    assert "别家应用" not in html


def test_a_vendor_without_listings_is_told_so(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    sign_in(client, vendor.user, vendor.org)

    assert "You have no listings yet." in client.get("/vendor/listings").get_data(as_text=True)


def test_the_vendor_listing_page_does_not_exist_for_a_firm(
    client: FlaskClient, session: Session
) -> None:
    firm = make_org(OrgKind.SME)
    sign_in(client, make_member(firm), firm)

    assert client.get("/vendor/listings").status_code == 404
