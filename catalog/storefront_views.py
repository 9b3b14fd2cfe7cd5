"""The public storefront: browse and search cloud services, open one, price a plan."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from flask import Blueprint, render_template, request
from markupsafe import Markup

from catalog.listing_page import listing_cache_arguments, listing_page
from catalog.page_cache import Fragment, cached_fragment, render_fragment
from catalog.quote_notes import quote_notes
from catalog.search import page_number
from catalog.storefront import BrowseQuery, browse, browse_cache_arguments, vendor_page
from marketplace.extensions import db
from marketplace.i18n import current_language

bp = Blueprint("storefront", __name__)


@bp.app_template_global()
def localized(row: object, field: str) -> str:
    """Return a row's field in the interface language, falling back to Chinese."""
    chinese = str(getattr(row, f"{field}_zh", "") or "")
    if current_language() == "en":
        return str(getattr(row, f"{field}_en", "") or "") or chinese
    return chinese


@bp.app_template_filter("quantity")
def quantity_text(value: Decimal | int | None) -> str:
    """Show a quantity without trailing zeros, thousands grouped: 1,000 or 2.5."""
    number = Decimal(value or 0).normalize()
    return f"{number:,f}" if number == number.to_integral_value() else f"{number:,}"


def _page(fragment: Fragment, notes: Sequence[Markup] = ()) -> str:
    """Put a page's public fragment, and notes for this visitor, into the layout."""
    return render_template("catalog/storefront/page.html", fragment=fragment, notes=notes)


@bp.get("/services")
def services() -> str:
    """List the cloud services on the marketplace, filtered, searched and sorted."""
    query = BrowseQuery(
        q=request.args.get("q", ""),
        category=request.args.get("category", ""),
        sort=request.args.get("sort", "name"),
        page=page_number(request.args.get("page")),
        language=current_language(),
        model=request.args.get("model", ""),
    )
    fragment = cached_fragment(
        "storefront.services",
        browse_cache_arguments(query),
        lambda: render_fragment("catalog/storefront/browse.html", page=browse(db.session(), query)),
    )
    return _page(fragment)


@bp.get("/services/<int:vendor_id>/<slug>")
def service(vendor_id: int, slug: str) -> str:
    """Show one cloud service: its description, its plans side by side and a calculator."""
    values = request.args.to_dict()
    fragment = cached_fragment(
        "storefront.service",
        listing_cache_arguments(vendor_id, slug, values),
        lambda: render_fragment(
            "catalog/storefront/listing.html",
            page=listing_page(db.session(), vendor_id, slug, values, current_language()),
        ),
    )
    notes = quote_notes(db.session(), vendor_id, slug, values, current_language())
    return _page(fragment, notes)


@bp.get("/vendors/<int:vendor_id>")
def vendor(vendor_id: int) -> str:
    """Show a vendor and the cloud services it offers on the marketplace."""
    fragment = cached_fragment(
        "storefront.vendor",
        {"vendor_id": vendor_id},
        lambda: render_fragment(
            "catalog/storefront/vendor.html",
            page=vendor_page(db.session(), vendor_id, current_language()),
        ),
    )
    return _page(fragment)
