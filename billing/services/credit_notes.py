"""Credit notes: corrections that take an amount off a finalized invoice.

An open invoice then owes that much less; a paid one has money to give back, which the
payments side refunds when it sees the `credit_note.created` event. A subscription's last
invoice that ends below zero (seats removed, then cancelled) hands its credit back the same
way, to the subscription's earlier invoices, newest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.models import CreditNote, Invoice, InvoiceStatus
from billing.payments.attempt_models import AttemptStatus, PaymentAttempt
from billing.services.bulk import invoice_payload, record_invoice_events
from billing.tax import split_inclusive
from marketplace.audit.services import Actor, record
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, ValidationFailed

REASON_MAX = 500
CREDITABLE = (InvoiceStatus.OPEN, InvoiceStatus.PAID)


class PaymentInFlight(Conflict):
    """A payment of the invoice is under way; its amount cannot change until it settles."""

    code = "payment_in_flight"
    title = "A payment of this invoice is under way"


def check_no_payment_in_flight(session: Session, invoice: Invoice) -> None:
    """Refuse to change what an invoice asks for while a charge of it is out at Stripe.

    The attempt's amount was fixed when it was made: crediting or voiding the invoice in
    the meantime would have the card charged for more than the invoice then asks.
    """
    out = sa.or_(
        PaymentAttempt.status.in_((AttemptStatus.CREATING, AttemptStatus.PENDING)),
        sa.and_(
            PaymentAttempt.status == AttemptStatus.SUCCEEDED,
            PaymentAttempt.settled_at.is_(None),
        ),
    )
    stmt = sa.select(PaymentAttempt.id).where(PaymentAttempt.invoice_id == invoice.id, out)
    if session.scalars(stmt.limit(1)).first() is not None:
        raise PaymentInFlight(
            _("A payment of this invoice is under way; try again once it has settled.")
        )


def credited_fen(session: Session, invoice_id: int) -> int:
    """Return what credit notes have taken off an invoice so far."""
    stmt = sa.select(sa.func.coalesce(sa.func.sum(CreditNote.amount_fen), 0)).where(
        CreditNote.invoice_id == invoice_id
    )
    return int(session.scalar(stmt) or 0)


def creditable_fen(session: Session, invoice: Invoice) -> int:
    """Return what a credit note may still take off a finalized invoice."""
    return max(invoice.total_fen, 0) - credited_fen(session, invoice.id)


def checked_credit(session: Session, invoice: Invoice, amount_fen: int, reason: str) -> str:
    """Return the cleaned reason, or raise naming the amount or reason that will not do."""
    errors: dict[str, str] = {}
    left = creditable_fen(session, invoice)
    if amount_fen <= 0:
        errors["amount_fen"] = _("Credit a positive amount.")
    elif amount_fen > left:
        errors["amount_fen"] = _("At most %(left)d fen can still be credited.", left=left)
    reason = reason.strip()
    if not reason:
        errors["reason"] = _("Say why the invoice is corrected.")
    elif len(reason) > REASON_MAX:
        errors["reason"] = _("Keep the reason under 500 characters.")
    if errors:
        raise ValidationFailed(errors)
    return reason


def add_credit_note(
    session: Session,
    now: datetime,
    actor: Actor,
    invoice: Invoice,
    amount_fen: int,
    reason: str,
) -> CreditNote:
    """Add a checked credit note to a locked invoice, with its events and audit entry."""
    note = CreditNote(
        invoice_id=invoice.id,
        amount_fen=amount_fen,
        tax_fen=split_inclusive(amount_fen, invoice.vat_rate).tax_fen,
        reason=reason,
        created_at=now,
        created_by_id=actor.user_id,
    )
    session.add(note)
    events: list[tuple[str, dict[str, Any]]] = []
    if invoice.status == InvoiceStatus.OPEN:
        invoice.amount_due_fen = max(invoice.amount_due_fen - amount_fen, 0)
        if invoice.amount_due_fen == 0:
            invoice.status, invoice.paid_at = InvoiceStatus.PAID, now
            events.append(("invoice.paid", invoice_payload(invoice)))
    session.flush()
    payload = invoice_payload(invoice) | {"credit_note_id": note.id, "credit_fen": amount_fen}
    record_invoice_events(session, now, [("credit_note.created", payload), *events])
    after = {"credit_note_id": note.id, "amount_fen": amount_fen, "reason": reason}
    record(
        session,
        FrozenClock(now),
        actor,
        "credit_note.created",
        ("invoice", invoice.id),
        after=after,
        subject_org_id=invoice.organization_id,
    )
    return note


def credit_back(
    session: Session, now: datetime, subscription_id: int, amount_fen: int, reason: str
) -> int:
    """Spread a credit over a subscription's earlier invoices, newest first; return the rest."""
    stmt = (
        sa.select(Invoice)
        .where(Invoice.subscription_id == subscription_id, Invoice.status.in_(CREDITABLE))
        .order_by(Invoice.period_start.desc())
        .with_for_update()
    )
    left = amount_fen
    for invoice in session.scalars(stmt):
        try:
            check_no_payment_in_flight(session, invoice)
        except PaymentInFlight:
            continue  # its charge is out at Stripe; the amount it asks for must stay
        share = min(left, creditable_fen(session, invoice))
        if share > 0:
            add_credit_note(session, now, Actor(None), invoice, share, reason)
            left -= share
        if left == 0:
            break
    return left
