"""The review workflow: vendors submit and delist, the operator approves, rejects, delists.

A sandbox listing never reaches the storefront, so it needs no operator: submitting it
publishes it at once, as an approval would, with the submitting API client as approver.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from catalog.models import Listing, ListingStatus, ListingVersion, Plan, PlanStatus, ReviewStatus
from catalog.review_rules import FieldChange, PlanChange, ReviewAction, field_changes, plan_changes
from catalog.services.content import content_of
from catalog.services.listings import (
    audit_and_announce,
    latest_version,
    listing_of,
    published_version,
    transition,
    vendor_org,
)
from catalog.services.plans import plan_terms
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.console.services import operator_membership, required_text
from marketplace.errors import Conflict, NotFound, ValidationFailed

REASON_MAX = 1000


def submit_for_review(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    listing_id: int,
    *,
    sandbox: bool = False,
    client_id: str | None = None,
) -> Listing:
    """Send the listing's draft to the operator; it needs a service layer and a plan.

    A sandbox listing is published at once instead, approved by the client that submits it.
    """
    vendor_org(session, vendor_id)
    listing = listing_of(session, vendor_id, listing_id, sandbox=sandbox, for_update=True)
    before = listing.status
    status = transition(listing, ReviewAction.SUBMIT)
    version = latest_version(listing)
    if version.review_status != ReviewStatus.DRAFT:
        raise Conflict(_("There is no draft to submit: edit the listing first."))
    _check_complete(listing, version)
    listing.status = status
    version.review_status = ReviewStatus.IN_REVIEW
    version.submitted_at = listing.updated_at = clock.now()
    if listing.sandbox:
        _publish(session, clock, actor, listing, before, approving_client=client_id)
    else:
        audit_and_announce(
            session, clock, actor, "listing.submitted", listing, **_changes(listing, before)
        )
    session.commit()
    return listing


def _changes(listing: Listing, before: str) -> dict[str, dict[str, Any]]:
    """Return the audit entry's before and after of a status change."""
    return {"before": {"status": before}, "after": {"status": listing.status}}


def _check_complete(listing: Listing, version: ListingVersion) -> None:
    errors: dict[str, list[str]] = {}
    if version.layer_category_id is None and version.layer_category is None:
        errors["layer_category"] = [_("Choose a service layer before submitting.")]
    if not [p for p in listing.plans if p.status != PlanStatus.RETIRED]:
        errors["plans"] = [_("Add at least one plan before submitting.")]
    if errors:
        raise ValidationFailed(errors)


def _listing_for_operator(session: Session, listing_id: int) -> Listing:
    stmt = sa.select(Listing).where(Listing.id == listing_id).with_for_update(of=Listing)
    listing = session.scalars(stmt).one_or_none()
    if listing is None:
        raise NotFound(_("No such listing."))
    return listing


def _version_in_review(listing: Listing) -> ListingVersion:
    version = latest_version(listing)
    if version.review_status != ReviewStatus.IN_REVIEW:
        raise Conflict(_("This listing has no version waiting for review."))
    return version


def _publish_plans(session: Session, listing: Listing, now: datetime) -> None:
    drafts = [p for p in listing.plans if p.status == PlanStatus.DRAFT]
    for plan in drafts:
        # Subscribers of an older version keep it; new subscriptions take the new one.
        for older in listing.plans:
            if older.code == plan.code and older.status == PlanStatus.PUBLISHED:
                older.status = PlanStatus.RETIRED
        session.flush()
        plan.status = PlanStatus.PUBLISHED
        plan.published_at = now


def _publish(
    session: Session,
    clock: Clock,
    actor: Actor,
    listing: Listing,
    before: str,
    *,
    approving_client: str | None = None,
) -> None:
    """Approve the version in review and publish the draft plans, with audit and event.

    An API client that approves (a sandbox client submitting) is named in both.
    """
    status = transition(listing, ReviewAction.APPROVE)
    version = _version_in_review(listing)
    now = clock.now()
    listing.status = status
    listing.rejection_reason = None
    listing.updated_at = now
    version.review_status = ReviewStatus.APPROVED
    version.published_at = now
    _publish_plans(session, listing, now)
    changes = _changes(listing, before)
    extra = None
    if approving_client is not None:
        extra = {"approved_by_client": approving_client}
        changes["after"] |= extra
    audit_and_announce(session, clock, actor, "listing.published", listing, extra=extra, **changes)


def approve(session: Session, clock: Clock, actor: Actor, listing_id: int) -> Listing:
    """Publish the version in review and the listing's draft plans (operator only)."""
    operator_membership(session, actor, acting=True)
    listing = _listing_for_operator(session, listing_id)
    _publish(session, clock, actor, listing, listing.status)
    session.commit()
    return listing


def reject(
    session: Session, clock: Clock, actor: Actor, listing_id: int, reason: str | None
) -> Listing:
    """Send the version in review back to the vendor with a reason they see (operator only)."""
    operator_membership(session, actor, acting=True)
    text = required_text(reason, "reason", high=REASON_MAX)
    listing = _listing_for_operator(session, listing_id)
    before = listing.status
    status = transition(listing, ReviewAction.REJECT)
    version = _version_in_review(listing)
    listing.status = status
    listing.rejection_reason = text
    listing.updated_at = clock.now()
    version.review_status = ReviewStatus.REJECTED
    changes = _changes(listing, before)
    changes["after"]["rejection_reason"] = text
    audit_and_announce(
        session, clock, actor, "listing.rejected", listing, extra={"reason": text}, **changes
    )
    session.commit()
    return listing


def _delist(session: Session, clock: Clock, actor: Actor, listing: Listing) -> Listing:
    before = listing.status
    listing.status = transition(listing, ReviewAction.DELIST)
    listing.updated_at = clock.now()
    pending = latest_version(listing)
    if pending.review_status == ReviewStatus.IN_REVIEW:
        # An update waiting for review goes back to the vendor's draft, not into limbo.
        pending.review_status = ReviewStatus.DRAFT
        pending.submitted_at = None
    audit_and_announce(
        session, clock, actor, "listing.delisted", listing, **_changes(listing, before)
    )
    session.commit()
    return listing


def delist(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    listing_id: int,
    *,
    sandbox: bool = False,
) -> Listing:
    """Take the vendor's published listing off the storefront."""
    vendor_org(session, vendor_id)
    listing = listing_of(session, vendor_id, listing_id, sandbox=sandbox, for_update=True)
    return _delist(session, clock, actor, listing)


def delist_by_operator(session: Session, clock: Clock, actor: Actor, listing_id: int) -> Listing:
    """Take any published listing off the storefront (operator only)."""
    operator_membership(session, actor, acting=True)
    return _delist(session, clock, actor, _listing_for_operator(session, listing_id))


@dataclass(frozen=True)
class QueuedReview:
    """A listing waiting for review: its vendor and the submitted version."""

    listing: Listing
    version: ListingVersion


def review_queue(session: Session, actor: Actor) -> list[QueuedReview]:
    """Return the versions waiting for review, the longest waiting first (operator only)."""
    operator_membership(session, actor)
    stmt = (
        sa.select(Listing, ListingVersion)
        .join(ListingVersion, ListingVersion.listing_id == Listing.id)
        .where(ListingVersion.review_status == ReviewStatus.IN_REVIEW)
        .where(Listing.status.in_([ListingStatus.IN_REVIEW, ListingStatus.PUBLISHED]))
        .where(Listing.sandbox.is_(False))  # sandbox listings publish themselves
        .order_by(ListingVersion.submitted_at, ListingVersion.id)
    )
    return [QueuedReview(listing, version) for listing, version in session.execute(stmt)]


@dataclass(frozen=True)
class ReviewDetail:
    """The submitted version side by side with the last published one, and what changed."""

    listing: Listing
    submitted: ListingVersion
    published: ListingVersion | None
    content: list[FieldChange]
    plans: list[PlanChange]
    can_decide: bool


def _plans_by_code(plans: list[Plan]) -> dict[str, dict[str, Any]]:
    return {plan.code: plan_terms(plan) for plan in plans}


def _offered_plans(listing: Listing, *, proposed: bool) -> list[Plan]:
    """Return the latest published plan of each code, or the latest of any status (proposed)."""
    newest: dict[str, Plan] = {}
    statuses = (PlanStatus.PUBLISHED, PlanStatus.DRAFT) if proposed else (PlanStatus.PUBLISHED,)
    for plan in listing.plans:
        if plan.status in statuses:
            newest[plan.code] = plan  # plans are ordered by code, then version
    return list(newest.values())


def review_detail(session: Session, actor: Actor, listing_id: int) -> ReviewDetail:
    """Return a listing's version in review compared with its last published version."""
    operator_membership(session, actor)
    listing = session.get(Listing, listing_id)
    if listing is None:
        raise NotFound(_("No such listing."))
    submitted = latest_version(listing)
    published = published_version(listing)
    before = content_of(published) if published else None
    return ReviewDetail(
        listing=listing,
        submitted=submitted,
        published=published,
        content=field_changes(before, content_of(submitted)),
        plans=plan_changes(
            _plans_by_code(_offered_plans(listing, proposed=False)),
            _plans_by_code(_offered_plans(listing, proposed=True)),
        ),
        can_decide=submitted.review_status == ReviewStatus.IN_REVIEW,
    )
