"""Demo catalog for `make run`: published listings of the demo vendors, every price model."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.demo_listings import demo_listings
from catalog.demo_specs import DemoListing, DemoPlan
from catalog.models import (
    Category,
    Listing,
    ListingStatus,
    ListingVersion,
    Plan,
    PlanStatus,
    ReviewStatus,
)
from marketplace.clock import Clock
from marketplace.orgs.models import Organization, OrgKind


def _vendor_ids(session: Session) -> dict[str, int]:
    rows = session.execute(
        sa.select(Organization.name, Organization.id).where(Organization.kind == OrgKind.VENDOR)
    )
    return {name: org_id for name, org_id in rows}


def _plan(spec: DemoPlan, clock: Clock) -> Plan:
    for position, component in enumerate(spec.components):
        component.position = position
    return Plan(
        code=spec.code,
        version=1,
        name_zh=spec.name_zh,
        name_en=spec.name_en,
        billing_interval=spec.interval,
        trial_days=spec.trial_days,
        status=PlanStatus.PUBLISHED,
        created_at=clock.now(),
        published_at=clock.now(),
        components=list(spec.components),
    )


def _listing(
    spec: DemoListing, vendor_id: int, categories: dict[str, Category], clock: Clock, age: int
) -> Listing:
    published = clock.now() - timedelta(days=age)
    version = ListingVersion(
        version=1,
        name_zh=spec.name_zh,
        name_en=spec.name_en,
        summary_zh=spec.summary_zh,
        summary_en=spec.summary_en,
        description_md=spec.description_md,
        layer_category=categories[spec.layer],
        business_categories=[categories[code] for code in spec.categories],
        screenshots=list(spec.screenshots),
        support_email=f"support+{spec.slug}@vendors.yunshi.example",
        support_phone=spec.support_phone,
        launch_url=f"https://{spec.slug}.apps.yunshi.example/",
        review_status=ReviewStatus.APPROVED,
        created_at=published,
        submitted_at=published,
        published_at=published,
    )
    return Listing(
        vendor_id=vendor_id,
        slug=spec.slug,
        status=ListingStatus.PUBLISHED,
        created_at=published,
        updated_at=published,
        versions=[version],
        plans=[_plan(plan, clock) for plan in spec.plans],
    )


def load_catalog_demo(session: Session, clock: Clock) -> None:
    """Publish the demo listings of the demo vendors that exist (skip the others)."""
    vendors = _vendor_ids(session)
    categories = {c.code: c for c in session.scalars(sa.select(Category))}
    for age, spec in enumerate(demo_listings()):
        vendor_id = vendors.get(spec.vendor)
        if vendor_id is not None:
            session.add(_listing(spec, vendor_id, categories, clock, age))
    session.commit()
