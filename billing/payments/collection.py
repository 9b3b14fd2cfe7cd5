"""Collect a finalized invoice: an off-session PaymentIntent on the firm's default card.

Each attempt takes its idempotency key, "invoice-<id>-attempt-<n>", in a row committed
before Stripe is called, so an attempt resent after a crash sends the same key and Stripe
makes one PaymentIntent. The job only records what Stripe answered; the
outcome is applied to the invoice by Stripe's webhook (billing.payments.stripe_events),
or, if that never comes, by the dunning sweep. A firm without a card fails at once: there
is no Stripe call to wait for, so that failure is settled here and dunning starts.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
import stripe
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus
from billing.payments import intents
from billing.payments.attempt_models import AttemptStatus, PaymentAttempt
from billing.payments.config import payment_settings
from billing.payments.gateway import stripe_gateway
from billing.payments.services import customer_of, default_card
from billing.payments.settlement import NO_PAYMENT_METHOD, lock_invoice, settle_failure
from marketplace.clock import Clock, current_clock
from marketplace.events.models import OutboxEvent
from marketplace.extensions import db
from marketplace.jobs import RqRunner, enqueue, runner
from marketplace.logs import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class CardOnFile:
    """The Stripe customer and default card a firm's invoices are charged to."""

    customer_id: str
    payment_method_id: str


def attempt_key(invoice_id: int, number: int) -> str:
    """Return the idempotency key of an invoice's n-th attempt."""
    return f"invoice-{invoice_id}-attempt-{number}"


def is_chargeable(invoice: Invoice) -> bool:
    """Tell whether an invoice is to be charged: open, live (not sandbox), something due."""
    return (
        invoice.status == InvoiceStatus.OPEN and not invoice.sandbox and invoice.amount_due_fen > 0
    )


def card_on_file(session: Session, org_id: int) -> CardOnFile | None:
    """Return the firm's Stripe customer and default card, or None if it has no card."""
    customer, card = customer_of(session, org_id), default_card(session, org_id)
    if customer is None or card is None:
        return None
    return CardOnFile(customer.stripe_customer_id, card.stripe_payment_method_id)


def latest_attempt(session: Session, invoice_id: int) -> PaymentAttempt | None:
    """Return an invoice's most recent attempt."""
    stmt = (
        sa.select(PaymentAttempt)
        .where(PaymentAttempt.invoice_id == invoice_id)
        .order_by(PaymentAttempt.number.desc())
        .limit(1)
    )
    return session.scalars(stmt).one_or_none()


def reserve_attempt(
    session: Session, clock: Clock, invoice_id: int, *, retry: bool
) -> PaymentAttempt | None:
    """Take the next attempt's key and commit it; None when nothing is to be charged now.

    The first collection makes attempt 1 only; a retry follows only a settled failure.
    While an attempt is out (CREATING, PENDING, or a success not yet settled) no other is
    made: the dunning sweep resends an attempt left CREATING, with its key, once it is stale.
    """
    invoice = lock_invoice(session, invoice_id)
    if invoice is None or not is_chargeable(invoice):
        session.rollback()
        return None
    latest = latest_attempt(session, invoice.id)
    settled_failure = (
        latest is not None and latest.status == AttemptStatus.FAILED and latest.settled_at
    )
    if latest is not None and not (retry and settled_failure):
        session.rollback()
        return None
    number = (latest.number if latest else 0) + 1
    now = clock.now()
    card = card_on_file(session, invoice.organization_id)
    attempt = PaymentAttempt(
        stripe_customer_id=card.customer_id if card else None,
        stripe_payment_method_id=card.payment_method_id if card else None,
        invoice_id=invoice.id,
        organization_id=invoice.organization_id,
        number=number,
        idempotency_key=attempt_key(invoice.id, number),
        amount_fen=invoice.amount_due_fen,
        currency=invoice.currency,
        status=AttemptStatus.CREATING,
        created_at=now,
        updated_at=now,
    )
    session.add(attempt)
    session.commit()
    return attempt


def send_attempt(
    session: Session, clock: Clock, client: stripe.StripeClient, attempt: PaymentAttempt
) -> PaymentAttempt:
    """Create the attempt's PaymentIntent at Stripe and record the answer (no card: fail).

    The card is the one taken when the attempt was reserved: a resend with the same key must
    ask Stripe exactly what the first send asked, or Stripe refuses the key.
    """
    customer_id, method_id = attempt.stripe_customer_id, attempt.stripe_payment_method_id
    if customer_id is None or method_id is None:
        return _fail_without_card(session, clock, attempt)
    card = CardOnFile(customer_id, method_id)
    metadata = {
        "invoice_id": str(attempt.invoice_id),
        "attempt_key": attempt.idempotency_key,
        "organization_id": str(attempt.organization_id),
    }
    result = intents.create_off_session_intent(
        client,
        amount_fen=attempt.amount_fen,
        currency=attempt.currency,
        customer_id=card.customer_id,
        payment_method_id=card.payment_method_id,
        idempotency_key=attempt.idempotency_key,
        metadata=metadata,
    )
    record_answer(session, clock, attempt.id, result)
    return attempt


def record_answer(
    session: Session, clock: Clock, attempt_id: int, result: intents.IntentResult
) -> None:
    """Write what Stripe said of an attempt, unless a webhook has settled it meanwhile."""
    attempt = session.get(PaymentAttempt, attempt_id)
    assert attempt is not None
    lock_invoice(session, attempt.invoice_id)  # the webhook of the same attempt waits here
    session.refresh(attempt)
    attempt.stripe_payment_intent_id = attempt.stripe_payment_intent_id or result.id
    if attempt.settled_at is None:
        attempt.status = status_of(result)
        attempt.failure_code = result.failure_code
        attempt.failure_message = _short(result.failure_message)
        attempt.updated_at = clock.now()
    session.commit()


def status_of(result: intents.IntentResult) -> AttemptStatus:
    """Map a PaymentIntent's status to an attempt's."""
    if result.succeeded:
        return AttemptStatus.SUCCEEDED
    if result.failed:
        return AttemptStatus.FAILED
    return AttemptStatus.PENDING


def _short(message: str | None) -> str | None:
    return message[:500] if message else None


def _fail_without_card(session: Session, clock: Clock, attempt: PaymentAttempt) -> PaymentAttempt:
    invoice = lock_invoice(session, attempt.invoice_id)
    assert invoice is not None
    session.refresh(attempt)
    attempt.failure_code = NO_PAYMENT_METHOD
    attempt.failure_message = "The firm has no card on file."
    settle_failure(session, clock, payment_settings().policy, invoice, attempt)
    session.commit()
    return attempt


def collect(
    session: Session, clock: Clock, client: stripe.StripeClient, invoice_id: int, *, retry: bool
) -> PaymentAttempt | None:
    """Make (or resume) the invoice's next attempt; return it, or None if none is due."""
    attempt = reserve_attempt(session, clock, invoice_id, retry=retry)
    if attempt is None:
        return None
    return send_attempt(session, clock, client, attempt)


def collect_invoice(invoice_id: int, retry: bool = False) -> str | None:
    """Job: charge a finalized invoice (or retry it); return the attempt's status."""
    attempt = collect(
        db.session(), current_clock(), stripe_gateway.client(), invoice_id, retry=retry
    )
    if attempt is None:
        log.info("nothing to collect", invoice_id=invoice_id)
        return None
    log.info("payment attempt made", invoice_id=invoice_id, status=attempt.status)
    return str(attempt.status)


def on_invoice_finalized(session: Session, event: OutboxEvent) -> None:
    """Outbox handler: queue the collection of a finalized live invoice with something due.

    Only onto RQ: run inline it would commit inside the relay's transaction. Without Redis
    (and for a job lost on the way) the dunning sweep collects invoices nobody charged.
    """
    payload = event.payload
    if payload.get("sandbox") or int(payload.get("amount_due_fen") or 0) <= 0:
        return  # a sandbox invoice never charges; nothing due is paid already
    if isinstance(runner(), RqRunner):
        enqueue(collect_invoice, int(payload["invoice_id"]), queue="billing")
