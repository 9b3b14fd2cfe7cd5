"""Read the public storefront: published listings, their current versions and plans on sale.

A listing shows on the storefront while it is published, its vendor is active and it is no
sandbox listing. What it shows is its newest approved version; a newer version still in
review stays out of sight. Of each plan code, the newest version that left draft counts: it
is shown while published, and a retired newest version takes the whole code off sale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, joinedload, selectinload

from catalog.models import (
    BillingInterval,
    Category,
    Listing,
    ListingStatus,
    ListingVersion,
    Plan,
    PlanStatus,
    PriceComponent,
    ReviewStatus,
)
from catalog.plans import plan_price
from catalog.pricing import ComponentKind, PlanPrice, PriceModel, quote
from catalog.search import LIKE_ESCAPE, clean_query, like_pattern, page_count
from marketplace.errors import NotFound
from marketplace.orgs.models import Organization, OrgKind, OrgStatus

PAGE_SIZE = 24
SORTS = ("name", "newest")
# The price models a visitor may filter by: a component kind, or how a meter is priced.
PRICE_MODELS = (
    ComponentKind.FLAT,
    ComponentKind.SEAT,
    PriceModel.PER_UNIT,
    PriceModel.GRADUATED,
    PriceModel.VOLUME,
    PriceModel.PACKAGE,
)
MONTHS_PER_YEAR = 12
# Deeper pages are rendered every time: a crawler walking page numbers fills no cache.
MAX_CACHED_PAGE = 50


@dataclass(frozen=True)
class BrowseQuery:
    """What a visitor asked the storefront for."""

    q: str = ""
    category: str = ""
    sort: str = "name"
    page: int = 1
    language: str = "zh_CN"
    model: str = ""


@dataclass(frozen=True)
class PlanOffer:
    """A plan on sale, its price structure and its lowest price per billing period."""

    plan: Plan
    price: PlanPrice
    starting_fen: int

    @property
    def monthly_fen(self) -> Decimal:
        """Return the lowest price spread over a month, to compare plans of any interval."""
        months = MONTHS_PER_YEAR if self.plan.billing_interval == BillingInterval.YEAR else 1
        return Decimal(self.starting_fen) / months

    @property
    def seat_component(self) -> PriceComponent | None:
        """Return the plan's seat fee, if it sells seats."""
        return next((c for c in self.plan.components if c.kind == ComponentKind.SEAT), None)

    @property
    def fewest_seats(self) -> int:
        """Return the fewest seats the plan sells (0 when it sells none)."""
        seat = self.seat_component
        return seat.min_seats or 0 if seat else 0

    @property
    def meters_usage(self) -> bool:
        """Tell whether the plan charges for metered usage."""
        return bool(self.price.metered)

    def component(self, kind: str, dimension: str | None = None) -> PriceComponent | None:
        """Return the plan's component of a kind (and metered dimension), if any."""
        for component in self.plan.components:
            if component.kind == kind and (dimension is None or component.dimension == dimension):
                return component
        return None


@dataclass(frozen=True)
class ListingCard:
    """One listing in the browse results, with the cheapest plan's lowest price."""

    version: ListingVersion
    cheapest: PlanOffer | None

    @property
    def listing(self) -> Listing:
        """Return the listing the card shows."""
        return self.version.listing


@dataclass(frozen=True)
class BrowsePage:
    """One page of browse results and what the filters offer."""

    query: BrowseQuery
    cards: list[ListingCard]
    total: int
    pages: int
    categories: list[Category]
    model_ignored: bool = False


@dataclass(frozen=True)
class VendorPage:
    """A vendor's public page: the vendor and its services on the storefront."""

    vendor: Organization
    cards: list[ListingCard]


def storefront_versions() -> sa.Select[ListingVersion]:
    """Select the current version of every listing on the storefront."""
    current = (
        sa.select(ListingVersion.listing_id, sa.func.max(ListingVersion.version).label("version"))
        .where(ListingVersion.review_status == ReviewStatus.APPROVED)
        .group_by(ListingVersion.listing_id)
        .subquery()
    )
    return (
        sa.select(ListingVersion)
        .join(
            current,
            sa.and_(
                ListingVersion.listing_id == current.c.listing_id,
                ListingVersion.version == current.c.version,
            ),
        )
        .join(Listing, Listing.id == ListingVersion.listing_id)
        .join(Organization, Organization.id == Listing.vendor_id)
        .where(
            Listing.status == ListingStatus.PUBLISHED,
            Listing.sandbox.is_(False),
            Organization.status == OrgStatus.ACTIVE,
        )
        .options(
            # The listing and its vendor are joined already: load them from the same rows.
            contains_eager(ListingVersion.listing).contains_eager(Listing.vendor),
            joinedload(ListingVersion.layer_category),
            selectinload(ListingVersion.business_categories),
        )
    )


def _on_sale(statement: sa.Select[Any], listing_ids: list[int] | None = None) -> sa.Select[Any]:
    """Narrow a select over plans to the plans on sale (of the given listings only)."""
    newest = sa.select(Plan.listing_id, Plan.code, sa.func.max(Plan.version).label("version"))
    newest = newest.where(Plan.status != PlanStatus.DRAFT)
    if listing_ids is not None:
        newest = newest.where(Plan.listing_id.in_(listing_ids))
    latest = newest.group_by(Plan.listing_id, Plan.code).subquery()
    return statement.join(
        latest,
        sa.and_(
            Plan.listing_id == latest.c.listing_id,
            Plan.code == latest.c.code,
            Plan.version == latest.c.version,
        ),
    ).where(Plan.status == PlanStatus.PUBLISHED)


def plans_on_sale(session: Session, listing_ids: Iterable[int]) -> dict[int, list[PlanOffer]]:
    """Return each listing's plans on sale, cheapest first."""
    ids = list(listing_ids)
    plans = session.scalars(
        _on_sale(sa.select(Plan), ids)
        .options(selectinload(Plan.components).joinedload(PriceComponent.tiers))
        .order_by(Plan.id)
    )
    offers: dict[int, list[PlanOffer]] = {listing_id: [] for listing_id in ids}
    for plan in plans:
        offers[plan.listing_id].append(plan_offer(plan))
    for listed in offers.values():
        listed.sort(key=lambda offer: (offer.monthly_fen, offer.plan.code))
    return offers


def plan_offer(plan: Plan) -> PlanOffer:
    """Price a plan at its fewest seats and no usage: the lowest it bills a period."""
    price = plan_price(plan)
    seats = next((c.min_seats or 0 for c in plan.components if c.kind == ComponentKind.SEAT), 0)
    return PlanOffer(plan, price, quote(price, seats).total_fen)


def _name_order(language: str) -> sa.ColumnElement[str] | sa.orm.InstrumentedAttribute[str]:
    if language == "en":
        return sa.func.coalesce(sa.func.nullif(ListingVersion.name_en, ""), ListingVersion.name_zh)
    return ListingVersion.name_zh


def _filtered(query: BrowseQuery) -> sa.Select[ListingVersion]:
    statement = storefront_versions()
    if query.category:
        statement = statement.where(
            sa.or_(
                ListingVersion.layer_category.has(Category.code == query.category),
                ListingVersion.business_categories.any(Category.code == query.category),
            )
        )
    if query.q:
        statement = statement.where(_matches_text(like_pattern(query.q)))
    if query.model:
        statement = statement.where(Listing.id.in_(_listings_priced_by(query.model)))
    return statement


SEARCHED_TEXTS = (
    ListingVersion.name_zh,
    ListingVersion.name_en,
    ListingVersion.summary_zh,
    ListingVersion.summary_en,
)


def _matches_text(pattern: str) -> sa.ColumnElement[bool]:
    """Match a LIKE pattern in a version's names and summaries, or its vendor's name.

    Each side is its own subquery on one table so PostgreSQL can serve it from the trigram
    indexes (migration 0007); one OR across the join would be checked row by row.
    """
    versions = sa.select(ListingVersion.id).where(
        sa.or_(*(column.ilike(pattern, escape=LIKE_ESCAPE) for column in SEARCHED_TEXTS))
    )
    vendors = sa.select(Organization.id).where(Organization.name.ilike(pattern, escape=LIKE_ESCAPE))
    return sa.or_(ListingVersion.id.in_(versions), Listing.vendor_id.in_(vendors))


def _listings_priced_by(model: str) -> sa.Select[Any]:
    """Select the ids of listings with a plan on sale that has a component of a price model."""
    if model in (ComponentKind.FLAT, ComponentKind.SEAT):
        matches = PriceComponent.kind == model
    else:
        matches = sa.and_(
            PriceComponent.kind == ComponentKind.METERED, PriceComponent.model == model
        )
    plans = sa.select(Plan.listing_id).join(PriceComponent, PriceComponent.plan_id == Plan.id)
    return _on_sale(plans).where(matches)


def _ordered(statement: sa.Select[ListingVersion], query: BrowseQuery) -> sa.Select[ListingVersion]:
    if query.sort == "newest":
        return statement.order_by(ListingVersion.published_at.desc(), Listing.id.desc())
    return statement.order_by(_name_order(query.language), Listing.id)


def normalized(query: BrowseQuery) -> BrowseQuery:
    """Return the query with a clean search text, a known sort and a positive page."""
    return BrowseQuery(
        q=clean_query(query.q),
        category=query.category.strip()[:40],
        sort=query.sort if query.sort in SORTS else "name",
        page=max(query.page, 1),
        language=query.language,
        model=query.model if query.model in PRICE_MODELS else "",
    )


def browse_cache_arguments(query: BrowseQuery) -> dict[str, object] | None:
    """Return what a browse page's content depends on, or None past the pages worth caching."""
    clean = normalized(query)
    if clean.page > MAX_CACHED_PAGE:
        return None
    model_ignored = bool(query.model.strip()) and query.model not in PRICE_MODELS
    return {**asdict(clean), "model_ignored": model_ignored}


def browse(session: Session, query: BrowseQuery) -> BrowsePage:
    """Return one page of storefront listings matching a category and search text."""
    # An unknown price model is dropped rather than refused, and the page says so.
    model_ignored = bool(query.model.strip()) and query.model not in PRICE_MODELS
    query = normalized(query)
    statement = _filtered(query)
    total = session.scalar(sa.select(sa.func.count()).select_from(statement.subquery())) or 0
    pages = page_count(total, PAGE_SIZE)
    query = replace(query, page=min(query.page, pages))
    versions = session.scalars(
        _ordered(statement, query).limit(PAGE_SIZE).offset((query.page - 1) * PAGE_SIZE)
    ).all()
    categories = session.scalars(sa.select(Category).order_by(Category.sort_order, Category.id))
    cards = _cards(session, versions)
    return BrowsePage(query, cards, total, pages, list(categories), model_ignored)


def _cards(session: Session, versions: Iterable[ListingVersion]) -> list[ListingCard]:
    """Return the cards of listing versions, each with its cheapest plan on sale."""
    versions = list(versions)
    offers = plans_on_sale(session, [v.listing_id for v in versions])
    return [
        ListingCard(v, offers[v.listing_id][0] if offers[v.listing_id] else None) for v in versions
    ]


def vendor_page(session: Session, vendor_id: int, language: str) -> VendorPage:
    """Return a vendor's services on the storefront; NotFound unless it has one on show."""
    versions = session.scalars(
        storefront_versions()
        .where(Listing.vendor_id == vendor_id, Organization.kind == OrgKind.VENDOR)
        .order_by(_name_order(language), Listing.id)
    ).all()
    if not versions:
        raise NotFound("No such vendor on the marketplace.")
    return VendorPage(versions[0].listing.vendor, _cards(session, versions))


def storefront_version(session: Session, vendor_id: int, slug: str) -> ListingVersion:
    """Return the current version of a listing on the storefront; NotFound otherwise."""
    version = session.scalars(
        storefront_versions().where(Listing.vendor_id == vendor_id, Listing.slug == slug)
    ).one_or_none()
    if version is None:
        raise NotFound("No such service on the marketplace.")
    return version
