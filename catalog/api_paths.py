"""Read ids and codes from API paths: one that cannot name a row names none (404)."""

from __future__ import annotations

from flask_babel import gettext as _

from catalog.services.plans import CODE
from marketplace.api import known_id
from marketplace.errors import NotFound


def known_listing_id(listing_id: int) -> int:
    """Return an id in the listings' range, or raise NotFound without asking the database."""
    return known_id(listing_id, _("No such listing of this vendor."))


def known_plan_code(code: str) -> str:
    """Return a code shaped like a plan's, or raise NotFound without asking the database."""
    if not CODE.fullmatch(code):
        raise NotFound(_("This listing has no plan with this code."))
    return code
