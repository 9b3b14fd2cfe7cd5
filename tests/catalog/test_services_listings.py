"""Creating listings and editing their drafts: checks, audit entries and outbox events."""

from __future__ import annotations

from typing import Any

import pytest
from flask_babel import force_locale
from sqlalchemy.orm import Session

from catalog.models import Listing, ListingStatus, ListingVersion, ReviewStatus
from catalog.services import listings
from marketplace.audit.models import AuditEntry
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.events.models import OutboxEvent
from marketplace.orgs.models import OrgKind
from tests.catalog.workflow import (
    audit,
    content,
    count,
    events,
    make_operator,
    make_vendor,
    published,
    submitted,
)
from tests.factories import make_org


def test_a_vendor_creates_a_draft_listing_with_its_first_version(
    session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()

    listing = listings.create_listing(session, clock, vendor.actor, vendor.org.id, content())

    assert listing.status == ListingStatus.DRAFT
    assert listing.vendor_id == vendor.org.id and listing.slug == "cloud-ledger"
    (version,) = listing.versions
    assert version.version == 1 and version.review_status == ReviewStatus.DRAFT
    assert version.name_zh == "云账本"
    assert version.layer_category is not None and version.layer_category.code == "saas"
    assert [c.code for c in version.business_categories] == ["finance"]
    assert version.sso_redirect_uris == [
        "https://app.ledger.example/callback",
        "http://localhost:8000/cb",
    ]


def test_creating_a_listing_writes_its_audit_entry_and_event_in_the_same_commit(
    session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()

    listing = listings.create_listing(session, clock, vendor.actor, vendor.org.id, content())
    session.expire_all()

    (entry,) = audit(session, "listing.created")
    (event,) = events(session, "listing.created")
    assert entry.target_id == str(listing.id) and entry.subject_org_id == vendor.org.id
    assert entry.after is not None and entry.after["name_en"] == "Cloud Ledger"
    assert event.organization_id == vendor.org.id
    assert (event.aggregate_type, event.aggregate_id) == ("listing", str(listing.id))
    assert event.payload["slug"] == "cloud-ledger" and event.delivered_at is None
    assert event.created_at == clock.now() and event.attempts == 0


BAD_CONTENT: list[tuple[dict[str, Any], str]] = [
    ({"slug": "ab"}, "slug"),
    ({"slug": "Cloud_Ledger"}, "slug"),
    ({"slug": "x" * 61}, "slug"),
    ({"name_zh": "云"}, "name_zh"),
    ({"name_en": "x" * 101}, "name_en"),
    ({"name_en": None}, "name_en"),
    ({"summary_en": "x" * 501}, "summary_en"),
    ({"layer_category": "finance"}, "layer_category"),
    ({"layer_category": None}, "layer_category"),
    ({"business_categories": ["saas"]}, "business_categories"),
    ({"business_categories": ["no-such-category"]}, "business_categories"),
    ({"business_categories": "finance"}, "business_categories"),
    ({"logo_url": "ftp://ledger.example/logo.png"}, "logo_url"),
    ({"screenshots": ["javascript:alert(1)"]}, "screenshots[0]"),
    ({"screenshots": "https://ledger.example/1.png"}, "screenshots"),
    ({"launch_url": "http://app.ledger.example/"}, "launch_url"),
    ({"sso_redirect_uris": ["http://app.ledger.example/cb"]}, "sso_redirect_uris[0]"),
    ({"sso_redirect_uris": ["not a url"]}, "sso_redirect_uris[0]"),
    ({"support_email": "not-an-email"}, "support_email"),
    ({"support_phone": "call us"}, "support_phone"),
    ({"colour": "blue"}, "colour"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_CONTENT)
def test_bad_content_is_refused_naming_the_field_and_nothing_is_saved(
    session: Session, clock: FrozenClock, changes: dict[str, Any], field: str
) -> None:
    vendor = make_vendor()

    with pytest.raises(ValidationFailed) as refused:
        listings.create_listing(session, clock, vendor.actor, vendor.org.id, content(**changes))

    assert field in refused.value.errors
    assert refused.value.errors[field][0]
    assert count(session, Listing) == count(session, ListingVersion) == 0
    assert count(session, AuditEntry) == count(session, OutboxEvent) == 0


def test_plain_http_is_allowed_for_a_launch_url_on_localhost(
    session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()

    listing = listings.create_listing(
        session, clock, vendor.actor, vendor.org.id, content(launch_url="http://127.0.0.1:5000/")
    )

    assert listing.versions[0].launch_url == "http://127.0.0.1:5000/"


def test_a_slug_is_unique_per_vendor_but_two_vendors_may_share_it(
    session: Session, clock: FrozenClock
) -> None:
    first, second = make_vendor(), make_vendor()
    listings.create_listing(session, clock, first.actor, first.org.id, content())

    with pytest.raises(ValidationFailed) as refused:
        listings.create_listing(session, clock, first.actor, first.org.id, content())
    other = listings.create_listing(session, clock, second.actor, second.org.id, content())

    assert "slug" in refused.value.errors
    assert other.slug == "cloud-ledger"


def test_only_a_vendor_creates_listings(session: Session, clock: FrozenClock) -> None:
    vendor = make_vendor()
    firm = make_org(OrgKind.SME)

    with pytest.raises(NotFound):
        listings.create_listing(session, clock, vendor.actor, firm.id, content())


def test_editing_a_draft_changes_it_in_place(session: Session, clock: FrozenClock) -> None:
    vendor = make_vendor()
    listing = listings.create_listing(session, clock, vendor.actor, vendor.org.id, content())

    version = listings.update_draft(
        session, clock, vendor.actor, vendor.org.id, listing.id, {"name_en": "Ledger Cloud"}
    )

    assert version.version == 1 and version.name_en == "Ledger Cloud"
    (entry,) = audit(session, "listing.updated")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["name_en"], entry.after["name_en"]) == ("Cloud Ledger", "Ledger Cloud")
    assert len(events(session, "listing.updated")) == 1


def test_editing_a_published_listing_starts_a_new_draft_copied_from_it(
    session: Session, clock: FrozenClock
) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = published(session, clock, vendor, operator)

    version = listings.update_draft(
        session, clock, vendor.actor, vendor.org.id, listing.id, {"summary_en": "Now with tax"}
    )

    assert version.version == 2 and version.review_status == ReviewStatus.DRAFT
    assert version.summary_en == "Now with tax" and version.name_zh == "云账本"
    assert [c.code for c in version.business_categories] == ["finance"]
    assert listing.status == ListingStatus.PUBLISHED
    assert listing.versions[0].summary_en == "Online bookkeeping for small firms"


def test_a_listing_in_review_cannot_be_edited(session: Session, clock: FrozenClock) -> None:
    vendor = make_vendor()
    listing = submitted(session, clock, vendor)

    with english(), pytest.raises(Conflict, match="cannot be edited while it is in review"):
        listings.update_draft(
            session, clock, vendor.actor, vendor.org.id, listing.id, {"name_en": "Other"}
        )


def test_a_bad_edit_changes_nothing(session: Session, clock: FrozenClock) -> None:
    vendor = make_vendor()
    listing = listings.create_listing(session, clock, vendor.actor, vendor.org.id, content())
    before = (count(session, AuditEntry), count(session, OutboxEvent))

    with pytest.raises(ValidationFailed) as refused:
        listings.update_draft(
            session, clock, vendor.actor, vendor.org.id, listing.id, {"launch_url": "ftp://x"}
        )
    session.expire_all()

    assert "launch_url" in refused.value.errors
    assert listing.versions[0].launch_url == "https://app.ledger.example/"
    assert (count(session, AuditEntry), count(session, OutboxEvent)) == before


def test_an_edit_with_no_fields_is_refused(session: Session, clock: FrozenClock) -> None:
    vendor = make_vendor()
    listing = listings.create_listing(session, clock, vendor.actor, vendor.org.id, content())

    with pytest.raises(ValidationFailed) as refused:
        listings.update_draft(session, clock, vendor.actor, vendor.org.id, listing.id, {})

    assert "content" in refused.value.errors


def test_another_vendors_listing_is_not_found(session: Session, clock: FrozenClock) -> None:
    owner, other = make_vendor(), make_vendor()
    listing = listings.create_listing(session, clock, owner.actor, owner.org.id, content())

    with pytest.raises(NotFound):
        listings.listing_of(session, other.org.id, listing.id)
    with pytest.raises(NotFound):
        listings.update_draft(
            session, clock, other.actor, other.org.id, listing.id, {"name_en": "Mine now"}
        )
    assert listings.listings_of(session, other.org.id) == []
    assert listings.listings_of(session, owner.org.id) == [listing]


def english() -> Any:
    """Answer messages in English, whatever the default locale, to compare their wording."""
    return force_locale("en")
