"""Finalized invoices: settling, correcting, reading per tenant, numbering, the estimate."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from billing.invoicing import LineKind, LineValues
from billing.models import CreditNote, Invoice, InvoiceStatus, PendingCharge
from billing.services import changes, credit_notes, invoices
from billing.services import subscriptions as subs
from billing.services.close import close_due_periods
from billing.services.invoices import estimate_next_invoice
from billing.subsidies.applying import apply_subsidies
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import Clock, FrozenClock
from marketplace.errors import NotFound, ValidationFailed
from tests.billing.conftest import ACTOR, BUSINESS, add_plan
from tests.billing.test_close import (
    APRIL,
    GRACE,
    METERED,
    START,
    active,
    events_of,
    invoices_of,
    lines_of,
    run,
    use,
)

D = Decimal


def _open_invoice(session: Session, clock: FrozenClock) -> Invoice:
    clock.set(START)
    subscription = active(session, clock, seats=3)  # ¥190.00 at the first boundary
    run(session, clock, START + GRACE)
    [invoice] = invoices_of(session, subscription)
    assert invoice.status == InvoiceStatus.OPEN
    return invoice


def test_an_open_invoice_can_be_paid_voided_or_given_up(
    session: Session, clock: FrozenClock
) -> None:
    paid, void, lost = (_open_invoice(session, clock) for _ in range(3))

    invoices.mark_paid(session, clock, ACTOR, paid)
    invoices.void_invoice(session, clock, ACTOR, void)
    invoices.mark_uncollectible(session, clock, ACTOR, lost)

    assert (paid.status, paid.paid_at) == (InvoiceStatus.PAID, clock.now())
    assert (void.status, void.voided_at) == (InvoiceStatus.VOID, clock.now())
    assert lost.status == InvoiceStatus.UNCOLLECTIBLE
    assert void.number is not None  # a voided number stays used: the sequence keeps no gap
    kinds = [e.type for e in events_of(session, "invoice.voided")]
    assert kinds == ["invoice.voided"]
    actions = session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.target_type == "invoice")
    )
    assert sorted(actions) == ["invoice.marked_uncollectible", "invoice.paid", "invoice.voided"]


def test_an_uncollectible_invoice_may_still_be_paid_or_voided(
    session: Session, clock: FrozenClock
) -> None:
    invoice = _open_invoice(session, clock)
    invoices.mark_uncollectible(session, clock, ACTOR, invoice)

    invoices.mark_paid(session, clock, ACTOR, invoice)

    assert invoice.status == InvoiceStatus.PAID


@pytest.mark.parametrize("status", ["draft", "paid", "void"])
def test_moves_a_status_does_not_allow_are_refused(
    session: Session, clock: FrozenClock, status: str
) -> None:
    invoice = _open_invoice(session, clock)
    invoice.status = status

    with pytest.raises(invoices.InvoiceStateError):
        invoices.void_invoice(session, clock, ACTOR, invoice)
    with pytest.raises(invoices.InvoiceStateError):
        invoices.mark_uncollectible(session, clock, ACTOR, invoice)


def test_a_draft_can_be_finalized_early_by_id_but_only_once(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock)
    close_due_periods(session, clock)
    [draft] = invoices_of(session, subscription)

    invoices.finalize_invoice(session, clock, draft.id)

    assert draft.status == InvoiceStatus.OPEN and draft.number == "YS-2026-000001"
    with pytest.raises(invoices.InvoiceStateError):
        invoices.finalize_invoice(session, clock, draft.id)
    with pytest.raises(NotFound):
        invoices.finalize_invoice(session, clock, draft.id + 10_000)


def test_numbers_restart_each_year_in_shanghai(session: Session, clock: FrozenClock) -> None:
    first = active(session, clock)
    second = active(session, clock)
    close_due_periods(session, clock)
    [a], [b] = invoices_of(session, first), invoices_of(session, second)

    clock.set(datetime(2026, 12, 31, 15, 59, tzinfo=UTC))  # 23:59 on 31 December in Shanghai
    invoices.finalize_invoice(session, clock, a.id)
    clock.set(datetime(2026, 12, 31, 16, 0, tzinfo=UTC))  # already 1 January 2027 there
    invoices.finalize_invoice(session, clock, b.id)

    assert (a.number, b.number) == ("YS-2026-000001", "YS-2027-000001")


def test_a_credit_note_reduces_what_an_open_invoice_asks_for(
    session: Session, clock: FrozenClock
) -> None:
    invoice = _open_invoice(session, clock)

    note = invoices.create_credit_note(session, clock, ACTOR, invoice, 5300, "  Two days down  ")

    # 5300 × 6/106 = 300 exactly.
    assert (note.amount_fen, note.tax_fen, note.reason) == (5300, 300, "Two days down")
    assert invoice.amount_due_fen == 19000 - 5300 and invoice.status == InvoiceStatus.OPEN
    [event] = events_of(session, "credit_note.created")
    assert event.payload["credit_note_id"] == note.id and event.payload["credit_fen"] == 5300


def test_crediting_the_rest_of_an_open_invoice_settles_it(
    session: Session, clock: FrozenClock
) -> None:
    invoice = _open_invoice(session, clock)
    invoices.create_credit_note(session, clock, ACTOR, invoice, 9000, "Seats never used")

    invoices.create_credit_note(session, clock, ACTOR, invoice, 10000, "Service outage")

    assert invoice.amount_due_fen == 0 and invoice.status == InvoiceStatus.PAID
    assert credit_notes.creditable_fen(session, invoice) == 0
    assert len(events_of(session, "invoice.paid")) == 1


def test_a_paid_invoice_can_be_credited_up_to_its_total(
    session: Session, clock: FrozenClock
) -> None:
    invoice = _open_invoice(session, clock)
    invoices.mark_paid(session, clock, ACTOR, invoice)

    invoices.create_credit_note(session, clock, ACTOR, invoice, 19000, "Refund in full")

    assert invoice.status == InvoiceStatus.PAID
    assert credit_notes.creditable_fen(session, invoice) == 0


@pytest.mark.parametrize(
    ("amount", "reason", "fields"),
    [
        (0, "why", ["amount_fen"]),
        (-5, "why", ["amount_fen"]),
        (19001, "why", ["amount_fen"]),
        (100, "   ", ["reason"]),
        (100, "x" * 501, ["reason"]),
        (0, "", ["amount_fen", "reason"]),
    ],
)
def test_a_bad_credit_note_names_its_fields_and_stores_nothing(
    session: Session, clock: FrozenClock, amount: int, reason: str, fields: list[str]
) -> None:
    invoice = _open_invoice(session, clock)

    with pytest.raises(ValidationFailed) as raised:
        invoices.create_credit_note(session, clock, ACTOR, invoice, amount, reason)

    assert list(raised.value.errors) == fields
    assert session.scalar(sa.select(sa.func.count()).select_from(CreditNote)) == 0
    assert invoice.amount_due_fen == 19000


def test_more_than_is_left_after_earlier_notes_is_refused(
    session: Session, clock: FrozenClock
) -> None:
    invoice = _open_invoice(session, clock)
    invoices.create_credit_note(session, clock, ACTOR, invoice, 19000 - 100, "Most of it")

    with pytest.raises(ValidationFailed) as raised:
        invoices.create_credit_note(session, clock, ACTOR, invoice, 101, "One fen too many")

    assert "100" in raised.value.errors["amount_fen"][0]


def test_drafts_void_ones_and_uncollectible_ones_take_no_credit_note(
    session: Session, clock: FrozenClock
) -> None:
    invoice = _open_invoice(session, clock)
    invoices.void_invoice(session, clock, ACTOR, invoice)

    with pytest.raises(invoices.InvoiceStateError):
        invoices.create_credit_note(session, clock, ACTOR, invoice, 100, "Too late")


def test_a_firm_reads_only_its_own_invoices(session: Session, clock: FrozenClock) -> None:
    mine = _open_invoice(session, clock)
    theirs = _open_invoice(session, clock)

    assert invoices.invoice_of_firm(session, mine.organization_id, mine.id) is mine
    assert invoices.invoices_of_firm(session, mine.organization_id) == [mine]
    with pytest.raises(NotFound):
        invoices.invoice_of_firm(session, mine.organization_id, theirs.id)


def test_a_firms_list_hides_drafts_unless_asked(session: Session, clock: FrozenClock) -> None:
    subscription = active(session, clock)
    close_due_periods(session, clock)

    assert invoices.invoices_of_firm(session, subscription.organization_id) == []
    assert len(invoices.invoices_of_firm(session, subscription.organization_id, drafts=True)) == 1


def test_a_vendor_reads_only_the_invoices_of_its_own_subscriptions_in_its_mode(
    session: Session, clock: FrozenClock
) -> None:
    mine = _open_invoice(session, clock)
    theirs = _open_invoice(session, clock)

    assert invoices.invoices_of_vendor(session, mine.vendor_id, sandbox=False) == [mine]
    assert invoices.invoices_of_vendor(session, mine.vendor_id, sandbox=True) == []
    assert invoices.invoice_of_vendor(session, mine.vendor_id, mine.id, sandbox=False) is mine
    for vendor_id, sandbox in ((mine.vendor_id, True), (theirs.vendor_id, False)):
        with pytest.raises(NotFound):
            invoices.invoice_of_vendor(session, vendor_id, mine.id, sandbox=sandbox)


@pytest.fixture
def subsidy() -> Iterator[None]:
    """Register, for one test, an adjustment that takes 30% off the subtotal as a subsidy."""

    def thirty_percent_off(
        session: Session, clock: Clock, drafts: Sequence[invoices.DraftInvoice]
    ) -> None:
        for invoice in drafts:
            amount = -sum(line.amount_fen for line in invoice.lines) * 3 // 10
            invoice.lines.append(LineValues(LineKind.SUBSIDY, "park_subsidy", D(1), amount, 0))

    invoices.register_adjustment(thirty_percent_off)
    yield
    invoices.ADJUSTMENTS.remove(thirty_percent_off)


def test_adjustments_run_after_rating_and_before_the_totals(
    session: Session, clock: FrozenClock, subsidy: None
) -> None:
    subscription = active(session, clock, METERED)
    use(session, subscription, "api_calls", 100, START + timedelta(days=1))

    run(session, clock, APRIL + GRACE)

    invoice = invoices_of(session, subscription)[1]
    # Rated first: 5000 + 1000 of usage; the subsidy saw both and took 30% = −1800.
    assert lines_of(invoice)[-1] == ("subsidy", "park_subsidy", D(1), -1800, 0)
    assert (invoice.subtotal_fen, invoice.total_fen, invoice.amount_due_fen) == (6000, 4200, 4200)


def test_the_app_registers_the_subsidies_as_its_only_adjustment(app: Flask) -> None:
    assert [apply_subsidies] == invoices.ADJUSTMENTS


def test_a_negative_total_is_carried_as_a_credit_to_the_next_invoice(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, seats=5)
    run(session, clock, START + timedelta(days=10))
    changes.change_seats(session, clock, ACTOR, subscription, 1)  # 4 seats × ¥30 × 21/31 back
    subs.mark_past_due(session, clock, ACTOR, subscription)
    subs.suspend(session, clock, ACTOR, subscription)
    session.commit()

    run(session, clock, APRIL + GRACE)

    second = invoices_of(session, subscription)[1]
    assert lines_of(second) == [("proration", "seats_removed", D(4), -8129, -460)]
    assert (second.total_fen, second.amount_due_fen, second.status) == (-8129, 0, "paid")
    carried = session.scalars(
        sa.select(PendingCharge).where(PendingCharge.kind == invoices.CARRIED_CREDIT)
    ).one()
    assert (carried.amount_fen, carried.invoice_id) == (-8129, None)


def test_the_estimate_rates_usage_so_far_and_adds_the_next_periods_fees(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, METERED)
    run(session, clock, START)
    use(session, subscription, "api_calls", 101, START + timedelta(days=1))
    clock.set(START + timedelta(days=5))

    estimate = estimate_next_invoice(session, clock, subscription.organization_id, subscription.id)

    assert estimate is not None and estimate.boundary_at == APRIL
    assert [(line.kind, line.amount_fen) for line in estimate.lines] == [
        ("recurring", 5000),
        ("usage", 1205),
        ("usage", 0),
        ("usage", 0),
        ("usage", 0),
    ]
    assert estimate.totals.total_fen == 6205
    with pytest.raises(NotFound):
        estimate_next_invoice(session, clock, subscription.organization_id + 1, subscription.id)


def test_the_estimate_uses_the_scheduled_plan_and_pending_prorations(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock)
    business = add_plan(subscription.listing, BUSINESS)
    run(session, clock, START + timedelta(days=10))
    changes.change_plan(session, clock, ACTOR, subscription, business.id)

    estimate = estimate_next_invoice(session, clock, subscription.organization_id, subscription.id)

    assert estimate is not None
    assert [line.amount_fen for line in estimate.lines] == [30000, 3000, -8806, 22355]


def test_a_subscription_ending_at_period_end_estimates_no_more_fees(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock)
    run(session, clock, START)
    subs.cancel(session, clock, Actor(None), subscription, at_period_end=True)

    estimate = estimate_next_invoice(session, clock, subscription.organization_id, subscription.id)

    assert estimate is not None and estimate.lines == ()
