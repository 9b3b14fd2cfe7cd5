"""Published listings for the storefront tests, built straight from the models."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa

from catalog.models import Category, Listing, ListingVersion
from catalog.pricing import Aggregation, FlatFee, MeteredPrice, PlanPrice, PriceModel, SeatFee, Tier
from marketplace.extensions import db
from marketplace.orgs.models import Organization, OrgKind
from tests.catalog.conftest import NOW, make_listing, save_plan_price
from tests.factories import make_org

# ¥99 a month, 3 to 20 seats at ¥30, API calls by graduated tiers, SMS by the 1,000.
TEAM_PRICE = PlanPrice(
    (
        FlatFee(9900),
        SeatFee(3000, 3, 20),
        MeteredPrice(
            "api_calls",
            Aggregation.SUM,
            PriceModel.GRADUATED,
            tiers=(Tier(Decimal(1000), 10), Tier(None, 5)),
            included_quantity=Decimal(100),
        ),
        MeteredPrice(
            "sms", Aggregation.SUM, PriceModel.PACKAGE, package_size=1000, package_fen=4500
        ),
    )
)


def category(code: str) -> Category:
    """Return a seeded category by its code."""
    return db.session.scalars(sa.select(Category).where(Category.code == code)).one()


def add_version(
    listing: Listing,
    version: int = 1,
    *,
    review_status: str = "approved",
    categories: tuple[str, ...] = (),
    **fields: object,
) -> ListingVersion:
    """Add a version of a listing's content, approved and published unless told otherwise."""
    published_at = fields.pop("published_at", NOW)
    row = ListingVersion(
        listing_id=listing.id,
        version=version,
        name_zh=str(fields.pop("name_zh", f"应用 {listing.slug}")),
        layer_category=category(str(fields.pop("layer", "saas"))),
        business_categories=[category(code) for code in categories],
        review_status=review_status,
        created_at=NOW,
        submitted_at=NOW,
        published_at=published_at if review_status == "approved" else None,
        **fields,
    )
    db.session.add(row)
    db.session.flush()
    return row


def publish_listing(
    vendor: Organization | None = None,
    *,
    slug: str | None = None,
    status: str = "published",
    age_days: int = 0,
    price: PlanPrice | None = None,
    sandbox: bool = False,
    rejection_reason: str | None = None,
    **fields: object,
) -> Listing:
    """Add a listing with one approved version and one published plan (flat ¥10 unless given)."""
    vendor = vendor or make_org(OrgKind.VENDOR)
    extra: dict[str, object] = {"slug": slug} if slug else {}
    listing = make_listing(
        vendor, status=status, sandbox=sandbox, rejection_reason=rejection_reason, **extra
    )
    published_at: datetime = NOW - timedelta(days=age_days)
    add_version(listing, published_at=published_at, **fields)
    save_plan_price(price or PlanPrice((FlatFee(1000),)), listing)
    return listing
