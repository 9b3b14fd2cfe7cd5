"""The review workflow's services: submit, approve, reject, delist, and the review's diff."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy.orm import Session

from catalog.models import Listing, ListingStatus, PlanStatus, ReviewStatus
from catalog.services import listings, plans, review
from marketplace.audit.models import AuditEntry
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, Forbidden, NotFound, ValidationFailed
from marketplace.events.models import OutboxEvent
from marketplace.orgs.models import Role
from tests.catalog.workflow import (
    audit,
    content,
    count,
    draft_with_plan,
    events,
    make_operator,
    make_vendor,
    plan_terms,
    published,
    submitted,
)


def test_submitting_a_draft_puts_it_in_review_with_an_event_and_an_audit_entry(
    session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = draft_with_plan(session, clock, vendor)

    review.submit_for_review(session, clock, vendor.actor, vendor.org.id, listing.id)
    session.expire_all()

    assert listing.status == ListingStatus.IN_REVIEW
    assert listing.versions[0].review_status == ReviewStatus.IN_REVIEW
    assert listing.versions[0].submitted_at == clock.now()
    (event,) = events(session, "listing.submitted")
    (entry,) = audit(session, "listing.submitted")
    assert event.organization_id == vendor.org.id and event.payload["version"] == 1
    assert entry.before == {"status": "draft"} and entry.after == {"status": "in_review"}


def test_a_listing_without_a_plan_cannot_be_submitted(session: Session, clock: FrozenClock) -> None:
    vendor = make_vendor()
    listing = listings.create_listing(session, clock, vendor.actor, vendor.org.id, content())
    before = (count(session, AuditEntry), count(session, OutboxEvent))

    with pytest.raises(ValidationFailed) as refused:
        review.submit_for_review(session, clock, vendor.actor, vendor.org.id, listing.id)
    session.expire_all()

    assert "plans" in refused.value.errors
    assert listing.status == ListingStatus.DRAFT
    assert (count(session, AuditEntry), count(session, OutboxEvent)) == before


def test_a_listing_in_review_cannot_be_submitted_again(
    session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = submitted(session, clock, vendor)

    with (
        english(),
        pytest.raises(Conflict, match="cannot be submitted for review while it is in review"),
    ):
        review.submit_for_review(session, clock, vendor.actor, vendor.org.id, listing.id)


def test_approving_publishes_the_version_and_its_plans(
    session: Session, clock: FrozenClock
) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = submitted(session, clock, vendor)

    review.approve(session, clock, operator.actor, listing.id)
    session.expire_all()

    assert listing.status == ListingStatus.PUBLISHED
    version = listing.versions[0]
    assert version.review_status == ReviewStatus.APPROVED and version.published_at == clock.now()
    assert [(p.status, p.published_at) for p in listing.plans] == [
        (PlanStatus.PUBLISHED, clock.now())
    ]
    (event,) = events(session, "listing.published")
    (entry,) = audit(session, "listing.published")
    assert event.organization_id == vendor.org.id
    assert entry.actor_org_id == operator.org.id and entry.subject_org_id == vendor.org.id


def test_approving_a_revised_plan_retires_its_older_version(
    session: Session, clock: FrozenClock
) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = published(session, clock, vendor, operator)
    plans.revise_plan(
        session,
        clock,
        vendor.actor,
        vendor.org.id,
        listing.id,
        "standard",
        plan_terms(components=[{"kind": "flat", "amount_fen": 19900}]),
    )
    review.submit_for_review(session, clock, vendor.actor, vendor.org.id, listing.id)

    review.approve(session, clock, operator.actor, listing.id)

    assert [(p.version, p.status) for p in listing.plans] == [
        (1, PlanStatus.RETIRED),
        (2, PlanStatus.PUBLISHED),
    ]
    assert listing.status == ListingStatus.PUBLISHED
    assert [v.review_status for v in listing.versions] == ["approved", "approved"]


def test_rejecting_stores_the_reason_the_vendor_sees(session: Session, clock: FrozenClock) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = submitted(session, clock, vendor)

    review.reject(session, clock, operator.actor, listing.id, "  The logo is missing.  ")
    session.expire_all()

    mine = listings.listing_of(session, vendor.org.id, listing.id)
    assert mine.status == ListingStatus.REJECTED
    assert mine.rejection_reason == "The logo is missing."
    assert mine.versions[0].review_status == ReviewStatus.REJECTED
    (event,) = events(session, "listing.rejected")
    assert event.payload["reason"] == "The logo is missing."
    assert len(audit(session, "listing.rejected")) == 1


@pytest.mark.parametrize("reason", [None, "", "   ", "x" * 1001])
def test_a_rejection_needs_a_reason_of_1_to_1000_characters(
    session: Session, clock: FrozenClock, reason: str | None
) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = submitted(session, clock, vendor)
    before = (count(session, AuditEntry), count(session, OutboxEvent))

    with pytest.raises(ValidationFailed) as refused:
        review.reject(session, clock, operator.actor, listing.id, reason)
    session.expire_all()

    assert "reason" in refused.value.errors
    assert listing.status == ListingStatus.IN_REVIEW and listing.rejection_reason is None
    assert (count(session, AuditEntry), count(session, OutboxEvent)) == before


def test_a_rejected_listing_is_edited_back_into_a_draft_and_resubmitted(
    session: Session, clock: FrozenClock
) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = submitted(session, clock, vendor)
    review.reject(session, clock, operator.actor, listing.id, "Add a logo.")

    version = listings.update_draft(
        session,
        clock,
        vendor.actor,
        vendor.org.id,
        listing.id,
        {"logo_url": "https://l.example/x.png"},
    )
    review.submit_for_review(session, clock, vendor.actor, vendor.org.id, listing.id)

    assert version.version == 2 and version.review_status == ReviewStatus.IN_REVIEW
    assert listing.status == ListingStatus.IN_REVIEW


def test_a_draft_can_be_neither_approved_nor_rejected(session: Session, clock: FrozenClock) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = draft_with_plan(session, clock, vendor)

    with english(), pytest.raises(Conflict, match="cannot be approved while it is a draft"):
        review.approve(session, clock, operator.actor, listing.id)
    with english(), pytest.raises(Conflict, match="cannot be rejected while it is a draft"):
        review.reject(session, clock, operator.actor, listing.id, "No.")
    assert events(session, "listing.published") == []


def test_only_the_operators_owners_and_admins_decide(session: Session, clock: FrozenClock) -> None:
    vendor = make_vendor()
    member = make_operator(Role.MEMBER)
    listing = submitted(session, clock, vendor)

    with pytest.raises(Forbidden):
        review.approve(session, clock, member.actor, listing.id)
    with pytest.raises(NotFound):
        review.approve(session, clock, vendor.actor, listing.id)
    assert listing.status == ListingStatus.IN_REVIEW


def test_a_vendor_delists_its_published_listing(session: Session, clock: FrozenClock) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = published(session, clock, vendor, operator)

    review.delist(session, clock, vendor.actor, vendor.org.id, listing.id)

    assert listing.status == ListingStatus.DELISTED
    assert len(events(session, "listing.delisted")) == len(audit(session, "listing.delisted")) == 1


def test_delisting_returns_an_update_in_review_to_the_vendors_draft(
    session: Session, clock: FrozenClock
) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = published(session, clock, vendor, operator)
    listings.update_draft(
        session, clock, vendor.actor, vendor.org.id, listing.id, {"name_en": "Ledger Pro"}
    )
    review.submit_for_review(session, clock, vendor.actor, vendor.org.id, listing.id)

    review.delist(session, clock, vendor.actor, vendor.org.id, listing.id)

    assert review.review_queue(session, operator.actor) == []
    assert listings.latest_version(listing).review_status == ReviewStatus.DRAFT
    review.submit_for_review(session, clock, vendor.actor, vendor.org.id, listing.id)
    assert listing.status == ListingStatus.IN_REVIEW


def test_the_operator_delists_any_published_listing(session: Session, clock: FrozenClock) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = published(session, clock, vendor, operator)

    review.delist_by_operator(session, clock, operator.actor, listing.id)

    assert listing.status == ListingStatus.DELISTED
    (entry,) = audit(session, "listing.delisted")
    assert entry.actor_org_id == operator.org.id


def test_only_a_published_listing_can_be_delisted(session: Session, clock: FrozenClock) -> None:
    vendor = make_vendor()
    listing = draft_with_plan(session, clock, vendor)

    with english(), pytest.raises(Conflict, match="cannot be delisted while it is a draft"):
        review.delist(session, clock, vendor.actor, vendor.org.id, listing.id)


def test_another_vendor_can_neither_submit_nor_delist_a_listing(
    session: Session, clock: FrozenClock
) -> None:
    vendor, other, operator = make_vendor(), make_vendor(), make_operator()
    draft = draft_with_plan(session, clock, vendor)
    live = published(session, clock, vendor, operator, slug="live-ledger")

    with pytest.raises(NotFound):
        review.submit_for_review(session, clock, other.actor, other.org.id, draft.id)
    with pytest.raises(NotFound):
        review.delist(session, clock, other.actor, other.org.id, live.id)
    assert (draft.status, live.status) == (ListingStatus.DRAFT, ListingStatus.PUBLISHED)


def test_the_queue_holds_versions_in_review_the_longest_waiting_first(
    session: Session, clock: FrozenClock
) -> None:
    vendor, operator = make_vendor(), make_operator()
    first = submitted(session, clock, vendor, slug="first-app")
    clock.advance(timedelta(minutes=5))
    second = submitted(session, clock, vendor, slug="second-app")
    draft_with_plan(session, clock, vendor, slug="draft-app")

    queue = review.review_queue(session, operator.actor)

    assert [item.listing.id for item in queue] == [first.id, second.id]


def test_the_review_diff_shows_changed_fields_and_plans(
    session: Session, clock: FrozenClock
) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = published(session, clock, vendor, operator)
    listings.update_draft(
        session,
        clock,
        vendor.actor,
        vendor.org.id,
        listing.id,
        {"name_en": "Ledger Pro", "business_categories": ["finance", "hr"]},
    )
    plans.revise_plan(
        session,
        clock,
        vendor.actor,
        vendor.org.id,
        listing.id,
        "standard",
        plan_terms(trial_days=30),
    )
    plans.add_plan(session, clock, vendor.actor, vendor.org.id, listing.id, plan_terms("pro"))
    review.submit_for_review(session, clock, vendor.actor, vendor.org.id, listing.id)

    detail = review.review_detail(session, operator.actor, listing.id)

    assert detail.published is not None and detail.published.version == 1
    assert detail.submitted.version == 2 and detail.can_decide
    changed = {c.field: (c.before, c.after) for c in detail.content}
    assert changed == {
        "name_en": ("Cloud Ledger", "Ledger Pro"),
        "business_categories": (["finance"], ["finance", "hr"]),
    }
    by_code = {p.code: p for p in detail.plans}
    assert by_code["pro"].change == "added"
    assert by_code["standard"].change == "changed"
    assert [(f.field, f.before, f.after) for f in by_code["standard"].fields] == [
        ("trial_days", 14, 30)
    ]


def test_a_new_listings_review_shows_all_its_content(session: Session, clock: FrozenClock) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = submitted(session, clock, vendor)

    detail = review.review_detail(session, operator.actor, listing.id)

    assert detail.published is None
    assert {c.field for c in detail.content} >= {"name_zh", "launch_url", "layer_category"}
    assert [(p.code, p.change) for p in detail.plans] == [("standard", "added")]


def test_a_listing_that_does_not_exist_has_no_review(session: Session, clock: FrozenClock) -> None:
    operator = make_operator()

    with pytest.raises(NotFound):
        review.review_detail(session, operator.actor, 2_000_000_000)
    assert count(session, Listing) == 0


def english() -> Any:
    """Answer messages in English, whatever the default locale, to compare their wording."""
    return force_locale("en")
