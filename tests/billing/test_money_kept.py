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
from tests.billing.test_close import API_CALLS, APRIL, GRACE, START, invoices_of, run
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
