"""The operator reviews listings in Chromium; the vendor reads the verdict in its console."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from catalog.models import Listing, ListingStatus
from catalog.services import listings, plans, review
from marketplace.accounts.models import User
from marketplace.accounts.passwords import hash_password
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Membership, Organization, OrgKind, Role
from tests.browser.conftest import LiveServer
from tests.browser.journeys import PASSWORD, log_in, log_out, unique_email
from tests.catalog.workflow import content, plan_terms

CLOCK = FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
REASON = "截图与实际功能不符，请更新后重新提交。"


@dataclass(frozen=True)
class ReviewCase:
    """Who takes part in the review and the two listings waiting for it."""

    operator_email: str
    vendor_email: str
    to_approve: Listing
    to_reject: Listing
    to_approve_name: str
    to_reject_name: str


def _person(session: Session, org: Organization, what: str) -> str:
    email = unique_email(what)
    user = User(
        email=email,
        display_name="陈思远",
        password_hash=hash_password(PASSWORD),
        email_confirmed_at=CLOCK.now(),
        created_at=CLOCK.now(),
    )
    session.add(user)
    session.flush()
    session.add(
        Membership(user_id=user.id, organization_id=org.id, role=Role.OWNER, created_at=CLOCK.now())
    )
    session.flush()
    return email


def _operator(session: Session) -> Organization:
    # The marketplace has one operator; an earlier test of the run may have made it already.
    stmt = sa.select(Organization).where(Organization.kind == OrgKind.OPERATOR).limit(1)
    org = session.scalar(stmt)
    if org is None:
        org = Organization(kind=OrgKind.OPERATOR, name="云市运营", created_at=CLOCK.now())
        session.add(org)
        session.flush()
    return org


def _submitted(session: Session, vendor: Organization, actor: Actor, name_zh: str) -> Listing:
    slug = f"review-{uuid.uuid4().hex[:12]}"
    listing = listings.create_listing(
        session, CLOCK, actor, vendor.id, content(slug=slug, name_zh=name_zh)
    )
    plans.add_plan(session, CLOCK, actor, vendor.id, listing.id, plan_terms())
    return review.submit_for_review(session, CLOCK, actor, vendor.id, listing.id)


@pytest.fixture
def review_case(live_server: LiveServer) -> ReviewCase:
    """Add an operator member, a vendor with its owner, and two listings submitted for review."""
    suffix = uuid.uuid4().hex[:8]
    with Session(live_server.engine, expire_on_commit=False) as session:
        operator_email = _person(session, _operator(session), "reviewer")
        vendor = Organization(kind=OrgKind.VENDOR, name=f"榕城软件{suffix}", created_at=CLOCK.now())
        session.add(vendor)
        session.flush()
        vendor_email = _person(session, vendor, "vendor")
        owner_id = session.scalar(sa.select(User.id).where(User.email == vendor_email))
        session.commit()
        actor = Actor(owner_id, vendor.id)
        approve_name, reject_name = f"云账本通过{suffix}", f"云账本退回{suffix}"
        return ReviewCase(
            operator_email=operator_email,
            vendor_email=vendor_email,
            to_approve=_submitted(session, vendor, actor, approve_name),
            to_reject=_submitted(session, vendor, actor, reject_name),
            to_approve_name=approve_name,
            to_reject_name=reject_name,
        )


def _listing_row(live_server: LiveServer, listing_id: int) -> sa.RowMapping:
    with live_server.engine.connect() as connection:
        return (
            connection.execute(
                sa.text("SELECT status, rejection_reason FROM listings WHERE id = :id"),
                {"id": listing_id},
            )
            .mappings()
            .one()
        )


def _open_review(page: Page, live_server: LiveServer, listing: Listing) -> None:
    page.goto(live_server.url + "/console/listings/reviews")
    review_link = page.locator(f"a[href='/console/listings/{listing.id}/review']")
    expect(review_link).to_be_visible()
    review_link.click()
    expect(page).to_have_url(f"{live_server.url}/console/listings/{listing.id}/review")
    expect(page.get_by_test_id("listing-review")).to_contain_text(listing.slug)


def test_the_operator_approves_one_listing_and_rejects_another_whose_vendor_sees_the_reason(
    page: Page, live_server: LiveServer, review_case: ReviewCase
) -> None:
    case = review_case
    log_in(page, live_server, case.operator_email, PASSWORD)
    expect(page.get_by_test_id("logout")).to_be_visible()

    _open_review(page, live_server, case.to_approve)
    page.locator(f"form[action$='/{case.to_approve.id}/approve'] [type=submit]").click()
    expect(page).to_have_url(live_server.url + "/console/listings/reviews")
    expect(page.locator(f"a[href='/console/listings/{case.to_approve.id}/review']")).to_have_count(
        0
    )

    _open_review(page, live_server, case.to_reject)
    reject_form = page.locator(f"form[action$='/{case.to_reject.id}/reject']")
    reject_form.locator("[type=submit]").click()
    # bootstrap-flask marks a field with errors as invalid and shows its message below it.
    expect(page.locator("textarea#reject-reason")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(reject_form.locator(".invalid-feedback")).to_be_visible()
    assert _listing_row(live_server, case.to_reject.id)["status"] == ListingStatus.IN_REVIEW

    page.locator("textarea#reject-reason").fill(REASON)
    page.locator(f"form[action$='/{case.to_reject.id}/reject'] [type=submit]").click()
    expect(page).to_have_url(live_server.url + "/console/listings/reviews")

    approved = _listing_row(live_server, case.to_approve.id)
    rejected = _listing_row(live_server, case.to_reject.id)
    assert (approved["status"], approved["rejection_reason"]) == (ListingStatus.PUBLISHED, None)
    assert (rejected["status"], rejected["rejection_reason"]) == (ListingStatus.REJECTED, REASON)

    log_out(page)
    log_in(page, live_server, case.vendor_email, PASSWORD)
    expect(page.get_by_test_id("logout")).to_be_visible()
    page.goto(live_server.url + "/vendor/listings")
    rows = page.get_by_test_id("vendor-listings").locator("tbody tr")
    expect(rows.filter(has_text=case.to_reject.slug)).to_contain_text(REASON)
    expect(rows.filter(has_text=case.to_approve.slug)).not_to_contain_text(REASON)

    page.goto(live_server.url + "/services?q=" + case.to_approve_name)
    cards = page.get_by_test_id("listing-card")
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text(case.to_approve_name)
    page.goto(live_server.url + "/services?q=" + case.to_reject_name)
    expect(page.get_by_test_id("no-results")).to_be_visible()
