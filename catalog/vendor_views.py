"""The vendor console's listing page: each listing's review status and the operator's reason."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from catalog.services import listings
from marketplace.extensions import db
from marketplace.orgs.context import acting_org, require_org
from marketplace.orgs.models import OrgKind

bp = Blueprint("catalog_vendor", __name__, url_prefix="/vendor")


@bp.get("/listings")
@require_org(OrgKind.VENDOR.value, allow_suspended=True)
def listings_page() -> ResponseReturnValue:
    """List the acting vendor's listings with where each stands in review."""
    rows = listings.listing_summaries(db.session(), acting_org().id)
    return render_template("catalog/vendor/listings.html", rows=rows)
