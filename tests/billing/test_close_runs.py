"""How close runs behave: a crash in a chunk, chunking, which firms a run takes, sandboxes."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus, SandboxFirm, TestClock
from billing.services import close
from billing.services import subscriptions as subs
from billing.services.close import close_due_periods, finalize_due_invoices
from marketplace.clock import FrozenClock
from marketplace.orgs.models import OrgKind
from tests.billing.conftest import ACTOR, TEAM, add_plan, firm
from tests.billing.test_close import (
    APRIL,
    GRACE,
    MAY,
    METERED,
    START,
    active,
    invoices_of,
    lines_of,
    run,
)
from tests.catalog.storefront_data import publish_listing
from tests.factories import make_org


def _count(session: Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(Invoice)) or 0


class Crash(RuntimeError):
    """The failure a test injects in the middle of a chunk."""


def test_a_crash_in_a_chunk_keeps_earlier_chunks_and_a_rerun_finishes_once_each(
    session: Session, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    subscriptions = [active(session, clock) for _ in range(5)]
    clock.set(APRIL)
    real_insert_lines = close.insert_lines
    calls = {"n": 0}

    def crash_in_third_chunk(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        real_insert_lines(*args, **kwargs)  # type: ignore[arg-type]
        if calls["n"] == 3:
            raise Crash("worker died")

    monkeypatch.setattr(close, "insert_lines", crash_in_third_chunk)
    with pytest.raises(Crash):
        close_due_periods(session, clock, chunk_size=2)

    # Chunks 1 and 2 (four subscriptions × 2 boundaries) stand; chunk 3 rolled back whole.
    assert _count(session) == 8
    monkeypatch.setattr(close, "insert_lines", real_insert_lines)
    report = close_due_periods(session, clock, chunk_size=2)

    assert (report.subscriptions, report.invoices) == (1, 2)
    for subscription in subscriptions:
        assert [i.period_start for i in invoices_of(session, subscription)] == [START, APRIL]
        assert subscription.billed_boundary_at == APRIL


def test_a_crash_in_finalization_gives_its_numbers_back(
    session: Session, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        active(session, clock)
    close_due_periods(session, clock)
    clock.set(START + GRACE)
    real = close.finalize_drafts
    calls = {"n": 0}

    def crash_in_second_chunk(*args: object, **kwargs: object) -> int:
        calls["n"] += 1
        paid = real(*args, **kwargs)  # type: ignore[arg-type]
        if calls["n"] == 2:
            raise Crash("worker died")
        return paid

    monkeypatch.setattr(close, "finalize_drafts", crash_in_second_chunk)
    with pytest.raises(Crash):
        finalize_due_invoices(session, clock, chunk_size=1)
    monkeypatch.setattr(close, "finalize_drafts", real)
    finalize_due_invoices(session, clock, chunk_size=1)

    numbers = session.scalars(sa.select(Invoice.number).order_by(Invoice.id))
    assert list(numbers) == ["YS-2026-000001", "YS-2026-000002", "YS-2026-000003"]


def test_chunks_of_one_bill_the_same_as_one_chunk(session: Session, clock: FrozenClock) -> None:
    subscriptions = [active(session, clock, seats=2) for _ in range(3)]
    clock.set(MAY)

    report = close_due_periods(session, clock, chunk_size=1)

    assert (report.subscriptions, report.invoices, report.chunks) == (3, 9, 3)
    assert all(len(invoices_of(session, s)) == 3 for s in subscriptions)


def test_a_run_for_some_firms_leaves_the_others(session: Session, clock: FrozenClock) -> None:
    mine, other = active(session, clock), active(session, clock)

    close_due_periods(session, clock, organization_ids=[mine.organization_id])

    assert len(invoices_of(session, mine)) == 1 and invoices_of(session, other) == []


def _sandbox_subscription(session: Session, clock: FrozenClock, *, with_clock: bool) -> object:
    vendor = make_org(OrgKind.VENDOR)
    listing = publish_listing(vendor, price=TEAM, sandbox=True)
    plan = add_plan(listing, TEAM, auto_activate=True)
    test_firm = firm()
    session.add(SandboxFirm(organization_id=test_firm.id, vendor_id=vendor.id, created_at=START))
    if with_clock:
        session.add(TestClock(organization_id=test_firm.id, frozen_at=START, created_at=START))
    session.flush()
    return subs.subscribe(session, clock, ACTOR, test_firm.id, plan.id)


def test_the_periodic_close_skips_firms_on_a_test_clock_which_close_on_their_own(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _sandbox_subscription(session, clock, with_clock=True)

    assert close_due_periods(session, clock).invoices == 0
    org_id = subscription.organization_id  # type: ignore[attr-defined]
    report = close_due_periods(
        session, clock, organization_ids=[org_id], exclude_test_clock_firms=False
    )

    assert report.invoices == 1


def test_a_sandbox_invoice_is_finalized_without_a_number(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _sandbox_subscription(session, clock, with_clock=False)
    paying = active(session, clock)

    run(session, clock, START + GRACE)

    [sandboxed] = invoices_of(session, subscription)  # type: ignore[arg-type]
    assert sandboxed.sandbox and sandboxed.status == InvoiceStatus.OPEN
    assert sandboxed.number is None and lines_of(sandboxed)[0][3] == 10000
    # The sandbox takes no number from the real sequence.
    assert invoices_of(session, paying)[0].number == "YS-2026-000001"


def test_pending_gets_no_invoice_but_cancelled_after_starting_owes_its_first_period(
    session: Session, clock: FrozenClock
) -> None:
    pending = subs.subscribe(session, clock, ACTOR, firm().id, add_plan(publish_listing()).id)
    cancelled = active(session, clock)
    clock.advance(timedelta(hours=1))
    subs.cancel(session, clock, ACTOR, cancelled, at_period_end=False)

    run(session, clock, APRIL + GRACE)

    assert invoices_of(session, pending) == []
    # The service ran for an hour before the first close: the first period's fees are owed
    # (TEAM at one seat: ¥100 + ¥30), and cancelling refunds nothing. A flat plan has no
    # usage, so the cancellation's boundary makes no second, empty invoice.
    [first] = invoices_of(session, cancelled)
    assert first.period_start == cancelled.anchor_at and first.total_fen == 13000
    assert cancelled.period_open is False


def test_a_suspended_subscription_advances_and_owes_its_usage_but_no_advance_fees(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, METERED)
    run(session, clock, START + timedelta(days=3))
    subs.mark_past_due(session, clock, ACTOR, subscription)
    subs.suspend(session, clock, ACTOR, subscription)
    session.commit()

    run(session, clock, APRIL)

    _first, second = invoices_of(session, subscription)
    assert [line[0] for line in lines_of(second)] == ["usage"] * 4
    assert (subscription.current_period_start, subscription.current_period_end) == (APRIL, MAY)


def test_a_suspended_subscription_with_nothing_to_bill_gets_no_empty_invoice(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock)
    run(session, clock, START + timedelta(days=3))
    subs.mark_past_due(session, clock, ACTOR, subscription)
    subs.suspend(session, clock, ACTOR, subscription)
    session.commit()

    run(session, clock, APRIL)

    assert len(invoices_of(session, subscription)) == 1
    assert subscription.billed_boundary_at == APRIL


def test_a_finalization_for_some_firms_leaves_the_others_drafts(
    session: Session, clock: FrozenClock
) -> None:
    mine, other = active(session, clock), active(session, clock)
    close_due_periods(session, clock)
    clock.set(START + GRACE)

    report = finalize_due_invoices(session, clock, organization_ids=[mine.organization_id])

    assert report.invoices == 1
    assert invoices_of(session, mine)[0].status == InvoiceStatus.OPEN
    assert invoices_of(session, other)[0].status == InvoiceStatus.DRAFT


def test_the_periodic_finalization_skips_drafts_of_firms_on_a_test_clock(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _sandbox_subscription(session, clock, with_clock=True)
    org_id = subscription.organization_id  # type: ignore[attr-defined]
    close_due_periods(session, clock, organization_ids=[org_id], exclude_test_clock_firms=False)
    clock.set(START + GRACE)

    assert finalize_due_invoices(session, clock).invoices == 0
    report = finalize_due_invoices(
        session, clock, organization_ids=[org_id], exclude_test_clock_firms=False
    )
    assert report.invoices == 1
