"""The database keeps catalog rows whole: uniqueness, enums, non-negative money, seeds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.models import (
    Category,
    CategoryKind,
    Listing,
    ListingStatus,
    ListingVersion,
    Plan,
    PriceComponent,
    PriceTier,
    ReviewStatus,
)
from tests.catalog.conftest import NOW, make_listing, make_plan


@contextmanager
def refused(session: Session) -> Iterator[None]:
    """Expect the database to refuse what the block adds, and keep the session usable."""
    with pytest.raises(sa.exc.IntegrityError), session.begin_nested():
        yield
        session.flush()


def test_the_standard_categories_are_seeded(session: Session) -> None:
    rows = session.scalars(sa.select(Category).order_by(Category.sort_order)).all()
    layers = [c.code for c in rows if c.kind == CategoryKind.LAYER]
    assert layers == ["iaas", "paas", "saas"]
    names = {c.name_zh for c in rows if c.kind == CategoryKind.BUSINESS}
    assert {"财务", "人力资源", "客户关系", "生产制造", "电子商务", "安全", "协同办公"} <= names
    assert "数据分析" in names


def test_a_second_plan_row_with_the_same_code_and_version_is_refused(session: Session) -> None:
    plan = make_plan(code="team")
    with refused(session):
        make_plan(plan.listing, code="team", version=1)


def test_a_new_version_of_a_plan_shares_its_code(session: Session) -> None:
    plan = make_plan(code="team")
    newer = make_plan(plan.listing, code="team", version=2)
    assert (newer.code, newer.version) == ("team", 2)


def test_the_same_plan_code_may_be_used_by_another_listing(session: Session) -> None:
    make_plan(code="team")
    assert make_plan(code="team").code == "team"


def test_a_slug_is_unique_per_vendor_only(session: Session) -> None:
    listing = make_listing(slug="erp")
    assert make_listing(slug="erp").slug == "erp"
    with refused(session):
        make_listing(listing.vendor, slug="erp")


def test_a_rejection_needs_a_reason(session: Session) -> None:
    listing = make_listing()
    with refused(session):
        listing.status = ListingStatus.REJECTED
    listing.status = ListingStatus.REJECTED
    listing.rejection_reason = "Screenshots do not show the product."
    session.flush()


SEAT = {"kind": "seat", "unit_amount_fen": 100, "min_seats": 1}
METERED = {
    "kind": "metered",
    "dimension": "api_calls",
    "aggregation": "sum",
    "model": "per_unit",
    "unit_amount_fen": 2,
    "included_quantity": Decimal(0),
}
PACKAGE = {**METERED, "model": "package", "package_size": 1000, "package_amount_fen": 100}


def metered(**fields: object) -> PriceComponent:
    """Return a per-unit metered component."""
    return PriceComponent(**{**METERED, **fields})


def case(base: dict[str, object], **change: object) -> object:
    """Return a test case of a component built from base with some fields changed."""
    label = ", ".join(f"{key}={value}" for key, value in change.items())
    return pytest.param(base, change, id=f"{base.get('model', base['kind'])}: {label}")


FLAT = {"kind": "flat"}


@pytest.mark.parametrize(
    ("base", "change"),
    [
        case(FLAT, amount_fen=-1),
        case(FLAT, amount_fen=None),
        case(FLAT, kind="discount", amount_fen=100),
        case(SEAT, unit_amount_fen=-5),
        case(SEAT, unit_amount_fen=None),
        case(SEAT, min_seats=5, max_seats=4),
        case(SEAT, min_seats=-1),
        case(SEAT, min_seats=None),
        case(METERED, included_quantity=Decimal(-1)),
        case(METERED, included_quantity=None),
        case(METERED, unit_amount_fen=None),
        case(METERED, aggregation="average"),
        case(METERED, model="tiered"),
        case(METERED, dimension=None),
        case(PACKAGE, package_size=0),
        case(PACKAGE, package_amount_fen=None),
        case(PACKAGE, package_amount_fen=-1),
    ],
)
def test_an_inconsistent_or_negative_price_component_is_refused(
    session: Session, base: dict[str, object], change: dict[str, object]
) -> None:
    plan = make_plan()
    with refused(session):
        plan.components.append(PriceComponent(**{**base, **change}))


def test_one_dimension_is_priced_once_per_plan(session: Session) -> None:
    plan = make_plan(components=[metered(position=0)])
    with refused(session):
        plan.components.append(metered(position=1))


@pytest.mark.parametrize(
    "fields",
    [
        {"up_to": Decimal(0), "unit_amount_fen": 1},
        {"up_to": None, "unit_amount_fen": -1},
        {"up_to": None, "unit_amount_fen": 1, "flat_amount_fen": -1},
    ],
    ids=["zero bound", "negative unit price", "negative flat fee"],
)
def test_a_tier_with_a_bad_bound_or_negative_price_is_refused(
    session: Session, fields: dict[str, object]
) -> None:
    component = metered(model="graduated", unit_amount_fen=None)
    make_plan(components=[component])
    with refused(session):
        component.tiers.append(PriceTier(position=0, **fields))


@pytest.mark.parametrize(
    "fields",
    [
        {"trial_days": -1},
        {"billing_interval": "week"},
        {"currency": "YU"},
        {"status": "published", "published_at": None},
        {"status": "archived"},
        {"version": 0},
    ],
)
def test_a_plan_with_a_bad_field_is_refused(session: Session, fields: dict[str, object]) -> None:
    listing = make_listing()
    with refused(session):
        make_plan(listing, **fields)


def test_a_version_sent_to_review_needs_a_service_layer(session: Session) -> None:
    listing = make_listing()
    version = ListingVersion(listing_id=listing.id, version=1, name_zh="云进销存", created_at=NOW)
    session.add(version)
    session.flush()
    with refused(session):
        version.review_status = ReviewStatus.IN_REVIEW
    saas = session.scalars(sa.select(Category).where(Category.code == "saas")).one()
    version.layer_category_id = saas.id
    version.review_status = ReviewStatus.IN_REVIEW
    session.flush()


def test_a_listing_version_keeps_its_business_categories_and_lists(session: Session) -> None:
    listing = make_listing()
    by_code = {c.code: c for c in session.scalars(sa.select(Category))}
    version = ListingVersion(
        listing_id=listing.id,
        version=1,
        name_zh="云财务",
        layer_category_id=by_code["saas"].id,
        business_categories=[by_code["hr"], by_code["finance"]],
        screenshots=["https://example.com/1.png"],
        sso_redirect_uris=["https://app.example.com/callback"],
        created_at=NOW,
    )
    session.add(version)
    session.flush()
    session.expire_all()
    stored = session.get(ListingVersion, version.id)
    assert stored is not None
    assert [c.code for c in stored.business_categories] == ["finance", "hr"]
    assert stored.screenshots == ["https://example.com/1.png"]
    assert stored.sso_redirect_uris == ["https://app.example.com/callback"]
    assert session.get(Listing, listing.id).versions == [stored]  # type: ignore[union-attr]


def test_deleting_a_listing_takes_its_published_plans_components_and_tiers(
    session: Session,
) -> None:
    component = metered(model="graduated", unit_amount_fen=None)
    component.tiers = [PriceTier(position=0, up_to=None, unit_amount_fen=3)]
    plan = make_plan(components=[component], status="published", published_at=NOW)
    session.delete(plan.listing)
    session.flush()
    assert session.scalar(sa.select(sa.func.count()).select_from(PriceTier)) == 0
    assert session.get(Plan, plan.id) is None
