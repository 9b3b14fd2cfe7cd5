"""The outbox relay: run each new event's handlers and fan it out to vendors' endpoints.

`relay_outbox` takes unrelayed events in id order (locking them with SKIP LOCKED on
PostgreSQL, so relays may run side by side), runs the handlers registered for each type,
adds one delivery per endpoint of the event's vendor in the event's mode that takes its
type (unique per endpoint and event, so a rerun adds none twice), marks the event
relayed and commits; then it queues the deliveries. A commit that recorded events asks
for a relay at once; the scheduler runs one every minute besides, in case that ask is lost.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, g, has_app_context, has_request_context
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from marketplace.clock import Clock, current_clock
from marketplace.events.handlers import handlers_for
from marketplace.events.models import OutboxEvent
from marketplace.events.services import RECORDED_FLAG, fill_missing_sequence, mark_recorded
from marketplace.extensions import db
from marketplace.jobs import InlineRunner, RqRunner, enqueue, runner, schedule_every
from marketplace.logs import get_logger
from marketplace.webhooks.event_types import EVENT_TYPES
from marketplace.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

RELAY_JOB = "marketplace.webhooks.relay.relay_outbox"
DELIVER_JOB = "marketplace.webhooks.sending.deliver_webhook"
SWEEP_JOB = "marketplace.webhooks.relay.dispatch_due_deliveries"
RELAY_BATCH = 200
SWEEP_BATCH = 1000
RELAY_INTERVAL_SECONDS = 60
SWEEP_INTERVAL_SECONDS = 30
# While a relay is queued, commits need not queue another: it will see their events.
RELAY_QUEUED_KEY = "webhooks:relay-queued"
RELAY_QUEUED_TTL_MS = 60_000
log = get_logger(__name__)


def relay_outbox() -> dict[str, int]:
    """Relay every unrelayed event; return how many were relayed and deliveries made."""
    _clear_relay_queued()
    session, clock = db.session(), current_clock()
    relayed = made = 0
    after_id = 0
    while True:
        events = _next_batch(session, after_id)
        created: list[int] = []
        for event in events:
            after_id = event.id
            relayed += _relay_one(session, clock, event, created)
        session.commit()
        made += len(created)
        enqueue_deliveries(created)
        if len(events) < RELAY_BATCH:
            return {"events": relayed, "deliveries": made}


def _next_batch(session: Session, after_id: int) -> list[OutboxEvent]:
    stmt = (
        sa.select(OutboxEvent)
        .where(OutboxEvent.delivered_at.is_(None), OutboxEvent.id > after_id)
        .order_by(OutboxEvent.id)
        .limit(RELAY_BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def _relay_one(session: Session, clock: Clock, event: OutboxEvent, created: list[int]) -> int:
    """Relay one event in a savepoint; a failing handler leaves it for the next relay."""
    try:
        with session.begin_nested():
            fill_missing_sequence(session, event)
            for handler in handlers_for(event.type):
                handler(session, event)
            created.extend(fan_out(session, clock, event))
            event.delivered_at = clock.now()
    except Exception:
        log.exception("event handler failed", event_id=event.id, event_type=event.type)
        event.attempts += 1
        return 0
    event.attempts += 1
    return 1


def fan_out(session: Session, clock: Clock, event: OutboxEvent) -> list[int]:
    """Add a delivery of the event to each endpoint that takes it; return the new ids."""
    if event.organization_id is None or event.type not in EVENT_TYPES:
        return []
    sandbox = bool(event.payload.get("sandbox", False))
    stmt = sa.select(WebhookEndpoint).where(
        WebhookEndpoint.organization_id == event.organization_id,
        WebhookEndpoint.sandbox == sandbox,
        WebhookEndpoint.status != EndpointStatus.DISABLED,
    )
    endpoints = [
        e for e in session.scalars(stmt.order_by(WebhookEndpoint.id)) if e.wants(event.type)
    ]
    if not endpoints:
        return []
    now = clock.now()
    rows = [
        {
            "endpoint_id": e.id,
            "event_id": event.id,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "manual": False,
            "next_attempt_at": now,
            "created_at": now,
        }
        for e in endpoints
    ]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt_insert = (
        insert(WebhookDelivery)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
        .returning(WebhookDelivery.id)
    )
    return list(session.scalars(stmt_insert))


def enqueue_deliveries(delivery_ids: list[int]) -> None:
    """Queue one delivery job per id (commit first: the job reads the row)."""
    for delivery_id in delivery_ids:
        enqueue(DELIVER_JOB, delivery_id)


def release_held_deliveries(session: Session, endpoint_id: int, now: Any) -> None:
    """Make an endpoint's waiting deliveries due now, each with a fresh retry window."""
    session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.RETRYING]),
        )
        .values(next_attempt_at=now, window_started_at=None)
    )


def due_delivery_ids(session: Session, now: Any, limit: int = SWEEP_BATCH) -> list[int]:
    """Return deliveries whose next attempt is due (or whose sender vanished), oldest first."""
    sendable = sa.or_(
        WebhookEndpoint.status == EndpointStatus.ENABLED,
        sa.and_(WebhookEndpoint.status == EndpointStatus.FAILING, WebhookDelivery.manual),
    )
    stmt = (
        sa.select(WebhookDelivery.id)
        .join(WebhookDelivery.endpoint)
        .where(
            WebhookDelivery.status.in_(
                [DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.SENDING]
            ),
            WebhookDelivery.next_attempt_at <= now,
            sendable,
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def dispatch_due_deliveries() -> int:
    """Queue every delivery that is due; return how many were queued."""
    session = db.session()
    ids = due_delivery_ids(session, current_clock().now())
    session.rollback()  # hold no transaction while the jobs run inline
    enqueue_deliveries(ids)
    return len(ids)


def _queued_key(rq: RqRunner) -> str:
    return f"{rq.prefix}{RELAY_QUEUED_KEY}"


def _clear_relay_queued() -> None:
    current = runner()
    if isinstance(current, RqRunner):
        current.connection.delete(_queued_key(current))


def request_relay() -> None:
    """Ask for a relay soon: queue one unless one is already waiting in the queue."""
    current = runner()
    if isinstance(current, RqRunner):
        if current.connection.set(_queued_key(current), "1", nx=True, px=RELAY_QUEUED_TTL_MS):
            enqueue(RELAY_JOB)
    elif has_request_context():
        # Inline, the relay runs after the request's commit, outside the committing session.
        g.webhooks_relay_wanted = True


def _note_recorded_events(session: Session, _context: Any, _instances: Any) -> None:
    if any(isinstance(obj, OutboxEvent) for obj in session.new):
        mark_recorded(session)


def _after_commit(session: Session) -> None:
    if session.info.pop(RECORDED_FLAG, False) and has_app_context():
        try:
            request_relay()
        except Exception:
            # The change is committed; the scheduled relay will pick its events up.
            log.exception("could not ask for an outbox relay")


def _after_rollback(session: Session) -> None:
    session.info.pop(RECORDED_FLAG, None)


def _relay_after_request(response: Any) -> Any:
    if g.pop("webhooks_relay_wanted", False) and isinstance(runner(), InlineRunner):
        enqueue(RELAY_JOB)
    return response


def init_relay(app: Flask) -> None:
    """Ask for a relay after commits that recorded events, and schedule relay and sweep."""
    factory = db.session_factory
    for name, listener in (
        ("before_flush", _note_recorded_events),
        ("after_commit", _after_commit),
        ("after_rollback", _after_rollback),
    ):
        if not sa.event.contains(factory, name, listener):
            sa.event.listen(factory, name, listener)
    app.after_request(_relay_after_request)
    schedule_every(app, RELAY_JOB, seconds=RELAY_INTERVAL_SECONDS, queue="default")
    schedule_every(app, SWEEP_JOB, seconds=SWEEP_INTERVAL_SECONDS, queue="default")
