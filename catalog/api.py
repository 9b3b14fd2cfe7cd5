"""The vendor catalog API: a vendor's own listings and plans, and their way through review.

Every endpoint acts for the organization of the calling API client; another vendor's
listing is answered as if it did not exist. So is a listing of the other mode: a sandbox
client makes and sees only sandbox listings, which submitting publishes at once (they never
reach the storefront), and a live client only live ones. Creating requests honour
Idempotency-Key.
"""

from __future__ import annotations

from typing import Any

from catalog.api_paths import known_listing_id, known_plan_code
from catalog.models import Listing, Plan
from catalog.schemas import (
    ListingCreateSchema,
    ListingItemSchema,
    ListingPageSchema,
    ListingQuerySchema,
    ListingSchema,
    ListingUpdateSchema,
    PlanCreateSchema,
    PlanSchema,
    PlanTermsSchema,
    listing_data,
    listing_item_data,
    plan_data,
)
from catalog.services.listing_pages import listing_page
from catalog.services.listings import create_listing, listing_of, update_draft
from catalog.services.plans import add_plan, revise_plan
from catalog.services.review import delist, submit_for_review
from marketplace.api import (
    api_blueprint,
    calling_vendor,
    load_body,
    load_query,
    require_token,
)
from marketplace.clock import current_clock
from marketplace.extensions import db
from marketplace.idempotency import idempotent
from marketplace.openapi import documented
from marketplace.pagination import page_body, requested_page

bp = api_blueprint("catalog_api", __name__)
TAGS = ["listings"]
READ, WRITE = "catalog:read", "catalog:write"
Answer = tuple[dict[str, Any], int]


def _listing(listing: Listing) -> dict[str, Any]:
    dumped: dict[str, Any] = ListingSchema().dump(listing_data(listing))
    return dumped


def _plan(plan: Plan) -> dict[str, Any]:
    dumped: dict[str, Any] = PlanSchema().dump(plan_data(plan))
    return dumped


@bp.get("/listings")
@documented(response=ListingPageSchema, query=ListingQuerySchema, tags=TAGS)
@require_token(READ)
def list_listings() -> dict[str, Any]:
    """List the calling vendor's listings, oldest first, a page at a time."""
    query = load_query(ListingQuerySchema())
    vendor = calling_vendor()
    page = listing_page(
        db.session(), vendor.id, requested_page(), query["status"], sandbox=vendor.sandbox
    )
    items = ListingItemSchema(many=True).dump([listing_item_data(item) for item in page.items])
    return page_body(items, page.next_key)


@bp.post("/listings")
@documented(response=ListingSchema, status=201, body=ListingCreateSchema, errors=[409], tags=TAGS)
@require_token(WRITE)
@idempotent
def create_listing_draft() -> Answer:
    """Create a listing as a draft with its first content."""
    content = load_body(ListingCreateSchema())
    vendor = calling_vendor()
    listing = create_listing(
        db.session(), current_clock(), vendor.actor, vendor.id, content, sandbox=vendor.sandbox
    )
    return _listing(listing), 201


@bp.get("/listings/<int:listing_id>")
@documented(response=ListingSchema, errors=[404], tags=TAGS)
@require_token(READ)
def show_listing(listing_id: int) -> dict[str, Any]:
    """Show a listing: its status, the operator's reason if rejected, its versions and plans."""
    vendor = calling_vendor()
    return _listing(
        listing_of(db.session(), vendor.id, known_listing_id(listing_id), sandbox=vendor.sandbox)
    )


@bp.patch("/listings/<int:listing_id>")
@documented(response=ListingSchema, body=ListingUpdateSchema, errors=[404, 409], tags=TAGS)
@require_token(WRITE)
def update_listing_draft(listing_id: int) -> dict[str, Any]:
    """Change content fields of the listing's draft; a published listing gets a new draft."""
    changes = load_body(ListingUpdateSchema())
    vendor = calling_vendor()
    version = update_draft(
        db.session(),
        current_clock(),
        vendor.actor,
        vendor.id,
        known_listing_id(listing_id),
        changes,
        sandbox=vendor.sandbox,
    )
    return _listing(version.listing)


@bp.post("/listings/<int:listing_id>/plans")
@documented(response=PlanSchema, status=201, body=PlanCreateSchema, errors=[404, 409], tags=TAGS)
@require_token(WRITE)
@idempotent
def add_listing_plan(listing_id: int) -> Answer:
    """Add a draft plan with its price components to the listing."""
    terms = load_body(PlanCreateSchema())
    vendor = calling_vendor()
    plan = add_plan(
        db.session(),
        current_clock(),
        vendor.actor,
        vendor.id,
        known_listing_id(listing_id),
        terms,
        sandbox=vendor.sandbox,
    )
    return _plan(plan), 201


@bp.put("/listings/<int:listing_id>/plans/<code>")
@documented(response=PlanSchema, body=PlanTermsSchema, errors=[404, 409], tags=TAGS)
@require_token(WRITE)
def revise_listing_plan(listing_id: int, code: str) -> dict[str, Any]:
    """Replace a plan's terms: a draft plan in place, a published plan as its next version."""
    terms = load_body(PlanTermsSchema())
    vendor = calling_vendor()
    plan = revise_plan(
        db.session(),
        current_clock(),
        vendor.actor,
        vendor.id,
        known_listing_id(listing_id),
        known_plan_code(code),
        terms,
        sandbox=vendor.sandbox,
    )
    return _plan(plan)


@bp.post("/listings/<int:listing_id>/submit")
@documented(response=ListingSchema, errors=[404, 409, 422], tags=TAGS)
@require_token(WRITE)
@idempotent
def submit_listing(listing_id: int) -> dict[str, Any]:
    """Send the listing's draft to the operator for review; it needs a service layer and a plan.

    A sandbox client's listing needs no operator: submitting it publishes it at once.
    """
    vendor = calling_vendor()
    listing = submit_for_review(
        db.session(),
        current_clock(),
        vendor.actor,
        vendor.id,
        known_listing_id(listing_id),
        sandbox=vendor.sandbox,
        client_id=vendor.client_id,
    )
    return _listing(listing)


@bp.post("/listings/<int:listing_id>/delist")
@documented(response=ListingSchema, errors=[404, 409], tags=TAGS)
@require_token(WRITE)
def delist_listing(listing_id: int) -> dict[str, Any]:
    """Take the vendor's published listing off the storefront."""
    vendor = calling_vendor()
    listing = delist(
        db.session(),
        current_clock(),
        vendor.actor,
        vendor.id,
        known_listing_id(listing_id),
        sandbox=vendor.sandbox,
    )
    return _listing(listing)
