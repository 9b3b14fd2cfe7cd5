"""Notes for one visitor under a listing's quote, which the shared page cache must not hold.

The listing page (content, plans, the calculator's quote) is cached for every visitor.
What depends on who is looking, such as the park subsidy a firm would get on the quoted
price, is a quote note: a function registered at start-up (app.py) that is given the
listing's version and the quote and returns the HTML to show under the page, or None.
Notes are for visitors acting for an organization; anonymous visitors get the cache only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from flask import g
from markupsafe import Markup
from sqlalchemy.orm import Session

from catalog.calculator import calculate
from catalog.listing_page import metered_dimensions
from catalog.models import ListingVersion
from catalog.pricing import Quote
from catalog.storefront import plans_on_sale, storefront_version

QuoteNote = Callable[[Session, ListingVersion, Quote], Markup | None]
_notes: list[QuoteNote] = []


def register_quote_note(note: QuoteNote) -> None:
    """Show note's HTML under every listing quote it answers for (registering twice is a no-op)."""
    if note not in _notes:
        _notes.append(note)


def quote_notes(
    session: Session, vendor_id: int, slug: str, values: Mapping[str, str], language: str
) -> list[Markup]:
    """Return the registered notes on the calculator's quote, for a visitor acting for an org.

    Anonymous visitors get none and cost nothing beyond the cached page.
    """
    if not _notes or "plan" not in values or g.get("membership") is None:
        return []
    version = storefront_version(session, vendor_id, slug)
    offers = plans_on_sale(session, [version.listing_id])[version.listing_id]
    calculation = calculate(offers, metered_dimensions(offers), values, language)
    if calculation.quote is None:
        return []
    found = (note(session, version, calculation.quote) for note in _notes)
    return [html for html in found if html is not None]
