"""Deliveries to a real HTTP receiver on loopback that is down, failing, slow, then well.

Every event arrives; an event reaches the receiver more than once only where the
delivery log shows an attempt that reached it and did not count (a 500, or an answer
past the timeout); each signature verifies with the HMAC code of this test.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from marketplace.clock import FrozenClock
from marketplace.webhooks.models import (
    AttemptOutcome,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
)
from marketplace.webhooks.relay import dispatch_due_deliveries, relay_outbox
from tests.sso.conftest import Vendor
from tests.webhooks.conftest import Receiver, endpoint_for, independent_check, subscription_event

REACHED = {AttemptOutcome.HTTP_ERROR, AttemptOutcome.TIMEOUT, AttemptOutcome.SUCCEEDED}


def _attempts(session: Session) -> list[WebhookAttempt]:
    return list(session.scalars(sa.select(WebhookAttempt).order_by(WebhookAttempt.id)))


def _outcomes_since(session: Session, seen: int) -> list[str | None]:
    return [a.outcome for a in _attempts(session)[seen:]]


def _retry(session: Session, clock: FrozenClock, hours: float) -> int:
    """Move time on, run the due deliveries; return how many attempts the log had before."""
    seen = len(_attempts(session))
    clock.advance(timedelta(hours=hours))
    dispatch_due_deliveries()
    return seen


@pytest.mark.usefixtures("inline_jobs")
def test_every_event_arrives_once_beyond_the_logged_retries(
    app: Flask,
    session: Session,
    clock: FrozenClock,
    vendor: Vendor,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "WEBHOOK_TIMEOUT_SECONDS", 1)
    secret = endpoint_for(session, clock, vendor, receiver.url).secret
    kinds = ["subscription.created", "subscription.activated", "subscription.cancelled"]
    events = [subscription_event(session, clock, vendor, kind) for kind in kinds]

    relay_outbox()  # the receiver's port is closed
    down = _outcomes_since(session, 0)
    receiver.start()
    receiver.mode = "error"
    failing = _outcomes_since(session, _retry(session, clock, 1))
    receiver.mode = "slow"
    slow = _outcomes_since(session, _retry(session, clock, 2))
    receiver.mode = "ok"
    well = _outcomes_since(session, _retry(session, clock, 6))
    nothing_left = _retry(session, clock, 12) == len(_attempts(session))

    assert down == ["connection_error"] * 3
    assert failing == ["http_error"] * 3
    assert slow == ["timeout"] * 3
    assert well == ["succeeded"] * 3
    assert nothing_left
    deliveries = session.scalars(sa.select(WebhookDelivery).order_by(WebhookDelivery.id)).all()
    assert [d.status for d in deliveries] == [DeliveryStatus.SUCCEEDED] * 3
    # Every event arrived; none more often than the attempts that reached the receiver.
    arrivals = Counter(r["event_id"] for r in receiver.received)
    reached = Counter(
        str(a_delivery.event_id)
        for a_delivery in deliveries
        for attempt in _attempts(session)
        if attempt.delivery_id == a_delivery.id and attempt.outcome in REACHED
    )
    assert arrivals == reached == Counter({str(e.id): 3 for e in events})
    accepted = Counter(r["event_id"] for r in receiver.received if r["mode"] == "ok")
    assert accepted == Counter({str(e.id): 1 for e in events})
    # Each request is signed by the documented scheme, at the clock's time of the attempt.
    stamps = [independent_check(secret, r["signature"], r["body"]) for r in receiver.received]
    assert stamps == sorted(stamps)
    bodies = [json.loads(r["body"]) for r in receiver.received if r["mode"] == "ok"]
    assert sorted((b["id"], b["sequence"], b["type"]) for b in bodies) == [
        (e.id, n, kind) for n, (e, kind) in enumerate(zip(events, kinds, strict=True), start=1)
    ]
    assert all(b["data"]["subscription_id"] == 7 and b["sandbox"] is False for b in bodies)


@pytest.mark.usefixtures("inline_jobs")
def test_a_tampered_body_or_another_secret_fails_the_independent_check(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    receiver.start()
    endpoint_for(session, clock, vendor, receiver.url)
    subscription_event(session, clock, vendor)

    relay_outbox()

    [request] = receiver.received
    with pytest.raises(AssertionError):
        independent_check("whsec_another", request["signature"], request["body"])
    with pytest.raises(AssertionError):
        independent_check("whsec_another", request["signature"], request["body"] + b" ")
