"""Gather what a storefront listing page shows: content, plans side by side, a quote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy.orm import Session

from catalog.calculator import Calculation, Dimension, calculate
from catalog.markdown import render_markdown
from catalog.models import ListingVersion
from catalog.pricing import ComponentKind
from catalog.storefront import PlanOffer, plans_on_sale, storefront_version

# A calculator query longer than this is priced every time rather than cached.
MAX_CACHED_VALUES_LENGTH = 1000


@dataclass(frozen=True)
class ListingPage:
    """A listing's current version, its plans on sale and the calculator's state."""

    version: ListingVersion
    description: Markup
    offers: list[PlanOffer]
    dimensions: list[Dimension]
    calculation: Calculation | None

    def has_kind(self, kind: str) -> bool:
        """Tell whether any plan on sale has a component of a kind."""
        return any(offer.component(kind) for offer in self.offers)


def metered_dimensions(offers: Sequence[PlanOffer]) -> list[Dimension]:
    """Return every dimension the plans meter, in the order they first appear."""
    found: dict[str, Dimension] = {}
    for offer in offers:
        for component in offer.plan.components:
            key = component.dimension
            if component.kind == ComponentKind.METERED and key and key not in found:
                found[key] = Dimension(
                    key, component.unit_name_zh or "", component.unit_name_en or ""
                )
    return list(found.values())


def listing_page(
    session: Session, vendor_id: int, slug: str, values: Mapping[str, str], language: str
) -> ListingPage:
    """Return a storefront listing's page, quoting a plan when the calculator was sent."""
    version = storefront_version(session, vendor_id, slug)
    offers = plans_on_sale(session, [version.listing_id])[version.listing_id]
    dimensions = metered_dimensions(offers)
    calculation = calculate(offers, dimensions, values, language) if "plan" in values else None
    return ListingPage(
        version, render_markdown(version.description_md), offers, dimensions, calculation
    )


def listing_cache_arguments(
    vendor_id: int, slug: str, values: Mapping[str, str]
) -> dict[str, object] | None:
    """Return what a listing page's content depends on, or None for an outsized calculator."""
    if sum(len(key) + len(value) for key, value in values.items()) > MAX_CACHED_VALUES_LENGTH:
        return None
    return {"vendor_id": vendor_id, "slug": slug, "values": sorted(values.items())}
