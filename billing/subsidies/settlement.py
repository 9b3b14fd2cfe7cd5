"""Settle an invoice's subsidy grants as the invoice settles: outbox handlers.

Paid → the grants are confirmed (the park owes them). Voided or credited in full → they
are released and the budget is given back. Each handler is idempotent: a grant moves
once, and each move appends one ledger entry (unique per grant and kind).

An invoice marked uncollectible keeps its grants reserved: it may still be paid (and
then the park owes its subsidy), so the budget stays held until it is paid or voided.
Giving up for good is voiding it, which releases them. A partial credit note keeps the
grants: the firm got part of its money back, the service was still bought.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import CreditNote, Invoice
from billing.subsidies.ledger import confirm_invoice, release_invoice
from marketplace.clock import current_clock
from marketplace.events.models import OutboxEvent


def on_invoice_paid(session: Session, event: OutboxEvent) -> None:
    """Confirm the grants of a paid invoice."""
    confirm_invoice(session, current_clock(), int(event.payload["invoice_id"]))


def on_invoice_voided(session: Session, event: OutboxEvent) -> None:
    """Release the grants of a voided invoice."""
    release_invoice(session, current_clock(), int(event.payload["invoice_id"]))


def on_credit_note_created(session: Session, event: OutboxEvent) -> None:
    """Release the grants of an invoice once its credit notes cover all the firm was charged."""
    invoice_id = int(event.payload["invoice_id"])
    if fully_credited(session, invoice_id):
        release_invoice(session, current_clock(), invoice_id)


def fully_credited(session: Session, invoice_id: int) -> bool:
    """Say whether an invoice's credit notes add up to its total."""
    total = session.scalar(sa.select(Invoice.total_fen).where(Invoice.id == invoice_id))
    credited = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CreditNote.amount_fen), 0)).where(
            CreditNote.invoice_id == invoice_id
        )
    )
    return total is not None and total > 0 and int(credited or 0) >= total


SETTLING_EVENTS: dict[str, Callable[[Session, OutboxEvent], None]] = {
    "invoice.paid": on_invoice_paid,
    "invoice.voided": on_invoice_voided,
    "credit_note.created": on_credit_note_created,
}
