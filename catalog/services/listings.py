"""Vendors' listings: create one, edit its draft, and read their own.

A listing is made in one mode for good: live, or sandbox (by a sandbox API client, for
trying the API out). Callers that act in one mode pass `sandbox`, and a listing of the
other mode is then as missing as another vendor's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from catalog.models import Listing, ListingStatus, ListingVersion, ReviewStatus
from catalog.review_rules import IllegalTransition, ReviewAction, next_status
from catalog.services.content import (
    CONTENT_FIELDS,
    Problems,
    apply_content,
    check_slug,
    clean_content,
    content_of,
)
from catalog.services.errors import transition_refused
from marketplace.audit.services import Actor, record
from marketplace.clock import Clock
from marketplace.errors import NotFound
from marketplace.events.services import record_event
from marketplace.orgs.models import Organization, OrgKind
from marketplace.orgs.services import check_organization_may_change

REQUIRED_ON_CREATE = ("name_zh", "name_en", "layer_category")
COPIED_FIELDS = (
    "name_zh",
    "name_en",
    "summary_zh",
    "summary_en",
    "description_md",
    "layer_category",
    "business_categories",
    "logo_url",
    "screenshots",
    "support_email",
    "support_phone",
    "launch_url",
    "sso_redirect_uris",
)


def vendor_org(session: Session, vendor_id: int) -> Organization:
    """Return the vendor organization that acts, refusing a suspended one."""
    org = session.get(Organization, vendor_id)
    if org is None or org.kind != OrgKind.VENDOR:
        raise NotFound()
    check_organization_may_change(org)
    return org


def listings_of(session: Session, vendor_id: int) -> list[Listing]:
    """Return the vendor's listings, newest first."""
    stmt = sa.select(Listing).where(Listing.vendor_id == vendor_id).order_by(Listing.id.desc())
    return list(session.scalars(stmt))


def listing_of(
    session: Session,
    vendor_id: int,
    listing_id: int,
    *,
    sandbox: bool | None = None,
    for_update: bool = False,
) -> Listing:
    """Return the vendor's listing with that id (of one mode when given), or raise NotFound."""
    stmt = sa.select(Listing).where(Listing.vendor_id == vendor_id, Listing.id == listing_id)
    if sandbox is not None:
        stmt = stmt.where(Listing.sandbox.is_(sandbox))
    if for_update:
        # Two edits or a decision racing an edit must see each other's status.
        stmt = stmt.with_for_update(of=Listing)
    listing = session.scalars(stmt).one_or_none()
    if listing is None:
        raise NotFound(_("No such listing of this vendor."))
    return listing


def latest_version(listing: Listing) -> ListingVersion:
    """Return the newest version of a listing's content."""
    return max(listing.versions, key=lambda v: v.version)


def published_version(listing: Listing) -> ListingVersion | None:
    """Return the newest approved version, the one the storefront shows, if any."""
    approved = [v for v in listing.versions if v.review_status == ReviewStatus.APPROVED]
    return max(approved, key=lambda v: v.version) if approved else None


def transition(listing: Listing, action: ReviewAction) -> str:
    """Return the listing's next status for action, or raise the Conflict that says why not."""
    try:
        return next_status(listing.status, action)
    except IllegalTransition as error:
        raise transition_refused(error) from None


def editable_version(session: Session, clock: Clock, listing: Listing) -> ListingVersion:
    """Return the draft version to edit, starting one from the newest version if needed."""
    listing.status = transition(listing, ReviewAction.EDIT)
    latest = latest_version(listing)
    if latest.review_status == ReviewStatus.DRAFT:
        return latest
    draft = ListingVersion(version=latest.version + 1, created_at=clock.now())
    for field in COPIED_FIELDS:
        value = getattr(latest, field)
        setattr(draft, field, list(value) if isinstance(value, list) else value)
    listing.versions.append(draft)
    session.flush()
    return draft


def _check_slug_free(
    session: Session, problems: Problems, vendor_id: int, slug: str, *, sandbox: bool
) -> None:
    stmt = sa.select(Listing.id).where(
        Listing.vendor_id == vendor_id, Listing.sandbox.is_(sandbox), Listing.slug == slug
    )
    if slug and session.scalar(stmt) is not None:
        problems.add("slug", _("You already have a listing with this slug."))


def audit_and_announce(
    session: Session,
    clock: Clock,
    actor: Actor,
    event: str,
    listing: Listing,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write the audit entry and the outbox event of a change to a listing."""
    version = latest_version(listing)
    record(
        session,
        clock,
        actor,
        event,
        ("listing", listing.id),
        before=before,
        after=after,
        subject_org_id=listing.vendor_id,
    )
    payload = {
        "listing_id": listing.id,
        "slug": listing.slug,
        "status": listing.status,
        "version": version.version,
        "sandbox": listing.sandbox,
        **(extra or {}),
    }
    record_event(
        session,
        clock,
        type=event,
        organization_id=listing.vendor_id,
        aggregate=("listing", listing.id),
        payload=payload,
    )


def create_listing(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    content: Mapping[str, Any],
    *,
    sandbox: bool = False,
) -> Listing:
    """Create a draft listing (live, or sandbox) with its first version from a slug and content."""
    vendor_org(session, vendor_id)
    problems = Problems()
    fields = dict(content)
    slug = check_slug(problems, fields.pop("slug", None))
    _check_slug_free(session, problems, vendor_id, slug, sandbox=sandbox)
    for field in REQUIRED_ON_CREATE:
        if field not in fields:
            fields[field] = None
    cleaned = clean_content(session, problems, fields)
    problems.raise_any()
    now = clock.now()
    version = ListingVersion(version=1, created_at=now)
    apply_content(version, cleaned)
    listing = Listing(
        vendor_id=vendor_id,
        slug=slug,
        status=ListingStatus.DRAFT,
        sandbox=sandbox,
        created_at=now,
        updated_at=now,
    )
    listing.versions.append(version)
    session.add(listing)
    session.flush()
    audit_and_announce(session, clock, actor, "listing.created", listing, after=content_of(version))
    session.commit()
    return listing


def update_draft(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    listing_id: int,
    changes: Mapping[str, Any],
    *,
    sandbox: bool = False,
) -> ListingVersion:
    """Change content fields of the listing's draft (a new draft when none is open)."""
    vendor_org(session, vendor_id)
    listing = listing_of(session, vendor_id, listing_id, sandbox=sandbox, for_update=True)
    problems = Problems()
    cleaned = clean_content(session, problems, changes)
    if not changes:
        problems.add(
            "content", _("Change at least one of: %(fields)s.", fields=", ".join(CONTENT_FIELDS))
        )
    problems.raise_any()
    version = editable_version(session, clock, listing)
    before = content_of(version)
    apply_content(version, cleaned)
    listing.updated_at = clock.now()
    session.flush()
    audit_and_announce(
        session, clock, actor, "listing.updated", listing, before=before, after=content_of(version)
    )
    session.commit()
    return version


@dataclass(frozen=True)
class ListingSummary:
    """A vendor's listing with its newest version, for the vendor's own list."""

    listing: Listing
    latest: ListingVersion


def listing_summaries(session: Session, vendor_id: int) -> list[ListingSummary]:
    """Return the vendor's listings with their newest versions, newest listing first."""
    return [
        ListingSummary(listing, latest_version(listing))
        for listing in listings_of(session, vendor_id)
    ]
