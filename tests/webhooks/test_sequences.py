"""Sequence numbers: 1, 2, 3… per subscription, from one writer or many at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.services.bulk import record_invoice_events
from marketplace import migrate
from marketplace.clock import FrozenClock
from marketplace.db import make_engine
from marketplace.events.models import OutboxEvent
from marketplace.events.services import record_event, take_sequences
from marketplace.orgs.models import Organization, OrgKind
from tests import backends

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
WRITERS = 8
EVENTS_EACH = 12


def invoice_event(vendor_id: int, invoice_id: int, subscription_id: int) -> dict[str, object]:
    """Return the parts of an invoice event's payload that numbering and routing read."""
    return {"invoice_id": invoice_id, "vendor_id": vendor_id, "subscription_id": subscription_id}


def subscription_events(session: Session, vendor_id: int, subscription_id: int, count: int) -> None:
    """Record count subscription events, as the subscription services do."""
    for _ in range(count):
        record_event(
            session,
            FrozenClock(START),
            type="subscription.seats_changed",
            organization_id=vendor_id,
            aggregate=("subscription", subscription_id),
            payload={"subscription_id": subscription_id},
        )


def numbered(session: Session) -> list[int | None]:
    """Return the sequence numbers of every event, in id (so insertion) order."""
    stmt = sa.select(OutboxEvent.sequence).order_by(OutboxEvent.id)
    return list(session.scalars(stmt))


def test_invoice_events_recorded_in_bulk_continue_their_subscriptions_numbers(
    session: Session, clock: FrozenClock
) -> None:
    vendor = Organization(kind=OrgKind.VENDOR, name="vendor", created_at=clock.now())
    session.add(vendor)
    session.flush()
    subscription_events(session, vendor.id, 501, 2)

    record_invoice_events(
        session,
        clock.now(),
        [
            ("invoice.created", invoice_event(vendor.id, 1, 501)),
            ("invoice.created", invoice_event(vendor.id, 2, 502)),
            ("invoice.finalized", invoice_event(vendor.id, 1, 501)),
        ],
    )
    subscription_events(session, vendor.id, 501, 1)

    stmt = sa.select(OutboxEvent.type, OutboxEvent.aggregate_id, OutboxEvent.sequence)
    rows = session.execute(stmt.order_by(OutboxEvent.id)).all()
    assert [tuple(r) for r in rows] == [
        ("subscription.seats_changed", "501", 1),
        ("subscription.seats_changed", "501", 2),
        ("invoice.created", "1", 3),
        ("invoice.created", "2", 1),
        ("invoice.finalized", "1", 4),
        ("subscription.seats_changed", "501", 5),
    ]


def test_taking_no_numbers_touches_no_counter(session: Session) -> None:
    assert take_sequences(session, {("subscription", "9"): 0}) == {}
    assert take_sequences(session, {}) == {}


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    """Give the module a migrated scratch database whose writers commit for real."""
    with backends.scratch_database("sequences", has_postgres=True) as url:
        migrate.upgrade(url)
        made = make_engine(url, pool_size=WRITERS + 2)
        yield made
        made.dispose()


@pytest.mark.postgres
def test_concurrent_writers_number_one_subscription_1_2_3_in_commit_order(
    engine: sa.Engine,
) -> None:
    with Session(engine) as session:
        vendor = Organization(kind=OrgKind.VENDOR, name="vendor", created_at=START)
        session.add(vendor)
        session.commit()
        vendor_id = vendor.id
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        try:
            start.wait()
            for round_ in range(EVENTS_EACH // 3):
                with Session(engine) as session:
                    if writer % 2:
                        subscription_events(session, vendor_id, 77, 3)
                    else:
                        invoice_id = writer * 100 + round_
                        events = [("invoice.created", invoice_event(vendor_id, invoice_id, 77))] * 3
                        record_invoice_events(session, START, events)
                    session.commit()
        except BaseException as error:  # reported by the test thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    with Session(engine) as session:
        sequences = numbered(session)
    # Gapless, each number once, and a later inserted event has the higher number: the
    # counter stays locked from numbering to commit, so writers take turns.
    assert sequences == list(range(1, WRITERS * EVENTS_EACH + 1))
