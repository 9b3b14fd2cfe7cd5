"""Helpers of the catalog tests: vendors' listings, plans, and plans saved from a price."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from catalog.models import Listing, Plan, PlanStatus, PriceComponent, PriceTier
from catalog.pricing import FlatFee, MeteredPrice, PlanPrice, SeatFee
from catalog.pricing import PriceComponent as ComponentPrice
from marketplace.extensions import db
from marketplace.orgs.models import Organization, OrgKind
from tests.factories import make_org

NOW = datetime(2026, 3, 1, tzinfo=UTC)
_serial = itertools.count(1)


def make_listing(vendor: Organization | None = None, **fields: object) -> Listing:
    """Add a draft listing of a vendor (a new vendor unless given)."""
    vendor = vendor or make_org(OrgKind.VENDOR)
    listing = Listing(
        vendor_id=vendor.id,
        slug=str(fields.pop("slug", f"app-{next(_serial)}")),
        created_at=NOW,
        updated_at=NOW,
        **fields,
    )
    db.session.add(listing)
    db.session.flush()
    return listing


def make_plan(
    listing: Listing | None = None,
    components: list[PriceComponent] | None = None,
    **fields: object,
) -> Plan:
    """Add a draft plan to a listing (a new listing unless given) with components."""
    listing = listing or make_listing()
    plan = Plan(
        listing_id=listing.id,
        code=str(fields.pop("code", f"plan-{next(_serial)}")),
        name_zh=str(fields.pop("name_zh", "标准版")),
        status=fields.pop("status", PlanStatus.DRAFT),
        created_at=NOW,
        components=components or [],
        **fields,
    )
    db.session.add(plan)
    db.session.flush()
    return plan


def component_row(price: ComponentPrice, position: int) -> PriceComponent:
    """Return the model row that stores one component of a price structure."""
    if isinstance(price, FlatFee):
        return PriceComponent(position=position, kind="flat", amount_fen=price.amount_fen)
    if isinstance(price, SeatFee):
        return PriceComponent(
            position=position,
            kind="seat",
            unit_amount_fen=price.unit_fen,
            min_seats=price.min_seats,
            max_seats=price.max_seats,
        )
    return _metered_row(price, position)


def _metered_row(price: MeteredPrice, position: int) -> PriceComponent:
    return PriceComponent(
        position=position,
        kind="metered",
        dimension=price.dimension,
        unit_name_zh="次",
        unit_name_en="call",
        aggregation=price.aggregation,
        model=price.model,
        unit_amount_fen=price.unit_fen,
        package_size=price.package_size,
        package_amount_fen=price.package_fen,
        included_quantity=price.included_quantity,
        tiers=[
            PriceTier(
                position=n,
                up_to=tier.up_to,
                unit_amount_fen=tier.unit_fen,
                flat_amount_fen=tier.flat_fen,
            )
            for n, tier in enumerate(price.tiers)
        ],
    )


def save_plan_price(price: PlanPrice, listing: Listing | None = None) -> Plan:
    """Store a price structure as a published plan with its components and tiers."""
    rows = [component_row(component, n) for n, component in enumerate(price.components)]
    return make_plan(listing, rows, status=PlanStatus.PUBLISHED, published_at=NOW)
