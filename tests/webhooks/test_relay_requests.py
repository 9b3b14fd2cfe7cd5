"""A commit that recorded events asks for a relay, whether they came one by one or in bulk."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from billing.services.bulk import record_invoice_events
from marketplace.clock import FrozenClock
from marketplace.orgs.models import OrgKind
from marketplace.webhooks import relay
from tests.factories import make_org


@pytest.fixture
def relay_requests(monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """Count the relays asked for, instead of queueing them."""
    asked: list[None] = []
    monkeypatch.setattr(relay, "request_relay", lambda: asked.append(None))
    return asked


def test_invoice_events_written_in_bulk_ask_for_a_relay_on_commit(
    session: Session, clock: FrozenClock, relay_requests: list[None]
) -> None:
    vendor = make_org(OrgKind.VENDOR)
    payload = {"vendor_id": vendor.id, "invoice_id": 7, "subscription_id": 3, "sandbox": False}
    session.commit()
    relay_requests.clear()

    record_invoice_events(session, datetime(2026, 3, 2, tzinfo=UTC), [("invoice.paid", payload)])
    session.commit()

    assert len(relay_requests) == 1


def test_a_commit_without_events_asks_for_nothing(
    session: Session, clock: FrozenClock, relay_requests: list[None]
) -> None:
    make_org(OrgKind.VENDOR)
    session.commit()

    assert relay_requests == []
