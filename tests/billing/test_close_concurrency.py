"""Two workers closing and finalizing the same due subscriptions at once, on PostgreSQL.

Each worker has its own connection and commits for real, so these tests use a scratch
database of their own rather than the rolled-back transaction of the other tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypeVar

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus, Subscription, SubscriptionStatus, UsageEvent
from billing.services.close import close_due_periods, finalize_due_invoices
from billing.services.invoices import finalize_invoice
from catalog.models import Listing, Plan, PriceComponent
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Organization, OrgKind
from tests.conftest import migrated_engine

pytestmark = pytest.mark.postgres

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
APRIL = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)
GRACE = timedelta(hours=48)
FIRMS = 200
T = TypeVar("T")


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    """Give the module a migrated scratch database of its own."""
    with migrated_engine("close", pool_size=8) as made:
        yield made


def _seed(engine: sa.Engine, firms: int, metered: bool = True) -> list[int]:
    """Add a vendor, a plan, and `firms` subscriptions whose first period ended at APRIL."""
    with Session(engine) as session:
        vendor = Organization(kind=OrgKind.VENDOR, name="vendor", created_at=START)
        session.add(vendor)
        session.flush()
        listing = Listing(
            vendor_id=vendor.id,
            slug=f"app-{vendor.id}",
            status="published",
            created_at=START,
            updated_at=START,
        )
        components = [PriceComponent(position=0, kind="flat", amount_fen=10000)]
        if metered:
            components.append(
                PriceComponent(
                    position=1,
                    kind="metered",
                    dimension="calls",
                    aggregation="sum",
                    model="per_unit",
                    unit_amount_fen=3,
                    included_quantity=Decimal(0),
                )
            )
        plan = Plan(
            listing=listing,
            code="std",
            name_zh="标准版",
            status="published",
            published_at=START,
            created_at=START,
            components=components,
        )
        session.add_all([listing, plan])
        session.flush()
        ids = []
        for n in range(firms):
            firm = Organization(kind=OrgKind.SME, name=f"firm {n}", created_at=START)
            session.add(firm)
            session.flush()
            subscription = Subscription(
                organization_id=firm.id,
                vendor_id=vendor.id,
                listing_id=listing.id,
                plan_id=plan.id,
                status=SubscriptionStatus.ACTIVE,
                seats=0,
                created_at=START,
                activated_at=START,
                anchor_at=START,
                current_period_start=START,
                current_period_end=APRIL,
                period_open=True,
                billed_boundary_at=START,
                cancel_at_period_end=False,
            )
            session.add(subscription)
            session.flush()
            session.add(
                UsageEvent(
                    vendor_id=vendor.id,
                    subscription_id=subscription.id,
                    dimension="calls",
                    quantity=Decimal(n + 1),
                    occurred_at=START + timedelta(days=1),
                    idempotency_key=f"u-{subscription.id}",
                    attributes={},
                    received_at=START,
                )
            )
            ids.append(firm.id)
        session.commit()
        return ids


def _at_once(workers: int, work: Callable[[Session], T], engine: sa.Engine) -> list[T]:
    """Run work in `workers` threads, each with its own session, released together."""
    barrier = threading.Barrier(workers)
    results: list[T] = []
    errors: list[BaseException] = []

    def worker() -> None:
        with Session(engine) as session:
            barrier.wait()
            try:
                results.append(work(session))
            except BaseException as error:  # handed to the test thread
                errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise errors[0]
    return results


def _invoices(engine: sa.Engine, firm_ids: list[int]) -> list[Invoice]:
    with Session(engine) as session:
        stmt = sa.select(Invoice).where(Invoice.organization_id.in_(firm_ids)).order_by(Invoice.id)
        return list(session.scalars(stmt))


def test_two_workers_closing_together_bill_each_boundary_once_and_number_without_gaps(
    engine: sa.Engine,
) -> None:
    firm_ids = _seed(engine, FIRMS)
    close_clock = FrozenClock(APRIL + timedelta(minutes=1))

    closed = _at_once(
        2,
        lambda s: close_due_periods(s, close_clock, organization_ids=firm_ids, chunk_size=10),
        engine,
    )

    drafts = _invoices(engine, firm_ids)
    assert sum(r.subscriptions for r in closed) == FIRMS  # no subscription walked twice
    assert sum(r.invoices for r in closed) == FIRMS == len(drafts)
    assert len({(i.subscription_id, i.period_start) for i in drafts}) == FIRMS
    assert all(r.subscriptions > 0 for r in closed), "both workers should have taken chunks"

    final_clock = FrozenClock(APRIL + GRACE)
    finalized = _at_once(
        2,
        lambda s: finalize_due_invoices(s, final_clock, organization_ids=firm_ids, chunk_size=7),
        engine,
    )

    invoices = _invoices(engine, firm_ids)
    assert sum(r.invoices for r in finalized) == FIRMS
    assert all(i.status == InvoiceStatus.OPEN for i in invoices)
    numbers = sorted(int(i.number.rsplit("-", 1)[1]) for i in invoices if i.number)
    assert numbers == list(range(1, FIRMS + 1))
    # Usage of firm n was n + 1 calls at 3 fen: rated once, after the race.
    assert sorted(i.total_fen - 10000 for i in invoices) == [3 * (n + 1) for n in range(FIRMS)]


def test_concurrent_single_finalizations_share_a_new_years_counter_without_gaps(
    engine: sa.Engine,
) -> None:
    firm_ids = _seed(engine, 24, metered=False)
    with Session(engine) as session:
        close_due_periods(session, FrozenClock(APRIL), organization_ids=firm_ids)
    ids = [i.id for i in _invoices(engine, firm_ids)]
    batches = [ids[n::4] for n in range(4)]
    next_year = FrozenClock(datetime(2027, 1, 5, tzinfo=UTC))  # no 2027 counter row yet

    def finalize_batch(session: Session) -> None:
        batch = batches.pop()
        for invoice_id in batch:
            finalize_invoice(session, next_year, invoice_id)

    _at_once(4, finalize_batch, engine)

    numbers = sorted(i.number or "" for i in _invoices(engine, firm_ids))
    assert numbers == [f"YS-2027-{n:06d}" for n in range(1, 25)]


def test_a_second_close_after_a_concurrent_one_finds_nothing_left(engine: sa.Engine) -> None:
    firm_ids = _seed(engine, 30)
    clock = FrozenClock(APRIL)
    _at_once(
        3, lambda s: close_due_periods(s, clock, organization_ids=firm_ids, chunk_size=4), engine
    )

    with Session(engine) as session:
        again = close_due_periods(session, clock, organization_ids=firm_ids)

    assert (again.subscriptions, again.invoices) == (0, 0)
    assert len(_invoices(engine, firm_ids)) == 30
