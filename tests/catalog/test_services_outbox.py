"""The outbox: an event is committed with the change it announces, or not at all."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor, record
from marketplace.clock import FrozenClock
from marketplace.events.models import OutboxEvent
from marketplace.events.services import record_event
from tests.catalog.workflow import count, make_vendor


def test_a_recorded_event_waits_undelivered_with_its_tenant_and_aggregate(
    session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()

    event = record_event(
        session,
        clock,
        type="listing.submitted",
        organization_id=vendor.org.id,
        aggregate=("listing", 42),
        payload={"listing_id": 42, "tags": ["a"]},
    )
    session.commit()
    session.expire_all()

    assert event.type == "listing.submitted" and event.organization_id == vendor.org.id
    assert (event.aggregate_type, event.aggregate_id) == ("listing", "42")
    assert event.payload == {"listing_id": 42, "tags": ["a"]}
    assert (event.created_at, event.delivered_at, event.attempts) == (clock.now(), None, 0)


class ChangeFailed(Exception):
    """A change that fails after its event and audit entry were added."""


def test_an_event_rolled_back_with_its_change_leaves_no_row(
    session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()

    with pytest.raises(ChangeFailed), session.begin_nested():
        record(
            session, clock, Actor(vendor.user.id, vendor.org.id), "listing.created", ("listing", 1)
        )
        record_event(
            session,
            clock,
            type="listing.created",
            organization_id=vendor.org.id,
            aggregate=("listing", 1),
            payload={},
        )
        session.flush()
        raise ChangeFailed

    assert count(session, OutboxEvent) == count(session, AuditEntry) == 0
