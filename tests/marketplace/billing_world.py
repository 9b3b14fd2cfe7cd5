"""Firm B's billing in the isolation world: a subscription, a seat, usage, an invoice.

Firm B subscribes to a listing of vendor W (not the vendor whose admin probes the app), gives
a seat to its member, has usage metered and a finalized invoice with lines and a credit
note. W's sandbox holds a test firm with a pending sandbox subscription. The texts only
these rows carry (the invoice number, the credit note's reason, the usage keys, the test
firm's name) are markers, and every column of every row is read back to prove none changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.invoicing import RECURRING_KEY, SEATS_KEY, USAGE_KEY
from billing.models import (
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    PendingCharge,
    SandboxFirm,
    SeatAssignment,
    Subscription,
    TestClock,
    UsageEvent,
)
from billing.services import sandbox, seats
from billing.services import subscriptions as subs
from billing.statements import month_of
from catalog.models import Plan
from catalog.pricing import Aggregation, FlatFee, MeteredPrice, PlanPrice, PriceModel, SeatFee
from marketplace.audit.services import Actor
from marketplace.clock import current_clock
from marketplace.db import Base
from marketplace.extensions import db
from marketplace.orgs.models import Organization
from tests.billing.conftest import add_plan
from tests.catalog.storefront_data import publish_listing

# ¥100 a month, ¥30 a seat, API calls at 2 fen each beyond 100.
TEAM = PlanPrice(
    (
        FlatFee(10000),
        SeatFee(3000, 1, 50),
        MeteredPrice(
            "api_calls",
            Aggregation.SUM,
            PriceModel.PER_UNIT,
            unit_fen=2,
            included_quantity=Decimal(100),
        ),
    )
)
BUSINESS = PlanPrice((FlatFee(30000), SeatFee(3000, 1, 50)))
SEATS = 3
INVOICE_NUMBER = "YS-2026-735102"
CREDIT_REASON = "bravo-secret-credit-reason"
USAGE_KEYS = ("bravo-secret-usage-0001", "bravo-secret-usage-0002")
SANDBOX_FIRM_NAME = "乙方沙箱机密测试企业"


@dataclass(frozen=True)
class BillingRecords:
    """The ids and identifying texts of firm B's billing and of W's sandbox firm."""

    firm_id: int
    vendor_id: int
    listing_id: int
    plan_id: int
    other_plan_id: int
    subscription_id: int
    seat_holder_id: int
    invoice_id: int
    invoice_number: str
    credit_note_id: int
    credit_reason: str
    usage_keys: tuple[str, ...]
    sandbox_firm_id: int
    sandbox_firm_name: str
    sandbox_listing_id: int
    sandbox_plan_id: int
    sandbox_plan_code: str
    sandbox_subscription_id: int
    # The month (YYYY-MM) whose statements carry the invoice and its credit note.
    month: str

    @property
    def markers(self) -> tuple[str, ...]:
        """Return the strings that only a page about these rows can contain."""
        return (self.invoice_number, self.credit_reason, *self.usage_keys, self.sandbox_firm_name)

    @property
    def org_ids(self) -> tuple[int, ...]:
        """Return firm B and W's test firm: the organizations these rows belong to."""
        return (self.firm_id, self.sandbox_firm_id)

    @property
    def subscription_ids(self) -> tuple[int, ...]:
        """Return firm B's subscription and the test firm's sandbox one."""
        return (self.subscription_id, self.sandbox_subscription_id)


def build_billing(
    firm_id: int, owner_id: int, seat_holder_id: int, vendor: Organization
) -> BillingRecords:
    """Subscribe firm B to vendor's plan through the services and bill it; add W's sandbox."""
    session, clock = db.session(), current_clock()
    listing = publish_listing(vendor, price=TEAM)
    plan: Plan = listing.plans[0]
    other = add_plan(listing, BUSINESS)
    subscription = subs.subscribe(session, clock, Actor(owner_id, firm_id), firm_id, plan.id, SEATS)
    subs.activate(session, clock, Actor(None), vendor.id, subscription.id, sandbox=False)
    seats.assign_seat(session, clock, Actor(owner_id, firm_id), subscription, seat_holder_id)
    _meter(session, subscription)
    invoice = _invoice(session, subscription)
    credit = CreditNote(
        invoice_id=invoice.id,
        amount_fen=1000,
        tax_fen=57,
        reason=CREDIT_REASON,
        created_at=clock.now(),
    )
    session.add(credit)
    session.flush()
    test_firm = sandbox.create_sandbox_firm(
        session, clock, Actor(None), vendor.id, SANDBOX_FIRM_NAME
    )
    sandbox_listing = publish_listing(vendor, price=TEAM, sandbox=True)
    sandbox_plan: Plan = sandbox_listing.plans[0]
    trial = subs.subscribe(session, clock, Actor(None), test_firm.id, sandbox_plan.id, SEATS)
    return BillingRecords(
        firm_id=firm_id,
        vendor_id=vendor.id,
        listing_id=listing.id,
        plan_id=plan.id,
        other_plan_id=other.id,
        subscription_id=subscription.id,
        seat_holder_id=seat_holder_id,
        invoice_id=invoice.id,
        invoice_number=INVOICE_NUMBER,
        credit_note_id=credit.id,
        credit_reason=CREDIT_REASON,
        usage_keys=USAGE_KEYS,
        sandbox_firm_id=test_firm.id,
        sandbox_firm_name=SANDBOX_FIRM_NAME,
        sandbox_listing_id=sandbox_listing.id,
        sandbox_plan_id=sandbox_plan.id,
        sandbox_plan_code=sandbox_plan.code,
        sandbox_subscription_id=trial.id,
        month=str(month_of(clock.now(), subscription.time_zone)),
    )


def _meter(session: Session, subscription: Subscription) -> None:
    now = current_clock().now()
    for n, key in enumerate(USAGE_KEYS):
        session.add(
            UsageEvent(
                vendor_id=subscription.vendor_id,
                subscription_id=subscription.id,
                dimension="api_calls",
                quantity=Decimal(70 + n),
                occurred_at=now - timedelta(minutes=n + 1),
                idempotency_key=key,
                attributes={"region": "bravo-secret-region"},
                received_at=now,
                duplicates=0,
            )
        )
    session.flush()


def _invoice(session: Session, subscription: Subscription) -> Invoice:
    """Add the finalized invoice of the subscription's first period, as a close leaves it."""
    now = current_clock().now()
    start, end = subscription.current_period_start, subscription.current_period_end
    assert start is not None and end is not None
    lines = [
        (LineKind.RECURRING, RECURRING_KEY, None, Decimal(1), 10000, 566),
        (LineKind.SEATS, SEATS_KEY, None, Decimal(SEATS), 9000, 509),
        (LineKind.USAGE, USAGE_KEY, "api_calls", Decimal(41), 82, 5),
    ]
    total = sum(line[4] for line in lines)
    invoice = Invoice(
        organization_id=subscription.organization_id,
        vendor_id=subscription.vendor_id,
        subscription_id=subscription.id,
        number=INVOICE_NUMBER,
        status=InvoiceStatus.OPEN,
        period_start=start,
        period_end=end,
        subtotal_fen=total - sum(line[5] for line in lines),
        tax_fen=sum(line[5] for line in lines),
        total_fen=total,
        amount_due_fen=total,
        vat_rate=Decimal("0.06"),
        created_at=now,
        grace_until=now,
        finalized_at=now,
        due_at=now + timedelta(days=14),
        lines=[
            InvoiceLine(
                position=n,
                kind=kind,
                description_key=key,
                dimension=dimension,
                quantity=quantity,
                amount_fen=amount,
                tax_fen=tax,
                period_start=start,
                period_end=end,
                plan_id=subscription.plan_id,
            )
            for n, (kind, key, dimension, quantity, amount, tax) in enumerate(lines)
        ],
    )
    session.add(invoice)
    session.flush()
    return invoice


def billing_selections(
    billing: BillingRecords,
) -> dict[str, tuple[type[Base], sa.ColumnElement[bool]]]:
    """Return, per table, the rows of firm B's billing and of W's test firm.

    The conditions name the organizations, not only the ids built here, so a row an
    outsider's call adds (a second subscription, an invoice, a seat, usage) shows too.
    """
    orgs = billing.org_ids
    subscriptions = sa.select(Subscription.id).where(Subscription.organization_id.in_(orgs))
    invoices = sa.select(Invoice.id).where(Invoice.organization_id.in_(orgs))
    return {
        "subscriptions": (Subscription, Subscription.organization_id.in_(orgs)),
        "seat_assignments": (SeatAssignment, SeatAssignment.subscription_id.in_(subscriptions)),
        "pending_charges": (PendingCharge, PendingCharge.subscription_id.in_(subscriptions)),
        "usage_events": (UsageEvent, UsageEvent.subscription_id.in_(subscriptions)),
        "invoices": (Invoice, Invoice.organization_id.in_(orgs)),
        "invoice_lines": (InvoiceLine, InvoiceLine.invoice_id.in_(invoices)),
        "credit_notes": (CreditNote, CreditNote.invoice_id.in_(invoices)),
        "sandbox_firms": (SandboxFirm, SandboxFirm.organization_id == billing.sandbox_firm_id),
        "test_clocks": (TestClock, TestClock.organization_id.in_(orgs)),
        "sandbox_firm": (Organization, Organization.id == billing.sandbox_firm_id),
    }
