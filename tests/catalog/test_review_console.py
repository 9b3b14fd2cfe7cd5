"""The operator's listing review pages: queue, diff, approve, reject, and who may see them."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.models import ListingStatus
from catalog.services import listings, review
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Role
from tests.catalog.workflow import (
    Party,
    audit,
    events,
    make_operator,
    make_vendor,
    published,
    submitted,
)
from tests.sessions import sign_in


@pytest.fixture
def operator(session: Session) -> Party:
    """The operator, acting through its owner."""
    return make_operator()


@pytest.fixture
def vendor(session: Session) -> Party:
    """A vendor with an owner."""
    return make_vendor("Minjiang Software")


def test_the_operator_sees_the_queue_of_listings_in_review(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party, vendor: Party
) -> None:
    submitted(session, clock, vendor)
    sign_in(client, operator.user, operator.org)

    page = client.get("/console/listings/reviews")

    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-testid="listing-reviews"' in html
    assert "云账本" in html and "Minjiang Software" in html


def test_an_empty_queue_says_so(client: FlaskClient, operator: Party) -> None:
    sign_in(client, operator.user, operator.org)

    page = client.get("/console/listings/reviews")

    assert "No listing waits for review." in page.get_data(as_text=True)


def test_the_review_page_shows_the_fields_changed_since_the_published_version(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party, vendor: Party
) -> None:
    listing = published(session, clock, vendor, operator)
    listings.update_draft(
        session, clock, vendor.actor, vendor.org.id, listing.id, {"name_en": "Ledger Pro"}
    )
    review.submit_for_review(session, clock, vendor.actor, vendor.org.id, listing.id)
    sign_in(client, operator.user, operator.org)

    page = client.get(f"/console/listings/{listing.id}/review")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-field="name_en"' in html and "Ledger Pro" in html and "Cloud Ledger" in html
    assert 'data-field="name_zh"' not in html
    assert "Approve and publish" in html


def test_approving_from_the_console_publishes_the_listing(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party, vendor: Party
) -> None:
    listing = submitted(session, clock, vendor)
    sign_in(client, operator.user, operator.org)

    answer = client.post(f"/console/listings/{listing.id}/approve")

    assert answer.status_code == 302
    session.expire_all()
    assert listing.status == ListingStatus.PUBLISHED
    assert len(events(session, "listing.published")) == 1


def test_rejecting_from_the_console_stores_the_reason(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party, vendor: Party
) -> None:
    listing = submitted(session, clock, vendor)
    sign_in(client, operator.user, operator.org)

    answer = client.post(
        f"/console/listings/{listing.id}/reject", data={"reject-reason": "Screenshots are blank."}
    )

    assert answer.status_code == 302
    session.expire_all()
    assert listing.status == ListingStatus.REJECTED
    assert listing.rejection_reason == "Screenshots are blank."


def test_rejecting_without_a_reason_shows_the_field_error_and_changes_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party, vendor: Party
) -> None:
    listing = submitted(session, clock, vendor)
    sign_in(client, operator.user, operator.org)

    answer = client.post(f"/console/listings/{listing.id}/reject", data={"reject-reason": "  "})

    assert answer.status_code == 422
    assert "This field is required." in answer.get_data(as_text=True)
    session.expire_all()
    assert listing.status == ListingStatus.IN_REVIEW
    assert audit(session, "listing.rejected") == [] and events(session, "listing.rejected") == []


def test_approving_a_listing_not_in_review_is_a_conflict(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Party, vendor: Party
) -> None:
    listing = published(session, clock, vendor, operator)
    sign_in(client, operator.user, operator.org)

    answer = client.post(f"/console/listings/{listing.id}/approve")

    assert answer.status_code == 409


def test_an_unknown_listing_has_no_review_page(client: FlaskClient, operator: Party) -> None:
    sign_in(client, operator.user, operator.org)

    assert client.get("/console/listings/2000000000/review").status_code == 404


@pytest.mark.parametrize("path", ["/console/listings/reviews", "/console/listings/{id}/review"])
def test_the_review_pages_do_not_exist_for_a_vendor(
    client: FlaskClient,
    session: Session,
    clock: FrozenClock,
    vendor: Party,
    path: str,
) -> None:
    listing = submitted(session, clock, vendor)
    sign_in(client, vendor.user, vendor.org)

    assert client.get(path.format(id=listing.id)).status_code == 404
    assert client.post(f"/console/listings/{listing.id}/approve").status_code == 404


def test_an_operator_member_may_look_but_not_decide(
    client: FlaskClient, session: Session, clock: FrozenClock, vendor: Party
) -> None:
    member = make_operator(Role.MEMBER)
    listing = submitted(session, clock, vendor)
    sign_in(client, member.user, member.org)

    page = client.get(f"/console/listings/{listing.id}/review")
    approve = client.post(f"/console/listings/{listing.id}/approve")
    reject = client.post(f"/console/listings/{listing.id}/reject", data={"reject-reason": "No."})

    assert page.status_code == 200 and "Approve and publish" not in page.get_data(as_text=True)
    assert (approve.status_code, reject.status_code) == (403, 403)
    session.expire_all()
    assert listing.status == ListingStatus.IN_REVIEW


def test_the_operator_nav_links_to_listing_reviews(client: FlaskClient, operator: Party) -> None:
    sign_in(client, operator.user, operator.org)

    page = client.get("/console/listings/reviews").get_data(as_text=True)

    assert 'href="/console/listings/reviews"' in page and "Listing reviews" in page


def test_a_visitor_is_sent_to_sign_in(client: FlaskClient) -> None:
    answer = client.get("/console/listings/reviews")

    assert answer.status_code == 302 and "/login" in answer.headers["Location"]
