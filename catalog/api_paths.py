"""Read ids and codes from API paths: one that cannot name a row names none (404)."""

from __future__ import annotations

from flask_babel import gettext as _

from catalog.services.plans import CODE
from marketplace.errors import NotFound

# Listing ids are 32-bit integers; a larger one would fail in the database, not be missing.
LISTING_ID_MAX = 2**31 - 1


def known_listing_id(listing_id: int) -> int:
    """Return an id in the listings' range, or raise NotFound without asking the database."""
    if listing_id > LISTING_ID_MAX:
        raise NotFound(_("No such listing of this vendor."))
    return listing_id


def known_plan_code(code: str) -> str:
    """Return a code shaped like a plan's, or raise NotFound without asking the database."""
    if not CODE.fullmatch(code):
        raise NotFound(_("This listing has no plan with this code."))
    return code
