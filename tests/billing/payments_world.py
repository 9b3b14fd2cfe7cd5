"""Helpers of the collection tests: an open invoice, a card at localstripe, signed events."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import stripe
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus
from billing.payments.models import PaymentCustomer, PaymentMethod
from marketplace.clock import FrozenClock
from marketplace.events.models import OutboxEvent
from marketplace.mail.models import OutboundEmail
from tests.billing.test_close import GRACE, START, active, invoices_of, run
from tests.localstripe import TEST_SECRET_KEY, LocalStripe

WEBHOOK_SECRET = "whsec_test_yunshi"
GOOD_CARD = "4242424242424242"
# localstripe attaches this card but declines every charge on it.
DECLINED_CARD = "4000000000000341"


def stripe_client(localstripe: LocalStripe) -> stripe.StripeClient:
    """Return a stripe client talking to the test run's localstripe."""
    return stripe.StripeClient(
        TEST_SECRET_KEY, base_addresses={"api": localstripe.url}, max_network_retries=0
    )


def open_invoice(session: Session, clock: FrozenClock, seats: int = 3) -> Invoice:
    """Subscribe a new firm (with its owner) and finalize its first invoice: ¥190.00 open."""
    clock.set(START)
    subscription = active(session, clock, seats=seats)
    run(session, clock, START + GRACE)
    [invoice] = invoices_of(session, subscription)
    assert invoice.status == InvoiceStatus.OPEN and invoice.amount_due_fen > 0
    return invoice


def give_card(
    session: Session, client: stripe.StripeClient, org_id: int, number: str = GOOD_CARD
) -> PaymentMethod:
    """Make the firm a customer at localstripe with a card of this number as its default."""
    customer = session.scalars(
        sa.select(PaymentCustomer).where(PaymentCustomer.organization_id == org_id)
    ).one_or_none()
    now = datetime(2026, 3, 1, tzinfo=UTC)
    if customer is None:
        stripe_customer = client.v1.customers.create({"name": f"firm {org_id}"})
        customer = PaymentCustomer(
            organization_id=org_id, stripe_customer_id=stripe_customer.id, created_at=now
        )
        session.add(customer)
    params: Any = {
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
    }
    method = client.v1.payment_methods.create(params)
    client.v1.payment_methods.attach(method.id, {"customer": customer.stripe_customer_id})
    session.execute(
        sa.update(PaymentMethod)
        .where(PaymentMethod.organization_id == org_id)
        .values(is_default=False)
    )
    row = PaymentMethod(
        organization_id=org_id,
        stripe_payment_method_id=method.id,
        brand="visa",
        last4=number[-4:],
        exp_month=12,
        exp_year=2030,
        is_default=True,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def intent_event(
    kind: str,
    intent_id: str,
    *,
    invoice_id: int,
    attempt_key: str,
    amount: int,
    status: str,
    event_id: str | None = None,
    error_code: str | None = None,
) -> dict[str, Any]:
    """Return a Stripe event about a PaymentIntent, shaped as Stripe (and localstripe) send it."""
    error = {"code": error_code, "message": "Your card was declined."} if error_code else None
    return {
        "id": event_id or f"evt_{uuid.uuid4().hex[:14]}",
        "object": "event",
        "type": kind,
        "created": int(time.time()),
        "livemode": False,
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": amount,
                "currency": "cny",
                "status": status,
                "last_payment_error": error,
                "metadata": {"invoice_id": str(invoice_id), "attempt_key": attempt_key},
            }
        },
    }


def signed_headers(
    body: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None
) -> dict[str, str]:
    """Return the headers Stripe sends with a body signed under a secret at a time."""
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode("utf-8"), secret, timestamp
    )
    return {"Stripe-Signature": header, "Content-Type": "application/json"}


def body_of(event: dict[str, Any]) -> bytes:
    """Serialize an event the way it goes over the wire."""
    return json.dumps(event).encode("utf-8")


def events_about(session: Session, org_id: int, *kinds: str) -> list[str]:
    """Return the types of the outbox events to an organization, oldest first, of some kinds."""
    stmt = (
        sa.select(OutboxEvent.type)
        .where(OutboxEvent.organization_id == org_id, OutboxEvent.type.in_(kinds))
        .order_by(OutboxEvent.id)
    )
    return list(session.scalars(stmt))


def mails_to_firm(session: Session, kind: str) -> list[OutboundEmail]:
    """Return the queued mails of a kind, oldest first."""
    stmt = sa.select(OutboundEmail).where(OutboundEmail.kind == kind).order_by(OutboundEmail.id)
    return list(session.scalars(stmt))
