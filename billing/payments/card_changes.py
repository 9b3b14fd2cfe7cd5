"""Card changes that can settle what a firm owes: a new default card retries unpaid invoices.

Dunning retries on its schedule (days 1, 3 and 7); a firm that fixes its card after the last
retry, or before the next one, should not wait for a payment nobody will attempt. So saving
a card that becomes the default, or making a card the default, queues a retry of every live
invoice whose last attempt failed.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from billing.models import Invoice, InvoiceStatus
from billing.payments import services as cards
from billing.payments.attempt_models import AttemptStatus, PaymentAttempt
from billing.payments.collection import collect_invoice
from billing.payments.models import PaymentMethod
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.jobs import enqueue


def invoices_left_unpaid(session: Session, org_id: int) -> list[int]:
    """Return the firm's open live invoices whose latest payment attempt failed."""
    other = aliased(PaymentAttempt)
    latest = (
        sa.select(sa.func.max(other.number))
        .where(other.invoice_id == Invoice.id)
        .correlate(Invoice)
        .scalar_subquery()
    )
    stmt = (
        sa.select(Invoice.id)
        .join(PaymentAttempt, PaymentAttempt.invoice_id == Invoice.id)
        .where(
            Invoice.organization_id == org_id,
            Invoice.sandbox.is_(False),
            Invoice.status == InvoiceStatus.OPEN,
            Invoice.amount_due_fen > 0,
            PaymentAttempt.number == latest,
            PaymentAttempt.status == AttemptStatus.FAILED,
            # Only a settled failure may be retried; an unsettled one is the webhook's to count.
            PaymentAttempt.settled_at.is_not(None),
        )
        .order_by(Invoice.id)
    )
    return list(session.scalars(stmt))


def retry_unpaid(session: Session, org_id: int) -> list[int]:
    """Queue a retry of each invoice left unpaid; return their ids."""
    unpaid = invoices_left_unpaid(session, org_id)
    for invoice_id in unpaid:
        enqueue(collect_invoice, invoice_id, retry=True, queue="billing")
    return unpaid


def add_card(
    session: Session, clock: Clock, actor: Actor, org_id: int, setup_intent_id: str
) -> PaymentMethod:
    """Save a confirmed card; if it is now the default, retry what the firm still owes."""
    card = cards.add_card(session, clock, actor, org_id, setup_intent_id)
    if card.is_default:
        retry_unpaid(session, org_id)
    return card


def set_default_card(
    session: Session, clock: Clock, actor: Actor, org_id: int, card_id: int
) -> PaymentMethod:
    """Make a card the default and retry what the firm still owes with it."""
    card = cards.set_default_card(session, clock, actor, org_id, card_id)
    retry_unpaid(session, org_id)
    return card
