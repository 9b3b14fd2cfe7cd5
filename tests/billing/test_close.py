"""The period close and finalization, invoice by invoice, with amounts worked out by hand."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.due_dates import due_date
from billing.models import Invoice, InvoiceStatus, Subscription, SubscriptionStatus, UsageEvent
from billing.services import changes
from billing.services import subscriptions as subs
from billing.services.close import close_due_periods, finalize_due_invoices
from catalog.pricing import (
    Aggregation,
    FlatFee,
    MeteredPrice,
    PlanPrice,
    PriceModel,
    Tier,
)
from marketplace.clock import MARKET_TIME_ZONE, FrozenClock
from marketplace.events.models import OutboxEvent
from tests.billing.conftest import ACTOR, BUSINESS, TEAM, add_plan, firm, new_plan
from tests.catalog.storefront_data import publish_listing

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # the clock fixture: 09:30 on 2 March, Shanghai
APRIL = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)
MAY = datetime(2026, 5, 2, 1, 30, tzinfo=UTC)
GRACE = timedelta(hours=48)
D = Decimal

# Graduated: 10 fen a call up to 100, then 5 fen (and ¥2 once) up to 1,000, then 2 fen.
API_CALLS = MeteredPrice(
    "api_calls",
    Aggregation.SUM,
    PriceModel.GRADUATED,
    tiers=(Tier(D(100), 10), Tier(D(1000), 5, 200), Tier(None, 2)),
)
# Volume: every GB at ¥1 up to 10 GB, at 80 fen up to 100 GB, at 50 fen beyond.
STORAGE = MeteredPrice(
    "storage_gb",
    Aggregation.MAX,
    PriceModel.VOLUME,
    tiers=(Tier(D(10), 100), Tier(D(100), 80), Tier(None, 50)),
)
# Packages of 100 messages at ¥5, the first 50 messages free.
SMS = MeteredPrice(
    "sms",
    Aggregation.SUM,
    PriceModel.PACKAGE,
    package_size=100,
    package_fen=500,
    included_quantity=D(50),
)
# ¥3 per distinct active user beyond the 2 included.
USERS = MeteredPrice(
    "active_users", Aggregation.UNIQUE, PriceModel.PER_UNIT, unit_fen=300, included_quantity=D(2)
)
METERED = PlanPrice((FlatFee(5000), API_CALLS, STORAGE, SMS, USERS))
USAGE_ONLY = PlanPrice((API_CALLS,))
_keys = itertools.count(1)


def active(
    session: Session,
    clock: FrozenClock,
    price: PlanPrice = TEAM,
    seats: int | None = None,
    **fields: object,
) -> Subscription:
    """Subscribe a new firm to a new auto-activating plan; it starts at the clock's time."""
    plan = new_plan(price, auto_activate=True, **fields)
    return subs.subscribe(session, clock, ACTOR, firm().id, plan.id, seats)


def use(
    session: Session,
    subscription: Subscription,
    dimension: str,
    quantity: int | str,
    at: datetime,
    unique_value: str | None = None,
) -> None:
    """Store one accepted usage record, as the usage API would."""
    session.add(
        UsageEvent(
            vendor_id=subscription.vendor_id,
            subscription_id=subscription.id,
            dimension=dimension,
            quantity=D(quantity),
            unique_value=unique_value,
            occurred_at=at,
            idempotency_key=f"usage-{next(_keys)}",
            attributes={},
            received_at=at,
        )
    )
    session.flush()


def invoices_of(session: Session, subscription: Subscription) -> list[Invoice]:
    """Return a subscription's invoices in boundary order."""
    session.expire_all()
    stmt = (
        sa.select(Invoice)
        .where(Invoice.subscription_id == subscription.id)
        .order_by(Invoice.period_start)
    )
    return list(session.scalars(stmt))


Line = tuple[str, str, Decimal, int, int]


def lines_of(invoice: Invoice) -> list[Line]:
    """Return (kind, key or dimension, quantity, amount, tax) of each line, in order."""
    return [
        (row.kind, row.dimension or row.description_key, row.quantity, row.amount_fen, row.tax_fen)
        for row in invoice.lines
    ]


def run(session: Session, clock: FrozenClock, at: datetime) -> None:
    """Move the clock to `at`, then close and finalize what fell due."""
    clock.set(at)
    close_due_periods(session, clock)
    finalize_due_invoices(session, clock)


def events_of(session: Session, kind: str) -> list[OutboxEvent]:
    """Return the outbox events of one type, oldest first."""
    stmt = sa.select(OutboxEvent).where(OutboxEvent.type == kind).order_by(OutboxEvent.id)
    return list(session.scalars(stmt))


TEAM_FEES: list[Line] = [
    ("recurring", "recurring_fee", D(1), 10000, 566),
    ("seats", "seats", D(3), 9000, 509),
]


def test_a_new_subscription_is_billed_its_first_period_in_advance(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, seats=3)

    report = close_due_periods(session, clock)

    [first] = invoices_of(session, subscription)
    assert report.subscriptions == 1 and report.invoices == 1
    assert first.status == InvoiceStatus.DRAFT and first.number is None
    assert (first.period_start, first.period_end) == (START, APRIL)
    assert first.usage_period_start is None
    # ¥100 flat + 3 seats × ¥30, VAT 6% inside: 10000 × 6/106 = 566.04, 9000 × 6/106 = 509.43.
    assert lines_of(first) == TEAM_FEES
    assert (first.subtotal_fen, first.tax_fen, first.total_fen) == (19000, 1075, 19000)
    assert first.grace_until == START + GRACE
    assert [e.payload["invoice_id"] for e in events_of(session, "invoice.created")] == [first.id]


def test_a_draft_is_finalized_when_its_grace_is_over_with_the_years_first_number(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, seats=3)
    close_due_periods(session, clock)

    clock.set(START + GRACE - timedelta(seconds=1))
    assert finalize_due_invoices(session, clock).invoices == 0
    clock.set(START + GRACE)
    report = finalize_due_invoices(session, clock)

    [first] = invoices_of(session, subscription)
    assert report.invoices == 1 and report.paid == 0
    assert first.status == InvoiceStatus.OPEN and first.number == "YS-2026-000001"
    assert first.finalized_at == START + GRACE
    assert first.due_at == due_date(START + GRACE, 15, MARKET_TIME_ZONE)
    assert first.amount_due_fen == 19000
    finalized = events_of(session, "invoice.finalized")
    assert [(e.payload["number"], e.organization_id) for e in finalized] == [
        ("YS-2026-000001", subscription.vendor_id)
    ]


def test_the_next_boundary_bills_the_next_period_and_numbers_go_on(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, seats=3)
    run(session, clock, START + GRACE)

    run(session, clock, APRIL + GRACE)

    first, second = invoices_of(session, subscription)
    assert (second.period_start, second.period_end) == (APRIL, MAY)
    assert (second.usage_period_start, second.usage_period_end) == (START, APRIL)
    assert lines_of(second) == TEAM_FEES  # the plan meters nothing: no usage lines
    assert [first.number, second.number] == ["YS-2026-000001", "YS-2026-000002"]
    assert subscription.current_period_start == APRIL and subscription.current_period_end == MAY
    assert subscription.billed_boundary_at == APRIL


def test_usage_is_rated_per_dimension_at_finalization(session: Session, clock: FrozenClock) -> None:
    subscription = active(session, clock, METERED)
    day = timedelta(days=1)
    for quantity in (60, 41):  # 101 calls: 100 × 10 + 1 × 5 + ¥2 for entering tier 2 = 1205
        use(session, subscription, "api_calls", quantity, START + day)
    for gb in (5, 11, 7):  # the peak, 11 GB, all at the 2nd tier's 80 fen = 880
        use(session, subscription, "storage_gb", gb, START + day)
    for sms in (100, 51):  # 151 − 50 included = 101 → 2 packages of ¥5 = 1000
        use(session, subscription, "sms", sms, START + day)
    for user in ("u1", "u2", "u3", "u1"):  # 3 distinct − 2 included = 1 × ¥3 = 300
        use(session, subscription, "active_users", 1, START + day, user)
    use(session, subscription, "api_calls", 500, APRIL)  # belongs to the next period

    run(session, clock, APRIL)
    draft = invoices_of(session, subscription)[1]
    assert [line[3] for line in lines_of(draft)] == [5000, 0, 0, 0, 0]
    run(session, clock, APRIL + GRACE)

    first, second = invoices_of(session, subscription)
    assert lines_of(first) == [("recurring", "recurring_fee", D(1), 5000, 283)]
    assert lines_of(second) == [
        ("recurring", "recurring_fee", D(1), 5000, 283),
        ("usage", "api_calls", D(101), 1205, 68),
        ("usage", "storage_gb", D(11), 880, 50),
        ("usage", "sms", D(151), 1000, 57),
        ("usage", "active_users", D(3), 300, 17),
    ]
    assert (second.total_fen, second.tax_fen, second.amount_due_fen) == (8385, 475, 8385)
    assert second.status == InvoiceStatus.OPEN


def _rated(session: Session, clock: FrozenClock, dimension: str, quantity: int) -> int:
    clock.set(START)
    subscription = active(session, clock, METERED)
    use(session, subscription, dimension, quantity, START + timedelta(days=3))
    run(session, clock, APRIL + GRACE)
    line = next(
        row for row in invoices_of(session, subscription)[1].lines if row.dimension == dimension
    )
    return line.amount_fen


def test_graduated_usage_at_one_below_and_one_above_a_tier_bound(
    session: Session, clock: FrozenClock
) -> None:
    # 99 × 10; 100 × 10; 100 × 10 + 1 × 5 + 200 flat of the second tier.
    assert [_rated(session, clock, "api_calls", q) for q in (99, 100, 101)] == [990, 1000, 1205]


def test_volume_usage_at_one_below_and_one_above_a_tier_bound(
    session: Session, clock: FrozenClock
) -> None:
    # 9 × 100; 10 × 100; 11 × 80 — one more GB costs less.
    assert [_rated(session, clock, "storage_gb", q) for q in (9, 10, 11)] == [900, 1000, 880]


def test_packages_round_up_after_the_included_quantity(
    session: Session, clock: FrozenClock
) -> None:
    # 50 is all included; 51 leaves 1 → one package; 150 leaves 100 → one; 151 → two.
    amounts = [_rated(session, clock, "sms", q) for q in (50, 51, 150, 151)]
    assert amounts == [0, 500, 500, 1000]


def test_a_plan_that_only_meters_bills_nothing_up_front_and_a_zero_invoice_is_paid_at_once(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, USAGE_ONLY)

    run(session, clock, APRIL + GRACE)

    [invoice] = invoices_of(session, subscription)  # nothing at activation: no line to bill
    assert invoice.period_start == APRIL
    assert lines_of(invoice) == [("usage", "api_calls", D(0), 0, 0)]
    assert invoice.status == InvoiceStatus.PAID and invoice.paid_at == APRIL + GRACE
    assert invoice.number == "YS-2026-000001"
    assert [e.payload["invoice_id"] for e in events_of(session, "invoice.paid")] == [invoice.id]


def test_an_upgrade_and_a_seat_change_show_as_separate_proration_lines(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock)
    business = add_plan(subscription.listing, BUSINESS)
    run(session, clock, START + timedelta(days=10))
    changes.change_plan(session, clock, ACTOR, subscription, business.id)
    changes.change_seats(session, clock, ACTOR, subscription, 3)

    run(session, clock, APRIL)

    second = invoices_of(session, subscription)[1]
    # 21 of 31 days left: −¥130 × 21/31, +¥330 × 21/31, and 2 seats × ¥30 × 21/31 = 40.645.
    assert lines_of(second) == [
        ("recurring", "recurring_fee", D(1), 30000, 1698),
        ("seats", "seats", D(3), 9000, 509),
        ("proration", "unused_time", D(1), -8806, -498),
        ("proration", "remaining_time", D(1), 22355, 1265),
        ("proration", "seats_added", D(2), 4065, 230),
    ]
    assert (second.total_fen, second.tax_fen) == (56614, 3204)
    assert [line.period_start for line in second.lines[2:]] == [START + timedelta(days=10)] * 3


def test_a_trial_end_activates_and_bills_period_zero_without_the_trials_usage(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, METERED, trial_days=14)
    trial_end = START + timedelta(days=14)
    use(session, subscription, "api_calls", 1000, START + timedelta(days=1))

    run(session, clock, trial_end - timedelta(seconds=1))
    assert invoices_of(session, subscription) == []
    run(session, clock, trial_end + GRACE)

    [invoice] = invoices_of(session, subscription)
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert (invoice.period_start, invoice.period_end) == (trial_end, APRIL + timedelta(days=14))
    assert lines_of(invoice) == [("recurring", "recurring_fee", D(1), 5000, 283)]
    [ended] = events_of(session, "subscription.trial_ended")
    assert ended.payload["status"] == "active"


def test_a_downgrade_applies_at_the_boundary_and_the_new_plan_bills_in_advance(
    session: Session, clock: FrozenClock
) -> None:
    listing = publish_listing(price=BUSINESS)
    business = add_plan(listing, BUSINESS, auto_activate=True)
    team = add_plan(listing, TEAM)
    subscription = subs.subscribe(session, clock, ACTOR, firm().id, business.id, 3)
    changes.change_plan(session, clock, ACTOR, subscription, team.id)

    run(session, clock, APRIL)

    first, second = invoices_of(session, subscription)
    assert lines_of(first)[0][3] == 30000
    assert lines_of(second) == TEAM_FEES
    assert subscription.plan_id == team.id and subscription.scheduled_plan_id is None
    [changed] = events_of(session, "subscription.plan_changed")
    assert changed.payload["plan_code"] == team.code


def test_cancelling_now_bills_the_usage_so_far_and_nothing_in_advance(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, METERED)
    run(session, clock, START)
    cancelled_at = START + timedelta(days=10)
    use(session, subscription, "api_calls", 100, cancelled_at - timedelta(hours=1))
    clock.set(cancelled_at)
    subs.cancel(session, clock, ACTOR, subscription, at_period_end=False)

    run(session, clock, cancelled_at + GRACE)

    _first, final = invoices_of(session, subscription)
    assert (final.period_start, final.period_end) == (cancelled_at, None)
    assert (final.usage_period_start, final.usage_period_end) == (START, cancelled_at)
    assert lines_of(final) == [
        ("usage", "api_calls", D(100), 1000, 57),
        ("usage", "storage_gb", D(0), 0, 0),
        ("usage", "sms", D(0), 0, 0),
        ("usage", "active_users", D(0), 0, 0),
    ]
    assert subscription.period_open is False
    run(session, clock, MAY + GRACE)
    assert len(invoices_of(session, subscription)) == 2


def test_cancelling_at_period_end_ends_at_the_boundary_with_a_usage_only_invoice(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, METERED)
    run(session, clock, START)
    subs.cancel(session, clock, ACTOR, subscription, at_period_end=True)
    use(session, subscription, "storage_gb", 3, START + timedelta(days=2))

    run(session, clock, APRIL + GRACE)

    _first, final = invoices_of(session, subscription)
    assert final.period_start == APRIL and final.period_end is None
    assert [line[:4] for line in lines_of(final)] == [
        ("usage", "api_calls", D(0), 0),
        ("usage", "storage_gb", D(3), 300),
        ("usage", "sms", D(0), 0),
        ("usage", "active_users", D(0), 0),
    ]
    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancelled_at == APRIL and subscription.period_open is False
    [cancelled] = events_of(session, "subscription.cancelled")
    assert cancelled.payload["status"] == "cancelled"
    run(session, clock, MAY + GRACE)
    assert len(invoices_of(session, subscription)) == 2


def test_month_end_anchors_clamp_to_the_last_day_in_shanghai(
    session: Session, clock: FrozenClock
) -> None:
    clock.set(datetime(2026, 1, 30, 16, tzinfo=UTC))  # 31 January, 00:00 in Shanghai
    subscription = active(session, clock)

    run(session, clock, datetime(2026, 4, 1, tzinfo=UTC))

    boundaries = [(i.period_start, i.period_end) for i in invoices_of(session, subscription)]
    assert boundaries == [
        (datetime(2026, 1, 30, 16, tzinfo=UTC), datetime(2026, 2, 27, 16, tzinfo=UTC)),
        (datetime(2026, 2, 27, 16, tzinfo=UTC), datetime(2026, 3, 30, 16, tzinfo=UTC)),
        (datetime(2026, 3, 30, 16, tzinfo=UTC), datetime(2026, 4, 29, 16, tzinfo=UTC)),
    ]


def test_late_usage_inside_the_grace_window_lands_on_the_invoice_and_after_it_does_not(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, USAGE_ONLY)
    run(session, clock, APRIL)
    use(session, subscription, "api_calls", 40, APRIL - timedelta(minutes=1))  # sent late

    run(session, clock, APRIL + GRACE)
    use(session, subscription, "api_calls", 60, APRIL - timedelta(minutes=1))  # too late
    run(session, clock, APRIL + GRACE + timedelta(hours=1))

    [invoice] = invoices_of(session, subscription)
    assert lines_of(invoice) == [("usage", "api_calls", D(40), 400, 23)]
    assert invoice.total_fen == 400


def test_a_subscription_a_year_behind_gets_one_invoice_per_boundary(
    session: Session, clock: FrozenClock
) -> None:
    subscription = active(session, clock, seats=3)

    run(session, clock, datetime(2027, 3, 10, tzinfo=UTC))

    invoices = invoices_of(session, subscription)
    assert [i.period_start.date().isoformat() for i in invoices][:3] == [
        "2026-03-02",
        "2026-04-02",
        "2026-05-02",
    ]
    assert len(invoices) == 13 and invoices[-1].period_start == datetime(
        2027, 3, 2, 1, 30, tzinfo=UTC
    )
    assert all(lines_of(i) == TEAM_FEES for i in invoices)
    # Finalized in 2027, so numbered in 2027's sequence, in boundary order.
    assert [i.number for i in invoices] == [f"YS-2027-{n:06d}" for n in range(1, 14)]


def test_closing_twice_makes_one_invoice_per_boundary(session: Session, clock: FrozenClock) -> None:
    subscription = active(session, clock)
    clock.set(MAY)

    first = close_due_periods(session, clock)
    again = close_due_periods(session, clock)

    assert (first.invoices, again.invoices, again.subscriptions) == (3, 0, 0)
    assert len(invoices_of(session, subscription)) == 3
