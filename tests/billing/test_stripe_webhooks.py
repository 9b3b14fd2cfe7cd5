"""POST /stripe/webhook: signed, fresh, applied once, and right whatever the order."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus, SubscriptionStatus
from billing.payments.attempt_models import (
    AttemptStatus,
    DunningState,
    PaymentAttempt,
    StripeEvent,
)
from billing.payments.collection import collect
from marketplace.clock import FrozenClock
from marketplace.events.models import OutboxEvent
from tests.billing.payments_world import (
    DECLINED_CARD,
    WEBHOOK_SECRET,
    body_of,
    events_about,
    give_card,
    intent_event,
    mails_to_firm,
    open_invoice,
    signed_headers,
    stripe_client,
)
from tests.localstripe import LocalStripe

URL = "/stripe/webhook"


def _with_secret(app: Flask, secret: str | None) -> None:
    app.config["SETTINGS"] = replace(app.config["SETTINGS"], stripe_webhook_secret=secret)


@pytest.fixture(autouse=True)
def webhook_secret(app: Flask) -> Iterator[None]:
    """Give the app the endpoint's signing secret (STRIPE_WEBHOOK_SECRET) for each test."""
    previous = app.config["SETTINGS"]
    _with_secret(app, WEBHOOK_SECRET)
    yield
    app.config["SETTINGS"] = previous


def _charged(
    session: Session, clock: FrozenClock, localstripe: LocalStripe, card: str = "4242424242424242"
) -> tuple[Invoice, PaymentAttempt]:
    client = stripe_client(localstripe)
    invoice = open_invoice(session, clock)
    give_card(session, client, invoice.organization_id, card)
    attempt = collect(session, clock, client, invoice.id, retry=False)
    assert attempt is not None and attempt.stripe_payment_intent_id
    return invoice, attempt


def _event(kind: str, invoice: Invoice, attempt: PaymentAttempt, **more: object) -> dict:
    succeeded = kind == "payment_intent.succeeded"
    return intent_event(
        kind,
        str(attempt.stripe_payment_intent_id),
        invoice_id=invoice.id,
        attempt_key=attempt.idempotency_key,
        amount=attempt.amount_fen,
        status="succeeded" if succeeded else "requires_payment_method",
        error_code=None if succeeded else "card_declined",
        **more,  # type: ignore[arg-type]
    )


def _post(client: FlaskClient, event: dict, **signing: object) -> int:
    body = body_of(event)
    response = client.post(URL, data=body, headers=signed_headers(body, **signing))  # type: ignore[arg-type]
    return response.status_code


SUCCEEDED, FAILED = "payment_intent.succeeded", "payment_intent.payment_failed"


def test_a_signed_success_pays_the_invoice_once(
    client: FlaskClient, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _charged(session, clock, localstripe)
    event = _event(SUCCEEDED, invoice, attempt)

    assert _post(client, event) == 200
    assert _post(client, event) == 200  # Stripe delivers again: answered, applied once

    session.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID and invoice.paid_at == clock.now()
    assert attempt.status == AttemptStatus.SUCCEEDED and attempt.settled_at is not None
    assert events_about(session, invoice.vendor_id, "invoice.paid") == ["invoice.paid"]
    stored = session.get(StripeEvent, event["id"])
    assert stored is not None and stored.outcome == "paid" and stored.processed_at is not None


def test_a_forged_signature_is_refused_and_changes_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _charged(session, clock, localstripe)
    event = _event(SUCCEEDED, invoice, attempt)

    assert _post(client, event, secret="whsec_someone_else") == 400
    body = body_of(event)
    tampered = body.replace(b'"amount": 19000', b'"amount": 1')
    headers = signed_headers(body)
    assert client.post(URL, data=tampered, headers=headers).status_code == 400
    assert client.post(URL, data=body).status_code == 400  # no signature at all
    garbage = {"Stripe-Signature": "t=abc,v1=zz"}
    assert client.post(URL, data=body, headers=garbage).status_code == 400

    session.refresh(invoice)
    assert invoice.status == InvoiceStatus.OPEN
    assert session.get(StripeEvent, event["id"]) is None


def test_a_stale_timestamp_is_refused_even_when_the_signature_matches(
    client: FlaskClient, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _charged(session, clock, localstripe)
    event = _event(SUCCEEDED, invoice, attempt)

    assert _post(client, event, timestamp=int(time.time()) - 301) == 400
    assert _post(client, event, timestamp=int(time.time()) - 290) == 200  # inside 300 s

    session.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID


def test_without_a_configured_secret_every_event_is_refused(
    app: Flask, client: FlaskClient, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _charged(session, clock, localstripe)
    _with_secret(app, None)

    assert _post(client, _event(SUCCEEDED, invoice, attempt)) == 400


def test_a_duplicate_failure_counts_once_in_dunning(
    client: FlaskClient, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _charged(session, clock, localstripe, DECLINED_CARD)
    event = _event(FAILED, invoice, attempt)

    assert [_post(client, event) for _ in range(3)] == [200, 200, 200]

    state = session.get(DunningState, invoice.id)
    assert state is not None and state.failed_attempts == 1
    assert invoice.subscription.status == SubscriptionStatus.PAST_DUE
    kinds = ("invoice.payment_failed", "subscription.past_due")
    assert events_about(session, invoice.vendor_id, *kinds) == list(kinds)
    assert len(mails_to_firm(session, "payment_failed")) == 1


def test_a_failure_after_the_success_does_not_unpay(
    client: FlaskClient, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _charged(session, clock, localstripe)

    assert _post(client, _event(SUCCEEDED, invoice, attempt)) == 200
    assert _post(client, _event(FAILED, invoice, attempt)) == 200

    session.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert session.get(DunningState, invoice.id) is None
    assert invoice.subscription.status == SubscriptionStatus.ACTIVE
    assert events_about(session, invoice.vendor_id, "invoice.payment_failed") == []


def test_a_success_after_the_failure_pays_and_reinstates(
    client: FlaskClient, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    # Declined first; then the same intent succeeds (the firm confirmed it with its bank).
    invoice, attempt = _charged(session, clock, localstripe, DECLINED_CARD)

    assert _post(client, _event(FAILED, invoice, attempt)) == 200
    assert invoice.subscription.status == SubscriptionStatus.PAST_DUE
    assert _post(client, _event(SUCCEEDED, invoice, attempt)) == 200

    session.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID
    state = session.get(DunningState, invoice.id)
    assert state is not None and state.resolved_at is not None and state.next_retry_at is None
    assert invoice.subscription.status == SubscriptionStatus.ACTIVE
    kinds = ("subscription.past_due", "subscription.reinstated", "invoice.paid")
    assert attempt.status == AttemptStatus.SUCCEEDED
    assert events_about(session, invoice.vendor_id, *kinds) == list(kinds)
    assert len(mails_to_firm(session, "payment_received")) == 1


def test_a_webhook_that_overtakes_the_job_finds_the_attempt_by_its_key(
    client: FlaskClient, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _charged(session, clock, localstripe)
    intent_id = attempt.stripe_payment_intent_id
    attempt.stripe_payment_intent_id = None  # as if the job had not recorded it yet
    session.flush()
    event = _event(SUCCEEDED, invoice, attempt)
    event["data"]["object"]["id"] = intent_id

    assert _post(client, event) == 200

    session.refresh(attempt)
    assert attempt.stripe_payment_intent_id == intent_id
    session.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID


def test_events_of_intents_we_do_not_know_and_other_types_are_acknowledged(
    client: FlaskClient, session: Session
) -> None:
    stranger = intent_event(
        SUCCEEDED, "pi_not_ours", invoice_id=1, attempt_key="nope", amount=5, status="succeeded"
    )
    other = {"id": "evt_customer_1", "type": "customer.created", "data": {"object": {}}}

    assert _post(client, stranger) == 200
    assert _post(client, other) == 200

    outcomes = dict(session.execute(sa.select(StripeEvent.id, StripeEvent.outcome)).all())
    assert outcomes[stranger["id"]] == "unknown_payment_intent"
    assert outcomes["evt_customer_1"] == "ignored"
    assert session.scalar(sa.select(sa.func.count(OutboxEvent.id))) == 0
