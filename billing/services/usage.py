"""Store a vendor's metered usage once per idempotency key, answering every record.

A batch costs a fixed handful of statements whatever its size: one read of the
subscriptions it names (with their plans' metered dimensions and test clocks), one of
finalized invoices when a record falls in an ended period, one multi-row insert that lets
the unique (vendor, idempotency key) drop the records already stored, one update that
counts the repeats and returns their originals, and one insert of the rejections. Two
batches with the same keys racing each other store each record once: the unique
constraint decides, never a read before the write.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.models import (
    Invoice,
    InvoiceStatus,
    Subscription,
    TestClock,
    UsageEvent,
    UsageRejection,
)
from billing.usage import (
    ID_MAX,
    Code,
    MeteredSubscription,
    Outcome,
    Reason,
    Rejection,
    Taken,
    UsageRecord,
    check_record,
    parse_record,
    quantity_differs,
)
from catalog.models import Plan, PriceComponent
from catalog.pricing import ComponentKind
from marketplace.clock import Clock


@dataclass(frozen=True, slots=True)
class RecordResult:
    """The answer to one record of a batch, at its index."""

    index: int
    status: Outcome
    idempotency_key: str | None
    code: str | None = None
    message: str | None = None
    quantity_differs: bool | None = None


@dataclass(frozen=True)
class BatchResult:
    """The answers to a batch, in the order its records came."""

    results: list[RecordResult]

    def count(self, status: Outcome) -> int:
        """Return how many records ended with this status."""
        return sum(1 for result in self.results if result.status == status)


def record_usage(
    session: Session, clock: Clock, vendor_id: int, sandbox: bool, records: Sequence[object]
) -> BatchResult:
    """Check and store a batch of usage records of a vendor; answer each one."""
    now = clock.now()
    parsed = [parse_record(raw) for raw in records]
    named = {p.subscription_id for p in parsed if isinstance(p, UsageRecord)}
    subscriptions = metered_subscriptions(session, vendor_id, sandbox, named, now)
    checked = [
        check_record(p, subscriptions.get(p.subscription_id)) if isinstance(p, UsageRecord) else p
        for p in parsed
    ]
    checked = _close_finalized(session, checked, subscriptions)
    fresh = _first_of_each_key(checked)
    inserted = _insert_events(session, vendor_id, sandbox, now, [checked[i] for i in fresh])
    keys = [_key_of(outcome) for outcome in checked]
    repeated = Counter(
        key
        for index, key in enumerate(keys)
        if key is not None and not (index in fresh and key in inserted)
    )
    originals = _count_repeats(session, vendor_id, sandbox, repeated)
    messages: dict[tuple[Code, str | None, Reason | None], str] = {}
    results = [
        _result(
            index, outcome, index in fresh and _key_of(outcome) in inserted, originals, messages
        )
        for index, outcome in enumerate(checked)
    ]
    _store_rejections(session, vendor_id, sandbox, now, records, checked, results)
    session.commit()
    return BatchResult(results)


def metered_subscriptions(
    session: Session, vendor_id: int, sandbox: bool, ids: Iterable[int], now: datetime
) -> dict[int, MeteredSubscription]:
    """Load the vendor's subscriptions of the caller's mode among ids, with their dimensions."""
    wanted = sorted(i for i in ids if 1 <= i <= ID_MAX)
    if not wanted:
        return {}
    # Table columns, not entities: a batch pays for this read once, without the ORM's rows.
    s, plan = Subscription.__table__.c, Plan.__table__.c
    component, clock_ = PriceComponent.__table__.c, TestClock.__table__.c
    stmt = (
        sa.select(
            s.id,
            s.status,
            s.activated_at,
            s.suspended_at,
            s.cancelled_at,
            s.cancel_at_period_end,
            s.current_period_start,
            s.current_period_end,
            s.usage_from,
            s.anchor_at,
            s.time_zone,
            plan.billing_interval,
            clock_.frozen_at,
            component.dimension,
            component.aggregation,
        )
        .select_from(Subscription.__table__)
        .join(Plan.__table__, plan.id == s.plan_id)
        .outerjoin(
            PriceComponent.__table__,
            sa.and_(component.plan_id == s.plan_id, component.kind == ComponentKind.METERED),
        )
        .outerjoin(TestClock.__table__, clock_.organization_id == s.organization_id)
        .where(s.id.in_(wanted), s.vendor_id == vendor_id, s.sandbox.is_(sandbox))
    )
    rows: dict[int, list[Any]] = {}
    for row in session.execute(stmt):
        rows.setdefault(row.id, []).append(row)
    return {sub_id: _metered(found, now) for sub_id, found in rows.items()}


def _metered(rows: list[Any], now: datetime) -> MeteredSubscription:
    first = rows[0]
    dimensions = {r.dimension: r.aggregation for r in rows if r.dimension is not None}
    return MeteredSubscription(
        id=first.id,
        status=first.status,
        activated_at=first.activated_at,
        suspended_at=first.suspended_at,
        cancelled_at=first.cancelled_at,
        cancel_at_period_end=first.cancel_at_period_end,
        current_period_start=first.current_period_start,
        current_period_end=first.current_period_end,
        dimensions=dimensions,
        # A sandbox firm with a test clock lives at that clock's time.
        now=first.frozen_at or now,
        anchor_at=first.anchor_at,
        usage_from=first.usage_from,
        billing_interval=first.billing_interval,
        time_zone=first.time_zone,
    )


Checked = Taken | Rejection


def _close_finalized(
    session: Session, checked: list[Checked], subscriptions: dict[int, MeteredSubscription]
) -> list[Checked]:
    """Reject records of ended periods whose invoice is no longer a draft."""
    due = {
        (c.record.subscription_id, c.boundary)
        for c in checked
        if isinstance(c, Taken)
        and c.boundary is not None
        and c.boundary <= subscriptions[c.record.subscription_id].now
    }
    if not due:
        return checked
    # FOR SHARE on the drafts these records land on: finalization takes them FOR UPDATE
    # (skipping locked ones), so a draft is either final before this read, and the records
    # are refused, or stays a draft until they are stored, and its finalization rates them.
    stmt = (
        sa.select(Invoice.subscription_id, Invoice.period_start, Invoice.status)
        .where(
            Invoice.subscription_id.in_({sub_id for sub_id, _ in due}),
            Invoice.period_start >= min(boundary for _, boundary in due),
        )
        .with_for_update(read=True)
    )
    closed = {
        (row.subscription_id, row.period_start)
        for row in session.execute(stmt)
        if row.status != InvoiceStatus.DRAFT
    }
    if not closed:
        return checked
    return [
        _outside(c)
        if isinstance(c, Taken) and (c.record.subscription_id, c.boundary) in closed
        else c
        for c in checked
    ]


def _outside(taken: Taken) -> Rejection:
    record = taken.record
    return Rejection(
        Code.OUTSIDE_OPEN_WINDOW,
        record.idempotency_key,
        record.subscription_id,
        record.dimension,
        quantity=record.quantity,
    )


def _key_of(outcome: Checked) -> str | None:
    return outcome.record.idempotency_key if isinstance(outcome, Taken) else outcome.idempotency_key


def _first_of_each_key(checked: list[Checked]) -> set[int]:
    """Return the indexes of records to insert: the first taken record of each key."""
    first: dict[str, int] = {}
    for index, outcome in enumerate(checked):
        if isinstance(outcome, Taken):
            first.setdefault(outcome.record.idempotency_key, index)
    return set(first.values())


def _insert_events(
    session: Session, vendor_id: int, sandbox: bool, now: datetime, taken: list[Checked]
) -> set[str]:
    """Insert the records; return the keys stored now (the others were stored before)."""
    records = sorted(
        (t.record for t in taken if isinstance(t, Taken)), key=lambda r: r.idempotency_key
    )
    if not records:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _insert_from_json(session, vendor_id, sandbox, now, records)
    return _insert_rows(session, vendor_id, sandbox, now, records)


# One statement whose rows travel as one JSON document: its text is the same for any batch
# size, and PostgreSQL reads the rows faster than it binds ten thousand parameters.
_INSERT_FROM_JSON = sa.text(
    """
    INSERT INTO usage_events (vendor_id, sandbox, subscription_id, dimension, quantity,
                              unique_value, occurred_at, idempotency_key, attributes,
                              received_at, duplicates)
    SELECT :vendor_id, :sandbox, r.s, r.d, r.q, r.u, r.t, r.k, r.a, :received_at, 0
    FROM json_to_recordset(CAST(:rows AS json))
         AS r(s integer, d varchar, q numeric, u varchar, t timestamptz, k varchar, a json)
    ON CONFLICT (vendor_id, sandbox, idempotency_key) DO NOTHING
    RETURNING idempotency_key
    """
)


def _insert_from_json(
    session: Session, vendor_id: int, sandbox: bool, now: datetime, records: list[UsageRecord]
) -> set[str]:
    rows = [
        {
            "s": r.subscription_id,
            "d": r.dimension,
            "q": str(r.quantity),
            "u": r.unique_value,
            "t": r.occurred_at.isoformat(),
            "k": r.idempotency_key,
            "a": r.attributes,
        }
        for r in records
    ]
    params = {
        "vendor_id": vendor_id,
        "sandbox": sandbox,
        "received_at": now,
        "rows": json.dumps(rows, ensure_ascii=False),
    }
    return set(session.scalars(_INSERT_FROM_JSON, params))


def _insert_rows(
    session: Session, vendor_id: int, sandbox: bool, now: datetime, records: list[UsageRecord]
) -> set[str]:
    from sqlalchemy.dialects.sqlite import insert

    rows = [
        {
            "vendor_id": vendor_id,
            "sandbox": sandbox,
            "subscription_id": r.subscription_id,
            "dimension": r.dimension,
            "quantity": r.quantity,
            "unique_value": r.unique_value,
            "occurred_at": r.occurred_at,
            "idempotency_key": r.idempotency_key,
            "attributes": r.attributes,
            "received_at": now,
            "duplicates": 0,
        }
        for r in records
    ]
    stmt = (
        insert(UsageEvent)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["vendor_id", "sandbox", "idempotency_key"])
        .returning(UsageEvent.idempotency_key)
    )
    return set(session.scalars(stmt))


def _count_repeats(
    session: Session, vendor_id: int, sandbox: bool, repeated: Counter[str]
) -> dict[str, Decimal]:
    """Add the repeats to the stored records' counters; return their original quantities."""
    if not repeated:
        return {}
    bump = sa.case(dict(repeated), value=UsageEvent.idempotency_key, else_=0)
    stmt = (
        sa.update(UsageEvent)
        .where(
            UsageEvent.vendor_id == vendor_id,
            UsageEvent.sandbox.is_(sandbox),
            UsageEvent.idempotency_key.in_(sorted(repeated)),
        )
        .values(duplicates=UsageEvent.duplicates + bump)
        .returning(UsageEvent.idempotency_key, UsageEvent.quantity)
        .execution_options(synchronize_session=False)
    )
    return {row.idempotency_key: row.quantity for row in session.execute(stmt)}


def _result(
    index: int,
    outcome: Checked,
    inserted: bool,
    originals: dict[str, Decimal],
    messages: dict[tuple[Code, str | None, Reason | None], str],
) -> RecordResult:
    key = _key_of(outcome)
    if inserted:
        return RecordResult(index, Outcome.ACCEPTED, key)
    if key is not None and key in originals:
        found = outcome.record if isinstance(outcome, Taken) else outcome
        differs = quantity_differs(originals[key], found)
        return RecordResult(index, Outcome.DUPLICATE, key, quantity_differs=differs)
    if isinstance(outcome, Taken):  # stored by a batch whose transaction then failed
        raise RuntimeError("a usage record was neither stored nor found")
    # Translating once per kind of rejection keeps a batch of bad records cheap.
    kind = (outcome.code, outcome.field, outcome.reason)
    if kind not in messages:
        messages[kind] = rejection_message(outcome)
    return RecordResult(index, Outcome.REJECTED, key, code=outcome.code, message=messages[kind])


def _store_rejections(
    session: Session,
    vendor_id: int,
    sandbox: bool,
    now: datetime,
    records: Sequence[object],
    checked: list[Checked],
    results: list[RecordResult],
) -> None:
    rows = [
        {
            "vendor_id": vendor_id,
            "sandbox": sandbox,
            "idempotency_key": outcome.idempotency_key,
            "subscription_id": _stored_id(outcome.subscription_id),
            "dimension": outcome.dimension,
            "code": outcome.code,
            "message": (result.message or "")[:500],
            "record": storable(records[result.index]),
            "received_at": now,
        }
        for outcome, result in zip(checked, results, strict=True)
        if result.status == Outcome.REJECTED and isinstance(outcome, Rejection)
    ]
    if rows:
        session.execute(sa.insert(UsageRejection), rows)


def _stored_id(subscription_id: int | None) -> int | None:
    if subscription_id is None or not 1 <= subscription_id <= ID_MAX:
        return None
    return subscription_id


def storable(value: object) -> Any:
    """Return a JSON value as a JSON column stores it: no NaN or infinity, text keys."""
    if isinstance(value, dict):
        return {str(k): storable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return str(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


def rejection_message(rejection: Rejection) -> str:
    """Say, for people, why a record was rejected."""
    if rejection.reason is not None and rejection.field is not None:
        return f"{rejection.field}: {_reason_text(rejection.reason)}"
    return _code_text(rejection.code)


def _code_text(code: Code) -> str:
    texts = {
        Code.UNKNOWN_SUBSCRIPTION: _("No subscription of yours in this mode has this id."),
        Code.SUBSCRIPTION_NOT_ACTIVE: _("The subscription was not in service at that time."),
        Code.UNKNOWN_DIMENSION: _("The subscription's plan meters no dimension of this key."),
        Code.TIMESTAMP_IN_FUTURE: _("The time lies more than 5 minutes in the future."),
        Code.OUTSIDE_OPEN_WINDOW: _(
            "The time falls in a period that is closed: its grace window has passed or its "
            "invoice is final."
        ),
        Code.MISSING_VALUE: _("This dimension counts distinct values: send unique_value."),
    }
    text: str = texts.get(code, _("The record is not valid."))
    return text


def _reason_text(reason: Reason) -> str:
    texts = {
        Reason.NOT_OBJECT: _("Each record must be a JSON object."),
        Reason.MISSING: _("This field is required."),
        Reason.UNKNOWN_FIELD: _("Unknown field."),
        Reason.NOT_INTEGER: _("Must be an integer."),
        Reason.NOT_TEXT: _("Must be a string."),
        Reason.BAD_LENGTH: _(
            "Must be 1 to 255 characters (64 for a dimension) without NUL characters."
        ),
        Reason.NOT_TIME: _("Must be an ISO 8601 date and time."),
        Reason.NO_TIME_ZONE: _("Give the time with its offset, e.g. 2026-03-02T09:30:00+08:00."),
        Reason.BAD_ATTRIBUTES: _(
            "Must be an object of at most 50 keys with string, number, boolean or null values."
        ),
        Reason.NOT_NUMBER: _("Must be a decimal number, as a JSON number or a string."),
        Reason.NEGATIVE: _("Must not be negative."),
        Reason.TOO_LARGE: _("Must be less than 100000000000000."),
        Reason.TOO_PRECISE: _("At most 6 decimal places."),
    }
    text: str = texts[reason]
    return text
