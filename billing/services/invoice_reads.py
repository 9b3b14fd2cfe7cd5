"""Read invoices for their pages: a firm's and a vendor's finalized ones, and the operator's.

Drafts stay out of the firm's and the vendor's sight: until finalization a draft has no
number, no due date and no usage lines (usage is rated after the grace window), so its
total would mislead; the subscription page's estimate already says what is coming.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from billing.models import CreditNote, Invoice, InvoiceStatus, Subscription
from billing.services import credit_notes, invoices
from billing.subsidies.models import SubsidyProgram
from catalog.models import Listing, PriceComponent
from marketplace.audit.services import Actor
from marketplace.console.queries import PAGE_SIZE, Page
from marketplace.console.services import operator_membership
from marketplace.errors import NotFound
from marketplace.firms.models import SmeProfile
from marketplace.orgs.models import Organization


@dataclass(frozen=True)
class InvoiceRecord:
    """An invoice with what its page shows beside the lines: credit notes, units, the buyer."""

    invoice: Invoice
    credit_notes: list[CreditNote]
    # The metered components of the invoiced plans, by (plan id, dimension).
    components: dict[tuple[int, str], PriceComponent]
    buyer: SmeProfile | None
    # The names of the subsidy programs its subsidy lines draw on, by program id.
    programs: dict[int, str]

    @property
    def credited_fen(self) -> int:
        """Return what the credit notes have taken off the invoice."""
        return sum(note.amount_fen for note in self.credit_notes)


def _not_found() -> NotFound:
    return NotFound(_("No such invoice."))


def _components(session: Session, invoice: Invoice) -> dict[tuple[int, str], PriceComponent]:
    plan_ids = {line.plan_id for line in invoice.lines if line.dimension and line.plan_id}
    if not plan_ids:
        return {}
    stmt = sa.select(PriceComponent).where(
        PriceComponent.plan_id.in_(plan_ids), PriceComponent.dimension.is_not(None)
    )
    return {(c.plan_id, str(c.dimension)): c for c in session.scalars(stmt)}


def credit_notes_of(session: Session, invoice_id: int) -> list[CreditNote]:
    """Return the credit notes of an invoice, oldest first."""
    stmt = (
        sa.select(CreditNote)
        .where(CreditNote.invoice_id == invoice_id)
        .order_by(CreditNote.created_at, CreditNote.id)
    )
    return list(session.scalars(stmt))


def _record(session: Session, invoice: Invoice) -> InvoiceRecord:
    _with_services(session, [invoice])
    return InvoiceRecord(
        invoice=invoice,
        credit_notes=credit_notes_of(session, invoice.id),
        components=_components(session, invoice),
        buyer=session.get(SmeProfile, invoice.organization_id),
        programs=_programs(session, invoice),
    )


def _programs(session: Session, invoice: Invoice) -> dict[int, str]:
    ids = {line.subsidy_program_id for line in invoice.lines if line.subsidy_program_id}
    if not ids:
        return {}
    stmt = sa.select(SubsidyProgram.id, SubsidyProgram.name).where(SubsidyProgram.id.in_(ids))
    return {row.id: row.name for row in session.execute(stmt)}


def _with_services(session: Session, rows: Sequence[Invoice]) -> None:
    """Load the subscriptions, listings and listing versions of invoices in two queries."""
    ids = {invoice.subscription_id for invoice in rows}
    if ids:
        stmt = (
            sa.select(Subscription)
            .where(Subscription.id.in_(ids))
            .options(selectinload(Subscription.listing).selectinload(Listing.versions))
        )
        session.scalars(stmt).all()


def _finalized(invoice: Invoice) -> Invoice:
    if invoice.status == InvoiceStatus.DRAFT:
        raise _not_found()
    return invoice


def firm_invoice(session: Session, org_id: int, invoice_id: int) -> InvoiceRecord:
    """Return one of a firm's finalized invoices; a draft or another firm's is not found."""
    invoice = _finalized(invoices.invoice_of_firm(session, org_id, invoice_id))
    return _record(session, invoice)


def firm_invoices(
    session: Session, org_id: int, subscription_id: int | None = None
) -> list[Invoice]:
    """Return a firm's finalized invoices, newest first, of one subscription when given."""
    rows = [
        invoice
        for invoice in invoices.invoices_of_firm(session, org_id)
        if subscription_id is None or invoice.subscription_id == subscription_id
    ]
    _with_services(session, rows)
    return rows


def firm_subscription(session: Session, org_id: int, subscription_id: int) -> Subscription | None:
    """Return the firm's subscription a list is filtered by, or None for another firm's id."""
    stmt = sa.select(Subscription).where(
        Subscription.id == subscription_id, Subscription.organization_id == org_id
    )
    return session.scalars(stmt).one_or_none()


def vendor_invoice(
    session: Session, vendor_id: int, invoice_id: int, *, sandbox: bool
) -> InvoiceRecord:
    """Return a finalized invoice of the vendor's subscriptions, live or sandbox."""
    invoice = invoices.invoice_of_vendor(session, vendor_id, invoice_id, sandbox=sandbox)
    return _record(session, _finalized(invoice))


def vendor_invoices(session: Session, vendor_id: int, *, sandbox: bool) -> list[Invoice]:
    """Return the vendor's finalized invoices, live or sandbox, newest first."""
    rows = invoices.invoices_of_vendor(session, vendor_id, sandbox=sandbox)
    _with_services(session, rows)
    return rows


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_invoices(
    session: Session, actor: Actor, *, query: str | None = None, page: int = 1
) -> Page[Invoice]:
    """List every invoice, latest first, by number or firm name, 50 a page (operator only)."""
    operator_membership(session, actor)
    number = max(page, 1)
    stmt = (
        sa.select(Invoice)
        .join(Organization, Organization.id == Invoice.organization_id)
        .outerjoin(SmeProfile, SmeProfile.organization_id == Invoice.organization_id)
        .options(selectinload(Invoice.organization), selectinload(Invoice.vendor))
        .order_by(Invoice.created_at.desc(), Invoice.id.desc())
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    text = (query or "").strip()
    if text:
        pattern = _like(text)
        stmt = stmt.where(
            sa.or_(
                Invoice.number.ilike(pattern, escape="\\"),
                Organization.name.ilike(pattern, escape="\\"),
                SmeProfile.legal_name.ilike(pattern, escape="\\"),
            )
        )
    rows = list(session.scalars(stmt))
    return Page(rows[:PAGE_SIZE], number, len(rows) > PAGE_SIZE)


def operator_invoice(
    session: Session, actor: Actor, invoice_id: int, *, acting: bool = False
) -> InvoiceRecord:
    """Return any invoice for the operator; acting locks it for a change by an owner or admin."""
    operator_membership(session, actor, acting=acting)
    stmt = sa.select(Invoice).where(Invoice.id == invoice_id).options(selectinload(Invoice.lines))
    if acting:
        stmt = stmt.with_for_update(of=Invoice)
    invoice = session.scalars(stmt).one_or_none()
    if invoice is None:
        raise _not_found()
    return _record(session, invoice)


def creditable_fen(session: Session, invoice: Invoice) -> int:
    """Return what a credit note may still take off an invoice (nothing unless open or paid)."""
    if invoice.status not in (InvoiceStatus.OPEN, InvoiceStatus.PAID):
        return 0
    return max(credit_notes.creditable_fen(session, invoice), 0)
