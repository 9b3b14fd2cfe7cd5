"""A credit note on an invoice paid by card is refunded at Stripe: its amount, once, capped.

The refund goes the way it goes in production: the credit note's outbox event reaches the
handlers registered for credit_note.created, which queue the refund job (run inline here),
which refunds the note's amount on the invoice's PaymentIntent at localstripe.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import CreditNote, Invoice, InvoiceStatus
from billing.payments import refunds
from billing.payments.attempt_models import PaymentAttempt, PaymentRefund
from billing.payments.collection import collect
from billing.payments.config import payment_settings
from billing.payments.dunning import sweep
from billing.payments.refunds import refund_credit_note, refund_credit_note_job, refund_key
from billing.payments.settlement import lock_invoice, settle_success
from billing.services import invoices
from billing.services.credit_notes import PaymentInFlight
from marketplace.audit.models import AuditEntry
from marketplace.clock import FrozenClock
from marketplace.events.handlers import handlers_for
from marketplace.events.models import OutboxEvent
from marketplace.jobs import RqRunner
from tests.billing.conftest import ACTOR
from tests.billing.payment_fixtures import stripe
from tests.billing.payments_world import give_card, open_invoice, stripe_client
from tests.localstripe import LocalStripe

__all__ = ["stripe"]  # the fixture, imported for the tests below
pytestmark = pytest.mark.usefixtures("stripe", "inline_jobs")


def _paid_by_card(
    session: Session, clock: FrozenClock, localstripe: LocalStripe, invoice: Invoice | None = None
) -> tuple[Invoice, PaymentAttempt]:
    """Charge an open invoice's good card at localstripe and settle it as the webhook would."""
    client = stripe_client(localstripe)
    invoice = invoice or open_invoice(session, clock)
    give_card(session, client, invoice.organization_id)
    attempt = collect(session, clock, client, invoice.id, retry=False)
    assert attempt is not None and attempt.stripe_payment_intent_id
    locked = lock_invoice(session, invoice.id)
    assert locked is not None
    assert settle_success(session, clock, locked, attempt) == "paid"
    session.refresh(invoice)
    assert invoice.status == InvoiceStatus.PAID
    return invoice, attempt


def _credit(session: Session, clock: FrozenClock, invoice: Invoice, amount_fen: int) -> CreditNote:
    """Record a credit note, then run the refund job its event queues on a worker."""
    note = invoices.create_credit_note(session, clock, ACTOR, invoice, amount_fen, "outage")
    refund_credit_note_job(note.id)
    return note


def _event_of(session: Session, note: CreditNote) -> OutboxEvent:
    stmt = sa.select(OutboxEvent).where(
        OutboxEvent.type == "credit_note.created",
        OutboxEvent.payload["credit_note_id"].as_integer() == note.id,
    )
    return session.scalars(stmt).one()


def _stripe_refunds(localstripe: LocalStripe, intent_id: str) -> list[Any]:
    client = stripe_client(localstripe)
    return list(client.v1.refunds.list({"payment_intent": intent_id, "limit": 100}).data)


def _refunds(session: Session, invoice_id: int) -> list[PaymentRefund]:
    stmt = (
        sa.select(PaymentRefund)
        .join(PaymentAttempt, PaymentAttempt.id == PaymentRefund.payment_attempt_id)
        .where(PaymentAttempt.invoice_id == invoice_id)
        .order_by(PaymentRefund.id)
    )
    return list(session.scalars(stmt))


def test_a_credit_note_on_a_paid_invoice_is_refunded_at_stripe_for_its_amount(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _paid_by_card(session, clock, localstripe)
    intent_id = str(attempt.stripe_payment_intent_id)

    note = _credit(session, clock, invoice, 4500)

    [refund] = _refunds(session, invoice.id)
    assert (refund.credit_note_id, refund.amount_fen, refund.status) == (note.id, 4500, "succeeded")
    assert refund.idempotency_key == refund_key(note.id) == f"credit-note-{note.id}-refund"
    [theirs] = _stripe_refunds(localstripe, intent_id)
    assert (theirs.id, theirs.amount, theirs.currency) == (refund.stripe_refund_id, 4500, "cny")
    assert theirs.metadata["credit_note_id"] == str(note.id)
    audit = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "credit_note.refunded")
    ).one()
    assert audit.after == {"credit_note_id": note.id, "amount_fen": 4500}


def test_a_credit_note_is_refunded_once_however_often_its_job_runs(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _paid_by_card(session, clock, localstripe)
    note = _credit(session, clock, invoice, 3000)

    # The relay ran the handler again after a crash, and the job was delivered twice.
    assert refund_credit_note_job(note.id) is None
    assert refund_credit_note(session, clock, stripe_client(localstripe), note.id) is None

    assert [r.amount_fen for r in _refunds(session, invoice.id)] == [3000]
    refunds = _stripe_refunds(localstripe, str(attempt.stripe_payment_intent_id))
    assert [r.amount for r in refunds] == [3000]


def test_refunds_never_give_back_more_than_the_card_paid(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    # ¥190.00 invoiced; ¥40.00 credited while open, so the card pays ¥150.00.
    open_one = open_invoice(session, clock)
    before = _credit(session, clock, open_one, 4000)
    assert _refunds(session, open_one.id) == []  # nothing was taken yet: nothing to give back
    invoice, attempt = _paid_by_card(session, clock, localstripe, open_one)
    assert attempt.amount_fen == 15000

    # The rest of the invoice is credited in two notes: ¥100.00, then the last ¥50.00.
    first = _credit(session, clock, invoice, 10000)
    last = _credit(session, clock, invoice, 5000)

    refunds = _refunds(session, invoice.id)
    assert [(r.credit_note_id, r.amount_fen) for r in refunds] == [
        (first.id, 10000),
        (last.id, 5000),
    ]
    theirs = _stripe_refunds(localstripe, str(attempt.stripe_payment_intent_id))
    assert sum(r.amount for r in theirs) == 15000 == attempt.amount_fen
    assert before.amount_fen + first.amount_fen + last.amount_fen == invoice.total_fen


def test_a_refund_is_capped_by_what_is_left_of_the_payment(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _paid_by_card(session, clock, localstripe)
    # ¥180.00 of the ¥190.00 was already given back another way (an earlier refund row).
    session.add(
        PaymentRefund(
            credit_note_id=invoices.create_credit_note(
                session, clock, ACTOR, invoice, 1000, "earlier"
            ).id,
            payment_attempt_id=attempt.id,
            idempotency_key="earlier-refund",
            amount_fen=18000,
            status="succeeded",
            created_at=clock.now(),
            updated_at=clock.now(),
        )
    )
    session.flush()

    note = _credit(session, clock, invoice, 5000)

    [capped] = [r for r in _refunds(session, invoice.id) if r.credit_note_id == note.id]
    assert capped.amount_fen == 1000
    theirs = _stripe_refunds(localstripe, str(attempt.stripe_payment_intent_id))
    assert [r.amount for r in theirs] == [1000]


def test_no_refund_for_a_sandbox_invoice_an_open_one_or_one_paid_without_a_card(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    open_one = open_invoice(session, clock)
    _credit(session, clock, open_one, 1000)  # lowers what is due; nothing was taken

    unpaid_by_card = open_invoice(session, clock)
    invoices.mark_paid(session, clock, ACTOR, unpaid_by_card)  # a bank transfer
    _credit(session, clock, unpaid_by_card, 1000)

    sandbox, attempt = _paid_by_card(session, clock, localstripe)
    sandbox.sandbox = True  # as if it were a sandbox invoice that had a card payment
    session.flush()
    _credit(session, clock, sandbox, 1000)

    assert session.scalar(sa.select(sa.func.count(PaymentRefund.id))) == 0
    assert _stripe_refunds(localstripe, str(attempt.stripe_payment_intent_id)) == []


def test_the_credit_note_handler_queues_the_refund_on_a_worker_and_never_runs_it_inline(
    session: Session, clock: FrozenClock, localstripe: LocalStripe, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice, _ = _paid_by_card(session, clock, localstripe)
    note = invoices.create_credit_note(session, clock, ACTOR, invoice, 1000, "outage")
    event = _event_of(session, note)
    queued: list[tuple[Any, ...]] = []
    monkeypatch.setattr(refunds, "enqueue", lambda *args, **kwargs: queued.append(args))
    [handler] = [h for h in handlers_for(event.type) if h is refunds.on_credit_note_created]

    handler(session, event)  # inline: it would commit inside the relay's transaction
    assert queued == [] and _refunds(session, invoice.id) == []
    monkeypatch.setattr(refunds, "runner", lambda: RqRunner.__new__(RqRunner))
    handler(session, event)

    assert queued == [(refund_credit_note_job, note.id)]


def test_the_dunning_sweep_refunds_credit_notes_whose_refund_never_reached_stripe(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    invoice, attempt = _paid_by_card(session, clock, localstripe)
    note = invoices.create_credit_note(session, clock, ACTOR, invoice, 2500, "outage")
    assert refunds.forgotten_refunds(session) == [note.id]

    report = sweep(session, clock, stripe_client(localstripe), payment_settings())

    assert report.refunded == 1 and refunds.forgotten_refunds(session) == []
    [theirs] = _stripe_refunds(localstripe, str(attempt.stripe_payment_intent_id))
    assert theirs.amount == 2500


def test_a_credit_note_or_void_waits_while_a_payment_is_out(
    session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    client = stripe_client(localstripe)
    invoice = open_invoice(session, clock)
    give_card(session, client, invoice.organization_id)
    attempt = collect(session, clock, client, invoice.id, retry=False)
    assert attempt is not None and attempt.settled_at is None  # the webhook has not come yet

    with pytest.raises(PaymentInFlight):
        invoices.create_credit_note(session, clock, ACTOR, invoice, 4000, "outage")
    with pytest.raises(PaymentInFlight):
        invoices.void_invoice(session, clock, ACTOR, invoice)

    session.refresh(invoice)
    assert invoice.status == InvoiceStatus.OPEN and invoice.amount_due_fen == attempt.amount_fen
    assert session.scalars(sa.select(CreditNote)).all() == []
