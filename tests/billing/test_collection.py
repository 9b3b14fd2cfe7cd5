"""Collecting a finalized invoice: an off-session PaymentIntent at localstripe, recorded once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import InvoiceStatus, SubscriptionStatus
from billing.payments import collection
from billing.payments.attempt_models import AttemptStatus, DunningState, PaymentAttempt
from billing.payments.collection import attempt_key, collect, on_invoice_finalized
from marketplace.clock import FrozenClock
from marketplace.events.models import OutboxEvent
from marketplace.jobs import RqRunner
from tests.billing.payments_world import (
    DECLINED_CARD,
    events_about,
    give_card,
    mails_to_firm,
    open_invoice,
    stripe_client,
)
from tests.localstripe import LocalStripe


def _attempts(session: Session, invoice_id: int) -> list[PaymentAttempt]:
    stmt = sa.select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice_id)
    return list(session.scalars(stmt.order_by(PaymentAttempt.number)))


def test_a_finalized_invoice_is_charged_off_session_for_its_net_amount(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    client = stripe_client(localstripe)
    invoice = open_invoice(session, clock)
    give_card(session, client, invoice.organization_id)

    attempt = collect(session, clock, client, invoice.id, retry=False)

    assert attempt is not None and attempt.status == AttemptStatus.SUCCEEDED
    assert attempt.idempotency_key == f"invoice-{invoice.id}-attempt-1"
    assert attempt.amount_fen == invoice.amount_due_fen == 19000
    assert attempt.settled_at is None  # the webhook pays the invoice, not the job
    intent = client.v1.payment_intents.retrieve(str(attempt.stripe_payment_intent_id))
    assert (intent.amount, intent.currency, intent.status) == (19000, "cny", "succeeded")
    assert intent.metadata["invoice_id"] == str(invoice.id)
    assert intent.metadata["attempt_key"] == attempt.idempotency_key
    session.refresh(invoice)
    assert invoice.status == InvoiceStatus.OPEN


def test_collecting_twice_makes_one_attempt(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    client = stripe_client(localstripe)
    invoice = open_invoice(session, clock)
    give_card(session, client, invoice.organization_id)

    first = collect(session, clock, client, invoice.id, retry=False)
    second = collect(session, clock, client, invoice.id, retry=False)
    early_retry = collect(session, clock, client, invoice.id, retry=True)

    assert first is not None and second is None and early_retry is None
    assert [a.number for a in _attempts(session, invoice.id)] == [1]


def test_a_declined_card_is_recorded_with_its_intent_and_code(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    client = stripe_client(localstripe)
    invoice = open_invoice(session, clock)
    give_card(session, client, invoice.organization_id, DECLINED_CARD)

    attempt = collect(session, clock, client, invoice.id, retry=False)

    assert attempt is not None and attempt.status == AttemptStatus.FAILED
    assert attempt.failure_code == "card_declined"
    assert attempt.stripe_payment_intent_id is not None
    intent = client.v1.payment_intents.retrieve(attempt.stripe_payment_intent_id)
    assert intent.status == "requires_payment_method"
    assert attempt.settled_at is None  # dunning starts when Stripe's webhook says so


def test_a_firm_without_a_card_starts_dunning_at_once_and_is_asked_for_one(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    client = stripe_client(localstripe)
    invoice = open_invoice(session, clock)

    attempt = collect(session, clock, client, invoice.id, retry=False)

    assert attempt is not None and attempt.status == AttemptStatus.FAILED
    assert attempt.failure_code == "no_payment_method" and attempt.settled_at is not None
    assert attempt.stripe_payment_intent_id is None
    state = session.get(DunningState, invoice.id)
    assert state is not None and state.failed_attempts == 1
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.subscription.status == SubscriptionStatus.PAST_DUE
    assert events_about(session, invoice.vendor_id, "invoice.payment_failed") == [
        "invoice.payment_failed"
    ]
    [mail] = mails_to_firm(session, "card_missing")
    assert "添加" in mail.body or "银行卡" in mail.body  # Chinese by default
    assert invoice.number is not None and invoice.number in mail.subject


@pytest.mark.parametrize("change", ["sandbox", "zero", "paid"])
def test_sandbox_zero_and_settled_invoices_are_never_charged(
    session: Session, clock: FrozenClock, localstripe: LocalStripe, change: str
) -> None:
    client = stripe_client(localstripe)
    invoice = open_invoice(session, clock)
    give_card(session, client, invoice.organization_id)
    if change == "sandbox":
        invoice.sandbox = True
    elif change == "zero":
        invoice.amount_due_fen = 0
    else:
        invoice.status = InvoiceStatus.PAID
    session.flush()

    assert collect(session, clock, client, invoice.id, retry=False) is None
    assert _attempts(session, invoice.id) == []


def test_the_finalized_handler_queues_only_live_invoices_with_something_due(
    session: Session, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    queued: list[tuple[object, ...]] = []
    monkeypatch.setattr(collection, "runner", lambda: RqRunner.__new__(RqRunner))
    monkeypatch.setattr(collection, "enqueue", lambda *args, **kw: queued.append((*args, kw)))

    for payload in (
        {"invoice_id": 7, "sandbox": False, "amount_due_fen": 100},
        {"invoice_id": 8, "sandbox": True, "amount_due_fen": 100},
        {"invoice_id": 9, "sandbox": False, "amount_due_fen": 0},
    ):
        on_invoice_finalized(session, OutboxEvent(type="invoice.finalized", payload=payload))

    assert queued == [(collection.collect_invoice, 7, {"queue": "billing"})]


def test_attempt_keys_name_the_invoice_and_the_attempt() -> None:
    assert attempt_key(42, 3) == "invoice-42-attempt-3"


def test_a_resent_attempt_asks_for_the_card_it_was_made_for(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    client = stripe_client(localstripe)
    invoice = open_invoice(session, clock)
    first_card = give_card(session, client, invoice.organization_id)
    attempt = collection.reserve_attempt(session, clock, invoice.id, retry=False)
    assert attempt is not None and attempt.status == AttemptStatus.CREATING
    give_card(session, client, invoice.organization_id)  # a new default before the send

    sent = collection.send_attempt(session, clock, client, attempt)

    intent = client.v1.payment_intents.retrieve(str(sent.stripe_payment_intent_id))
    assert intent.payment_method == first_card.stripe_payment_method_id
    assert attempt.stripe_payment_method_id == first_card.stripe_payment_method_id
