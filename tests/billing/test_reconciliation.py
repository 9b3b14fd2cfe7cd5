"""Reconciliation: our invoices and attempts against localstripe's PaymentIntents."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus
from billing.payments.attempt_models import AttemptStatus, PaymentAttempt
from billing.payments.collection import collect
from billing.payments.gateway import StripeConnection, stripe_gateway
from billing.payments.reconciliation import format_report, reconcile
from billing.payments.settlement import lock_invoice, settle_success
from marketplace.clock import FrozenClock
from tests.billing.payments_world import DECLINED_CARD, give_card, open_invoice, stripe_client
from tests.localstripe import TEST_SECRET_KEY, LocalStripe


def _charged(
    session: Session, clock: FrozenClock, localstripe: LocalStripe, card: str = "4242424242424242"
) -> tuple[Invoice, PaymentAttempt]:
    client = stripe_client(localstripe)
    invoice = open_invoice(session, clock)
    give_card(session, client, invoice.organization_id, card)
    attempt = collect(session, clock, client, invoice.id, retry=False)
    assert attempt is not None
    return invoice, attempt


def _kinds(session: Session, localstripe: LocalStripe, *invoices: Invoice) -> set[tuple[str, int]]:
    report = reconcile(session, stripe_client(localstripe))
    ids = {i.id for i in invoices}
    # localstripe serves the whole run: only this test's invoices are looked at.
    return {(m.kind, m.invoice_id) for m in report.mismatches if m.invoice_id in ids}


def test_books_that_agree_with_stripe_report_nothing(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _charged(session, clock, localstripe)
    lock_invoice(session, invoice.id)
    settle_success(session, clock, invoice, attempt)

    assert invoice.status == InvoiceStatus.PAID
    assert _kinds(session, localstripe, invoice) == set()


def test_each_kind_of_disagreement_is_reported(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    open_here, _ = _charged(session, clock, localstripe)  # succeeded there, no webhook yet
    wrong_amount, short = _charged(session, clock, localstripe)
    short.amount_fen = 100  # as if the invoice had asked for less than Stripe took
    not_there, declined = _charged(session, clock, localstripe, DECLINED_CARD)
    declined.status = AttemptStatus.SUCCEEDED  # our books say paid; Stripe says declined
    not_there.status = InvoiceStatus.PAID
    session.flush()

    assert _kinds(session, localstripe, open_here, wrong_amount, not_there) == {
        ("succeeded_there_open_here", open_here.id),
        ("succeeded_there_open_here", wrong_amount.id),
        ("amount_differs", wrong_amount.id),
        ("status_differs", not_there.id),
        ("paid_here_not_there", not_there.id),
    }


def test_money_taken_on_an_invoice_closed_here_is_reported(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    voided, _ = _charged(session, clock, localstripe)  # succeeded at Stripe
    written_off, _ = _charged(session, clock, localstripe)
    voided.status = InvoiceStatus.VOID  # as if it had been closed while the webhook was lost
    written_off.status = InvoiceStatus.UNCOLLECTIBLE
    session.flush()

    assert _kinds(session, localstripe, voided, written_off) == {
        ("charged_but_closed_here", voided.id),
        ("charged_but_closed_here", written_off.id),
    }


@pytest.fixture
def gateway_on_localstripe(app: Flask, localstripe: LocalStripe) -> Iterator[None]:
    """Point the app's Stripe gateway at the run's localstripe for one test."""
    fake = StripeConnection(TEST_SECRET_KEY, localstripe.url, "pk_test_x", localstripe.js_url)
    previous = stripe_gateway.connect(app, fake)
    yield
    if previous is not None:
        stripe_gateway.connect(app, previous)


def test_the_cli_prints_the_report_and_fails_on_mismatches(
    app: Flask,
    session: Session,
    clock: FrozenClock,
    localstripe: LocalStripe,
    gateway_on_localstripe: None,
) -> None:
    invoice, _ = _charged(session, clock, localstripe)

    result = app.test_cli_runner().invoke(args=["billing", "reconcile"])

    assert result.exit_code == 1
    assert f"succeeded_there_open_here\tinvoice {invoice.id}\t" in result.output
    assert result.output.startswith("invoices compared: ")


def test_the_report_reads_as_one_line_per_mismatch() -> None:
    from billing.payments.reconciliation import Mismatch, ReconciliationReport

    report = ReconciliationReport(2, 3, [Mismatch("paid_twice", 5, "pi_a, pi_b", "charged twice")])

    assert format_report(report).splitlines() == [
        "invoices compared: 2; Stripe payment intents: 3; mismatches: 1",
        "paid_twice\tinvoice 5\tintent pi_a, pi_b\tcharged twice",
    ]
