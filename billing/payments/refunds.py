"""Give back through Stripe what a credit note takes off an invoice that was paid by card.

billing records a credit note and announces it (credit_note.created); the outbox handler
here queues a job that refunds the note's amount on the invoice's succeeded PaymentIntent,
never more than that payment still holds. The refund row and its idempotency key
("credit-note-<id>-refund") are committed before Stripe is called: a job run twice refunds
once. A note on an open invoice only lowers what is due, and one on an invoice nobody paid
by card (credited to zero, paid by the operator) has nothing to give back.
"""

from __future__ import annotations

import sqlalchemy as sa
import stripe
from sqlalchemy.orm import Session

from billing.models import CreditNote, Invoice, InvoiceStatus
from billing.payments import intents
from billing.payments.attempt_models import AttemptStatus, PaymentAttempt, PaymentRefund
from billing.payments.gateway import stripe_gateway
from billing.payments.settlement import SYSTEM, lock_invoice
from marketplace.audit.services import record
from marketplace.clock import Clock, current_clock
from marketplace.events.models import OutboxEvent
from marketplace.extensions import db
from marketplace.jobs import RqRunner, enqueue, runner


def refund_key(credit_note_id: int) -> str:
    """Return the idempotency key of a credit note's refund."""
    return f"credit-note-{credit_note_id}-refund"


def paid_attempt(session: Session, invoice_id: int) -> PaymentAttempt | None:
    """Return the attempt that paid an invoice by card, if one did."""
    stmt = (
        sa.select(PaymentAttempt)
        .where(
            PaymentAttempt.invoice_id == invoice_id,
            PaymentAttempt.status == AttemptStatus.SUCCEEDED,
            PaymentAttempt.stripe_payment_intent_id.is_not(None),
        )
        .order_by(PaymentAttempt.number.desc())
        .limit(1)
    )
    return session.scalars(stmt).one_or_none()


def refunded_fen(session: Session, attempt_id: int) -> int:
    """Return what refunds have given back of one payment so far."""
    stmt = sa.select(sa.func.coalesce(sa.func.sum(PaymentRefund.amount_fen), 0)).where(
        PaymentRefund.payment_attempt_id == attempt_id
    )
    return int(session.scalar(stmt) or 0)


def reserve_refund(session: Session, clock: Clock, credit_note_id: int) -> PaymentRefund | None:
    """Take the refund's key and commit it; None when the note has nothing to give back."""
    note = session.get(CreditNote, credit_note_id)
    if note is None:
        return None
    invoice = lock_invoice(session, note.invoice_id)
    existing = session.scalars(
        sa.select(PaymentRefund).where(PaymentRefund.credit_note_id == credit_note_id)
    ).one_or_none()
    if existing is not None or invoice is None or invoice.sandbox:
        session.rollback()
        return existing if existing is not None and existing.stripe_refund_id is None else None
    attempt = paid_attempt(session, invoice.id)
    amount = 0 if attempt is None else min(note.amount_fen, _left(session, attempt))
    if attempt is None or amount <= 0:
        session.rollback()
        return None
    now = clock.now()
    refund = PaymentRefund(
        credit_note_id=note.id,
        payment_attempt_id=attempt.id,
        idempotency_key=refund_key(note.id),
        amount_fen=amount,
        status="creating",
        created_at=now,
        updated_at=now,
    )
    session.add(refund)
    session.commit()
    return refund


def _left(session: Session, attempt: PaymentAttempt) -> int:
    return attempt.amount_fen - refunded_fen(session, attempt.id)


def refund_credit_note(
    session: Session, clock: Clock, client: stripe.StripeClient, credit_note_id: int
) -> PaymentRefund | None:
    """Refund a credit note through Stripe once; return the refund, or None if none is owed."""
    refund = reserve_refund(session, clock, credit_note_id)
    if refund is None:
        return None
    intent_id = refund.attempt.stripe_payment_intent_id
    assert intent_id is not None
    refund_id, status = intents.refund_intent(
        client,
        intent_id=intent_id,
        amount_fen=refund.amount_fen,
        idempotency_key=refund.idempotency_key,
        metadata={
            "credit_note_id": str(credit_note_id),
            "invoice_id": str(refund.attempt.invoice_id),
        },
    )
    refund.stripe_refund_id, refund.status, refund.updated_at = refund_id, status, clock.now()
    record(
        session,
        clock,
        SYSTEM,
        "credit_note.refunded",
        ("invoice", refund.attempt.invoice_id),
        after={"credit_note_id": credit_note_id, "amount_fen": refund.amount_fen},
        subject_org_id=refund.attempt.organization_id,
    )
    session.commit()
    return refund


def forgotten_refunds(session: Session) -> list[int]:
    """Return credit notes on live card-paid invoices whose refund never reached Stripe.

    The handler queues each refund once; a job lost on the way, a Stripe outage while it
    ran, or a relay without Redis leaves the note here for the dunning sweep to refund.
    """
    sent = sa.select(PaymentRefund.id).where(
        PaymentRefund.credit_note_id == CreditNote.id,
        PaymentRefund.stripe_refund_id.is_not(None),
    )
    card_paid = sa.select(PaymentAttempt.id).where(
        PaymentAttempt.invoice_id == Invoice.id,
        PaymentAttempt.status == AttemptStatus.SUCCEEDED,
        PaymentAttempt.stripe_payment_intent_id.is_not(None),
    )
    stmt = (
        sa.select(CreditNote.id)
        .join(Invoice, Invoice.id == CreditNote.invoice_id)
        .where(
            Invoice.status == InvoiceStatus.PAID,
            Invoice.sandbox.is_(False),
            card_paid.exists(),
            ~sent.exists(),
        )
        .order_by(CreditNote.id)
    )
    return list(session.scalars(stmt))


def refund_credit_note_job(credit_note_id: int) -> str | None:
    """Job: refund a credit note through Stripe; return the refund's status."""
    refund = refund_credit_note(
        db.session(), current_clock(), stripe_gateway.client(), credit_note_id
    )
    return None if refund is None else refund.status


def on_credit_note_created(session: Session, event: OutboxEvent) -> None:
    """Outbox handler: queue the refund of a credit note on a paid live invoice."""
    payload = event.payload
    if payload.get("sandbox") or payload.get("status") != "paid":
        return  # a note on an open invoice lowers what is due; nothing was taken to give back
    # Only onto RQ: run inline it would commit inside the relay's transaction. Without
    # Redis the dunning sweep refunds the credit notes nobody refunded.
    if isinstance(runner(), RqRunner):
        enqueue(refund_credit_note_job, int(payload["credit_note_id"]), queue="billing")
