"""The dunning sweep: lost webhooks settled from Stripe, retries on schedule, suspension."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from billing.models import InvoiceStatus, SubscriptionStatus
from billing.payments.attempt_models import AttemptStatus, DunningState, PaymentAttempt
from billing.payments.collection import collect
from billing.payments.config import payment_settings
from billing.payments.dunning import DunningReport, sweep
from billing.services import invoices
from marketplace.clock import FrozenClock
from tests.billing.conftest import ACTOR
from tests.billing.payments_world import (
    DECLINED_CARD,
    events_about,
    give_card,
    mails_to_firm,
    open_invoice,
    stripe_client,
)
from tests.localstripe import LocalStripe

DAY, HOUR = timedelta(days=1), timedelta(hours=1)


def _attempts(session: Session, invoice_id: int) -> list[tuple[int, str, bool]]:
    stmt = (
        sa.select(PaymentAttempt)
        .where(PaymentAttempt.invoice_id == invoice_id)
        .order_by(PaymentAttempt.number)
    )
    return [(a.number, a.status, a.settled_at is not None) for a in session.scalars(stmt)]


def test_dunning_retries_on_schedule_suspends_after_the_grace_and_a_payment_reinstates(
    app: Flask, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    client, settings = stripe_client(localstripe), payment_settings(app)
    invoice = open_invoice(session, clock)
    firm_id, vendor_id = invoice.organization_id, invoice.vendor_id
    give_card(session, client, firm_id, DECLINED_CARD)
    finalized = invoice.finalized_at
    assert finalized is not None

    def sweep_at(at: datetime) -> DunningReport:
        clock.set(at)
        return sweep(session, clock, client, settings)

    collect(session, clock, client, invoice.id, retry=False)
    # No webhook came: an hour on, the sweep asks Stripe and settles the failure itself.
    assert sweep_at(finalized + 30 * timedelta(minutes=1)).settled == 0
    assert sweep_at(finalized + 2 * HOUR).settled == 1
    assert invoice.subscription.status == SubscriptionStatus.PAST_DUE
    state = session.get(DunningState, invoice.id)
    assert state is not None and state.next_retry_at == finalized + DAY

    assert sweep_at(finalized + DAY).retried == 1  # retry 1, on day 1
    assert sweep_at(finalized + DAY + 2 * HOUR).settled == 1
    assert state.failed_attempts == 2 and state.next_retry_at == finalized + 3 * DAY
    assert sweep_at(finalized + 2 * DAY).retried == 0  # nothing due in between

    for day in (3, 7):
        assert sweep_at(finalized + day * DAY).retried == 1
        sweep_at(finalized + day * DAY + 2 * HOUR)
    assert state.failed_attempts == 4 and state.next_retry_at is None
    assert sweep_at(finalized + 13 * DAY).suspended == 0

    report = sweep_at(state.started_at + 14 * DAY)
    assert report.suspended == 1 and report.errors == []
    assert invoice.subscription.status == SubscriptionStatus.SUSPENDED
    assert sweep_at(state.started_at + 15 * DAY).suspended == 0  # once

    # The firm puts in a good card and pays; the sweep applies the success no webhook brought.
    give_card(session, client, firm_id)
    assert collect(session, clock, client, invoice.id, retry=True) is not None
    sweep_at(clock.now() + 2 * HOUR)

    assert invoice.status == InvoiceStatus.PAID
    assert invoice.subscription.status == SubscriptionStatus.ACTIVE
    assert state.resolved_at is not None
    assert [a[1:] for a in _attempts(session, invoice.id)] == [(AttemptStatus.FAILED, True)] * 4 + [
        (AttemptStatus.SUCCEEDED, True)
    ]
    kinds = (
        "subscription.past_due",
        "invoice.payment_failed",
        "subscription.suspended",
        "subscription.reinstated",
        "invoice.paid",
    )
    seen = events_about(session, vendor_id, *kinds)
    assert seen.count("invoice.payment_failed") == 4
    assert [k for k in seen if k != "invoice.payment_failed"] == [
        "subscription.past_due",
        "subscription.suspended",
        "subscription.reinstated",
        "invoice.paid",
    ]
    assert len(mails_to_firm(session, "payment_failed")) == 4
    assert len(mails_to_firm(session, "service_suspended")) == 1
    assert len(mails_to_firm(session, "payment_received")) == 1


def test_an_invoice_paid_another_way_ends_its_dunning_and_reinstates(
    app: Flask, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    client, settings = stripe_client(localstripe), payment_settings(app)
    invoice = open_invoice(session, clock)
    collect(session, clock, client, invoice.id, retry=False)  # no card: dunning starts
    assert invoice.subscription.status == SubscriptionStatus.PAST_DUE

    invoices.mark_paid(session, clock, ACTOR, invoice)  # the operator records a transfer
    report = sweep(session, clock, client, settings)

    assert report.resolved == 1
    assert invoice.subscription.status == SubscriptionStatus.ACTIVE
    state = session.get(DunningState, invoice.id)
    assert state is not None and state.resolved_at == clock.now()
    clock.set(clock.now() + 30 * DAY)
    assert sweep(session, clock, client, settings).suspended == 0


def test_an_invoice_nobody_charged_is_collected_by_the_sweep(
    app: Flask, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    client, settings = stripe_client(localstripe), payment_settings(app)
    invoice = open_invoice(session, clock)
    give_card(session, client, invoice.organization_id)

    assert sweep(session, clock, client, settings).collected == 0  # the job may still come
    clock.set(clock.now() + 2 * HOUR)
    assert sweep(session, clock, client, settings).collected == 1
    assert _attempts(session, invoice.id) == [(1, AttemptStatus.SUCCEEDED, False)]
    assert sweep(session, clock, client, settings).collected == 0


def test_a_failure_without_a_payment_intent_is_counted_by_the_sweep(
    app: Flask, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    client, settings = stripe_client(localstripe), payment_settings(app)
    invoice = open_invoice(session, clock)
    # Stripe refused before it made an intent: no webhook will ever settle this attempt.
    session.add(
        PaymentAttempt(
            invoice_id=invoice.id,
            organization_id=invoice.organization_id,
            number=1,
            idempotency_key=f"invoice-{invoice.id}-attempt-1",
            amount_fen=invoice.amount_due_fen,
            currency=invoice.currency,
            status=AttemptStatus.FAILED,
            failure_code="card_declined",
            created_at=clock.now(),
            updated_at=clock.now(),
        )
    )
    session.commit()
    clock.set(clock.now() + 2 * HOUR)

    assert sweep(session, clock, client, settings).settled == 1

    state = session.get(DunningState, invoice.id)
    assert state is not None and state.next_retry_at is not None
    assert _attempts(session, invoice.id) == [(1, AttemptStatus.FAILED, True)]
