"""Record events in the outbox, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from marketplace.clock import Clock
from marketplace.events.models import EventSequence, OutboxEvent


def record_event(
    session: Session,
    clock: Clock,
    *,
    type: str,
    organization_id: int | None,
    aggregate: tuple[str, object],
    payload: Mapping[str, Any],
) -> OutboxEvent:
    """Add an event to the session; it commits (or rolls back) with the change it announces.

    The payload must hold JSON values only (strings, numbers, booleans, lists, dicts).
    """
    aggregate_type, aggregate_id = aggregate
    event = OutboxEvent(
        type=type,
        organization_id=organization_id,
        aggregate_type=aggregate_type,
        aggregate_id=str(aggregate_id),
        payload=dict(payload),
        created_at=clock.now(),
        attempts=0,
    )
    event.sequence = next_sequence(session, sequence_scope(event))
    session.add(event)
    return event


def sequence_scope(event: OutboxEvent) -> tuple[str, str]:
    """Return what an event is numbered within: its subscription, else its aggregate."""
    return scope_of(event.aggregate_type, event.aggregate_id, event.payload)


def scope_of(
    aggregate_type: str, aggregate_id: str, payload: Mapping[str, Any] | None
) -> tuple[str, str]:
    """Return the numbering scope of an event with this aggregate and payload."""
    if aggregate_type == "subscription":
        return ("subscription", aggregate_id)
    subscription_id = (payload or {}).get("subscription_id")
    if subscription_id is not None:
        return ("subscription", str(subscription_id))
    return (aggregate_type, aggregate_id)


def next_sequence(session: Session, scope: tuple[str, str]) -> int:
    """Take the next number of a scope; its counter row stays locked until commit.

    The lock makes numbers follow commit order: a second transaction numbering the same
    subscription waits for the first to end, so 1, 2, 3… are never committed out of order.
    """
    scope_type, scope_id = scope
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = cast(sa.Table, EventSequence.__table__)
    stmt = (
        insert(table)
        .values(scope_type=scope_type, scope_id=scope_id, last_value=1)
        .on_conflict_do_update(
            index_elements=[table.c.scope_type, table.c.scope_id],
            set_={"last_value": table.c.last_value + 1},
        )
        .returning(table.c.last_value)
    )
    value: int = session.execute(stmt).scalar_one()
    return value


def fill_missing_sequence(session: Session, event: OutboxEvent) -> None:
    """Number an event written without one (bulk inserts), when it is relayed."""
    if event.sequence is None:
        event.sequence = next_sequence(session, sequence_scope(event))


def take_sequences(
    session: Session, counts: Mapping[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    """Take `count` numbers of each scope at once; return each scope's first number.

    One counter update per scope (one statement for all on PostgreSQL), in scope order so
    that two bulk writers lock shared counters in the same order and cannot deadlock. The
    counter rows stay locked until commit, as with next_sequence.
    """
    wanted = sorted((scope, count) for scope, count in counts.items() if count > 0)
    if not wanted:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        lasts = _take_on_postgresql(session, wanted)
    else:
        lasts = {scope: _take_one(session, scope, count) for scope, count in wanted}
    return {scope: lasts[scope] - count + 1 for scope, count in wanted}


def _take_on_postgresql(
    session: Session, wanted: list[tuple[tuple[str, str], int]]
) -> dict[tuple[str, str], int]:
    sql = sa.text(
        "INSERT INTO event_sequences (scope_type, scope_id, last_value) "
        "SELECT t, i, n FROM unnest(CAST(:types AS varchar[]), CAST(:ids AS varchar[]), "
        "CAST(:counts AS integer[])) AS v(t, i, n) ORDER BY t, i "
        "ON CONFLICT (scope_type, scope_id) "
        "DO UPDATE SET last_value = event_sequences.last_value + excluded.last_value "
        "RETURNING scope_type, scope_id, last_value"
    )
    params = {
        "types": [scope[0] for scope, _ in wanted],
        "ids": [scope[1] for scope, _ in wanted],
        "counts": [count for _, count in wanted],
    }
    return {(t, i): last for t, i, last in session.execute(sql, params)}


def _take_one(session: Session, scope: tuple[str, str], count: int) -> int:
    table = cast(sa.Table, EventSequence.__table__)
    stmt = (
        sqlite.insert(table)
        .values(scope_type=scope[0], scope_id=scope[1], last_value=count)
        .on_conflict_do_update(
            index_elements=[table.c.scope_type, table.c.scope_id],
            set_={"last_value": table.c.last_value + count},
        )
        .returning(table.c.last_value)
    )
    value: int = session.execute(stmt).scalar_one()
    return value


RECORDED_FLAG = "outbox_recorded"


def mark_recorded(session: Session) -> None:
    """Note that this transaction recorded events, so its commit asks for an outbox relay.

    Events added as ORM objects are noticed at flush; a bulk insert of events says so here.
    """
    session.info[RECORDED_FLAG] = True
