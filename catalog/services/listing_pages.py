"""A vendor's listings a page at a time, for the vendor API's list."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from catalog.models import Listing
from marketplace.pagination import Page, PageRequest, paginate


def listing_page(
    session: Session,
    vendor_id: int,
    page: PageRequest,
    status: str | None = None,
    *,
    sandbox: bool = False,
) -> Page[Listing]:
    """Read one page of the vendor's live (or sandbox) listings, oldest first, by status."""
    stmt = (
        sa.select(Listing)
        .where(Listing.vendor_id == vendor_id, Listing.sandbox.is_(sandbox))
        .options(selectinload(Listing.versions))
    )
    if status is not None:
        stmt = stmt.where(Listing.status == status)
    return paginate(session, stmt, [Listing.id.expression], page, lambda listing: (listing.id,))
