"""A vendor's sandbox: test firms it makes, and their subscriptions to its sandbox listings.

A test firm is an SME organization that belongs to the vendor's sandbox (a SandboxFirm row);
it never appears to anyone else, and what it buys never charges anyone. Only the vendor's
sandbox listings are on sale to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.models import SandboxFirm, Subscription
from billing.services.subscriptions import subscribe
from catalog.models import Listing, Plan, PlanStatus
from marketplace.audit.services import Actor, record
from marketplace.clock import Clock
from marketplace.errors import NotFound, ValidationFailed
from marketplace.orgs.models import Organization, OrgKind
from marketplace.orgs.services import add_organization
from marketplace.pagination import Page, PageRequest, page_from_rows

ID_MAX = 2**31 - 1


@dataclass(frozen=True)
class SandboxFirmEntry:
    """A test firm of a vendor's sandbox, as the vendor sees it."""

    id: int
    name: str
    created_at: datetime


def create_sandbox_firm(
    session: Session, clock: Clock, actor: Actor, vendor_id: int, name: str
) -> SandboxFirmEntry:
    """Create a test firm in the vendor's sandbox."""
    org = add_organization(session, clock, kind=OrgKind.SME, name=name, owner=None, actor=actor)
    firm = SandboxFirm(organization_id=org.id, vendor_id=vendor_id, created_at=clock.now())
    session.add(firm)
    record(
        session,
        clock,
        actor,
        "sandbox_firm.created",
        ("organization", org.id),
        after={"vendor_id": vendor_id, "name": org.name},
        subject_org_id=org.id,
    )
    session.commit()
    return SandboxFirmEntry(org.id, org.name, firm.created_at)


def sandbox_firms_page(
    session: Session, vendor_id: int, page: PageRequest
) -> Page[SandboxFirmEntry]:
    """Read one page of the vendor's test firms, oldest first."""
    stmt = (
        sa.select(Organization.id, Organization.name, SandboxFirm.created_at)
        .join(SandboxFirm, SandboxFirm.organization_id == Organization.id)
        .where(SandboxFirm.vendor_id == vendor_id)
    )
    if page.after is not None:
        stmt = stmt.where(Organization.id > page.after[0])
    rows = session.execute(stmt.order_by(Organization.id).limit(page.limit + 1)).all()
    firms = [SandboxFirmEntry(row.id, row.name, row.created_at) for row in rows]
    return page_from_rows(firms, page.limit, lambda firm: (firm.id,))


def subscribe_sandbox_firm(
    session: Session,
    clock: Clock,
    actor: Actor,
    vendor_id: int,
    *,
    firm_id: int,
    listing_id: int,
    plan_code: str,
    seats: int | None,
) -> Subscription:
    """Subscribe one of the vendor's test firms to a plan of one of its sandbox listings."""
    _test_firm_of(session, vendor_id, firm_id)
    listing = _sandbox_listing_of(session, vendor_id, listing_id)
    plan = _plan_on_sale(session, listing, plan_code)
    return subscribe(session, clock, actor, firm_id, plan.id, seats)


def _test_firm_of(session: Session, vendor_id: int, firm_id: int) -> None:
    found = firm_id <= ID_MAX and session.scalar(
        sa.select(SandboxFirm.organization_id).where(
            SandboxFirm.organization_id == firm_id, SandboxFirm.vendor_id == vendor_id
        )
    )
    if not found:
        raise NotFound(_("No test firm of your sandbox has this id."))


def _sandbox_listing_of(session: Session, vendor_id: int, listing_id: int) -> Listing:
    listing = None
    if listing_id <= ID_MAX:
        listing = session.scalar(
            sa.select(Listing).where(
                Listing.id == listing_id, Listing.vendor_id == vendor_id, Listing.sandbox.is_(True)
            )
        )
    if listing is None:
        raise NotFound(_("No sandbox listing of yours has this id."))
    return listing


def _plan_on_sale(session: Session, listing: Listing, plan_code: str) -> Plan:
    """Return the newest published version of the listing's plan with this code."""
    plan = session.scalar(
        sa.select(Plan)
        .where(
            Plan.listing_id == listing.id,
            Plan.code == plan_code,
            Plan.status == PlanStatus.PUBLISHED,
        )
        .order_by(Plan.version.desc())
        .limit(1)
    )
    if plan is None:
        raise ValidationFailed({"plan_code": _("This listing has no plan on sale with this code.")})
    return plan
