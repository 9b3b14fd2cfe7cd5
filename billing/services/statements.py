"""Read a vendor's subscribers and its monthly statements."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from billing.models import CreditNote, Invoice, InvoiceStatus, Subscription
from billing.periods import DEFAULT_TIME_ZONE
from billing.statements import Month, Statement, StatementEntry, build_statement, month_of
from billing.subsidies.models import EntryKind, SubsidyGrant, SubsidyLedgerEntry
from marketplace.orgs.models import Organization

# Invoices that count towards what a vendor earned; voided ones never do.
EARNING = (InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.UNCOLLECTIBLE)
MONTHS_SHOWN = 12


def subscribers_of(
    session: Session, vendor_id: int, *, sandbox: bool = False
) -> list[Subscription]:
    """Return the subscriptions to a vendor's listings, newest first."""
    stmt = (
        sa.select(Subscription)
        .where(Subscription.vendor_id == vendor_id, Subscription.sandbox.is_(sandbox))
        .options(
            joinedload(Subscription.organization),
            joinedload(Subscription.plan),
            joinedload(Subscription.listing),
        )
        .order_by(Subscription.created_at.desc(), Subscription.id.desc())
    )
    return list(session.scalars(stmt))


def _invoice_entries(
    session: Session, vendor_id: int, start: datetime, end: datetime
) -> list[StatementEntry]:
    stmt = (
        sa.select(Invoice.number, Invoice.finalized_at, Invoice.subtotal_fen, Organization.name)
        .join(Organization, Organization.id == Invoice.organization_id)
        .where(
            Invoice.vendor_id == vendor_id,
            Invoice.sandbox.is_(False),
            Invoice.status.in_(EARNING),
            Invoice.finalized_at >= start,
            Invoice.finalized_at < end,
        )
    )
    return [
        StatementEntry("invoice", number or "", firm, at, amount)
        for number, at, amount, firm in session.execute(stmt)
        if at is not None  # the month filter already excludes unfinalized invoices
    ]


def _credit_entries(
    session: Session, vendor_id: int, start: datetime, end: datetime
) -> list[StatementEntry]:
    stmt = (
        sa.select(Invoice.number, CreditNote.created_at, CreditNote.amount_fen, Organization.name)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .join(Organization, Organization.id == Invoice.organization_id)
        .where(
            Invoice.vendor_id == vendor_id,
            Invoice.sandbox.is_(False),
            # A voided invoice is off the statement, and so are its credit notes.
            Invoice.status.in_(EARNING),
            CreditNote.created_at >= start,
            CreditNote.created_at < end,
        )
    )
    return [
        StatementEntry("credit_note", number or "", firm, at, -amount)
        for number, at, amount, firm in session.execute(stmt)
    ]


def _released_subsidy_entries(
    session: Session, vendor_id: int, start: datetime, end: datetime
) -> list[StatementEntry]:
    """Subsidies given back on a live invoice (credited in full): the park no longer pays them.

    An invoice's entry counts its subtotal, the firm's part and the park's together; when
    the park's part is released, the vendor earns that much less.
    """
    entry = SubsidyLedgerEntry
    stmt = (
        sa.select(Invoice.number, entry.at, sa.func.sum(entry.amount_fen), Organization.name)
        .join(SubsidyGrant, SubsidyGrant.id == entry.grant_id)
        .join(Invoice, Invoice.id == SubsidyGrant.invoice_id)
        .join(Organization, Organization.id == Invoice.organization_id)
        .where(
            entry.vendor_id == vendor_id,
            entry.kind == EntryKind.RELEASE,
            # A voided invoice is off the statement, and so is what it gave back.
            Invoice.status.in_(EARNING),
            entry.at >= start,
            entry.at < end,
        )
        .group_by(Invoice.id, Invoice.number, entry.at, Organization.name)
    )
    return [
        StatementEntry("subsidy_released", number or "", firm, at, int(amount))
        for number, at, amount, firm in session.execute(stmt)
    ]


def statement_for(session: Session, vendor_id: int, month: Month, rate: Decimal) -> Statement:
    """Return a vendor's statement for a month of Beijing time."""
    start, end = month.bounds(DEFAULT_TIME_ZONE)
    entries = _invoice_entries(session, vendor_id, start, end)
    entries += _credit_entries(session, vendor_id, start, end)
    entries += _released_subsidy_entries(session, vendor_id, start, end)
    return build_statement(month, entries, rate)


def recent_statements(
    session: Session, vendor_id: int, now: datetime, rate: Decimal
) -> list[Statement]:
    """Return the statements of the last twelve months, this month first."""
    month = month_of(now, DEFAULT_TIME_ZONE)
    statements = []
    for _ in range(MONTHS_SHOWN):
        statements.append(statement_for(session, vendor_id, month, rate))
        month = month.previous()
    return statements
