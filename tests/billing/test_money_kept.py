"""Money that must not be lost: sandbox keys apart from live ones, a last invoice's credit."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import CreditNote, InvoiceStatus, PendingCharge
from billing.services import changes
from billing.services import subscriptions as subs
from billing.services.sandbox import create_sandbox_firm
from billing.services.usage import record_usage
from catalog.pricing import FlatFee, PlanPrice
from marketplace.clock import FrozenClock
from tests.billing.conftest import ACTOR, TEAM, add_plan, firm
from tests.billing.test_close import API_CALLS, APRIL, GRACE, START, invoices_of, run, use
from tests.catalog.storefront_data import publish_listing

METERED = PlanPrice((FlatFee(5000), API_CALLS))


def test_a_sandbox_key_never_swallows_a_live_record(session: Session, clock: FrozenClock) -> None:
    live_listing = publish_listing(price=METERED)
    vendor_id = live_listing.vendor_id
    live = subs.subscribe(
        session, clock, ACTOR, firm().id, add_plan(live_listing, METERED, auto_activate=True).id
    )
    sandbox_listing = publish_listing(live_listing.vendor, price=METERED, sandbox=True)
    test_firm = create_sandbox_firm(session, clock, ACTOR, vendor_id, "测试企业")
    sandboxed = subs.subscribe(
        session,
        clock,
        ACTOR,
        test_firm.id,
        add_plan(sandbox_listing, METERED, auto_activate=True).id,
    )
    at = (START + timedelta(minutes=1)).isoformat()
    clock.advance(timedelta(minutes=2))

    def record(subscription_id: int) -> dict[str, object]:
        return {
            "subscription_id": subscription_id,
            "dimension": "api_calls",
            "quantity": 500,
            "timestamp": at,
            "idempotency_key": "evt-1",
        }

    in_sandbox = record_usage(session, clock, vendor_id, True, [record(sandboxed.id)])
    in_live = record_usage(session, clock, vendor_id, False, [record(live.id)])
    again = record_usage(session, clock, vendor_id, False, [record(live.id)])

    assert in_sandbox.results[0].status == "accepted"
    assert in_live.results[0].status == "accepted"
    assert again.results[0].status == "duplicate"


def test_a_last_invoices_credit_goes_back_to_the_earlier_invoice(
    session: Session, clock: FrozenClock
) -> None:
    plan = add_plan(publish_listing(price=TEAM), TEAM, auto_activate=True)
    subscription = subs.subscribe(session, clock, ACTOR, firm().id, plan.id, 20)
    run(session, clock, START + GRACE)  # period 0 billed up front: ¥100 + 20 × ¥30 = ¥700
    clock.set(START + timedelta(days=1))
    changes.change_seats(session, clock, ACTOR, subscription, 1)  # 19 seats credited
    subs.cancel(session, clock, ACTOR, subscription, at_period_end=True)

    run(session, clock, APRIL + GRACE)

    first, last = invoices_of(session, subscription)
    assert last.total_fen < 0 and last.amount_due_fen == 0
    [note] = session.scalars(sa.select(CreditNote).where(CreditNote.invoice_id == first.id))
    assert note.amount_fen == -last.total_fen
    # The first invoice was still open: it now owes the credit less.
    assert first.status == InvoiceStatus.OPEN and first.amount_due_fen == 70000 - note.amount_fen
    stranded = session.scalars(
        sa.select(PendingCharge).where(
            PendingCharge.subscription_id == subscription.id, PendingCharge.invoice_id.is_(None)
        )
    ).all()
    assert stranded == []


def test_usage_before_an_upgrade_is_billed_on_the_old_plan_and_after_on_the_new(
    session: Session, clock: FrozenClock
) -> None:
    listing = publish_listing(price=METERED)
    old = add_plan(listing, METERED, auto_activate=True)  # ¥50 + API calls, graduated
    bigger = add_plan(listing, PlanPrice((FlatFee(30000), API_CALLS)))  # ¥300 + the same calls
    subscription = subs.subscribe(session, clock, ACTOR, firm().id, old.id)
    run(session, clock, START + GRACE)
    use(session, subscription, "api_calls", 101, START + timedelta(days=1))
    clock.set(START + timedelta(days=10))

    changes.change_plan(session, clock, ACTOR, subscription, bigger.id)
    use(session, subscription, "api_calls", 50, START + timedelta(days=12))
    late = record_usage(
        session,
        clock,
        subscription.vendor_id,
        False,
        [
            {
                "subscription_id": subscription.id,
                "dimension": "api_calls",
                "quantity": 5,
                "timestamp": (START + timedelta(days=2)).isoformat(),
                "idempotency_key": "late-before-change",
            }
        ],
    )
    run(session, clock, APRIL + GRACE)

    # 101 calls on the old plan's tiers: 100 at 10 fen, 1 at 5 fen plus the tier's ¥2 = 1205.
    april = invoices_of(session, subscription)[-1]
    before = [ln for ln in april.lines if ln.description_key == "usage_before_change"]
    assert [(ln.dimension, ln.quantity, ln.amount_fen) for ln in before] == [
        ("api_calls", 101, 1205)
    ]
    # Only the 50 calls after the change are rated on the new plan, from its first tier.
    after = [(ln.quantity, ln.amount_fen) for ln in april.lines if ln.kind == "usage"]
    assert after == [(50, 500)]
    # A late record for the time before the change can no longer be billed: refused.
    assert late.results[0].code == "outside_open_window"
