"""Check metered usage records: read each one, then decide whether its period still takes it.

Pure: the usage service loads the subscriptions a batch names and hands them in, so every
rule here runs without a database. A record is answered on its own: one bad record never
fails the batch it came in.

A record is taken while the period it falls in is open: the current period (or a later one
the period close has not started yet), or a period that ended less than the grace window
ago and whose invoice is still a draft. The subscription must have been serving then
(trialing, active or past due). Another vendor's subscription, and one of the other mode
(sandbox or live), is answered as unknown, so a record never shows that an id exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from billing.due_dates import DEFAULT_GRACE_HOURS
from billing.lifecycle import CANCELLED, PENDING, SUSPENDED
from billing.periods import period_containing

MAX_RECORDS = 1000
FUTURE_LEEWAY = timedelta(minutes=5)
DEFAULT_GRACE = timedelta(hours=DEFAULT_GRACE_HOURS)
# What the usage_events columns hold: Numeric(20, 6), strings of 64 and 255 characters.
QUANTITY_LIMIT = Decimal(10) ** 14
QUANTITY_PLACES = 6
DIMENSION_MAX = 64
TEXT_MAX = 255
ATTRIBUTES_MAX = 50
# Subscription ids are 32-bit integers: a larger one names no subscription.
ID_MAX = 2**31 - 1

REQUIRED = ("subscription_id", "dimension", "quantity", "timestamp", "idempotency_key")
OPTIONAL = ("unique_value", "attributes")
KNOWN_FIELDS = frozenset(REQUIRED + OPTIONAL)


class Outcome(StrEnum):
    """What became of one record."""

    ACCEPTED = "accepted"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"


class Code(StrEnum):
    """Why a record was rejected."""

    UNKNOWN_SUBSCRIPTION = "unknown_subscription"
    SUBSCRIPTION_NOT_ACTIVE = "subscription_not_active"
    UNKNOWN_DIMENSION = "unknown_dimension"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    OUTSIDE_OPEN_WINDOW = "outside_open_window"
    BAD_QUANTITY = "bad_quantity"
    MISSING_VALUE = "missing_value"
    BAD_RECORD = "bad_record"


class Reason(StrEnum):
    """What is wrong with one field of a record (for bad_record and bad_quantity)."""

    NOT_OBJECT = "not_object"
    MISSING = "missing"
    UNKNOWN_FIELD = "unknown_field"
    NOT_INTEGER = "not_integer"
    NOT_TEXT = "not_text"
    BAD_LENGTH = "bad_length"
    NOT_TIME = "not_time"
    NO_TIME_ZONE = "no_time_zone"
    BAD_ATTRIBUTES = "bad_attributes"
    NOT_NUMBER = "not_number"
    NEGATIVE = "negative"
    TOO_LARGE = "too_large"
    TOO_PRECISE = "too_precise"


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """A record whose fields all read well; the rules have not looked at it yet."""

    subscription_id: int
    dimension: str
    quantity: Decimal
    occurred_at: datetime
    idempotency_key: str
    unique_value: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Rejection:
    """A refused record: the code, the field and reason when one field is wrong, what it named."""

    code: Code
    idempotency_key: str | None = None
    subscription_id: int | None = None
    dimension: str | None = None
    field: str | None = None
    reason: Reason | None = None
    quantity: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Taken:
    """A record the rules let in; `boundary` is the invoice boundary that bills it, if any.

    The record stays open only while that boundary's invoice is a draft, which the caller
    checks against the database; None means a period no close has reached yet.
    """

    record: UsageRecord
    boundary: datetime | None


@dataclass(frozen=True)
class MeteredSubscription:
    """What the rules need of a subscription: its status history, periods and dimensions.

    `now` is the subscription's own time: the wall clock, or a sandbox firm's test clock.
    `dimensions` maps each metered dimension of the plan to its aggregation.
    """

    id: int
    status: str
    activated_at: datetime | None
    suspended_at: datetime | None
    cancelled_at: datetime | None
    cancel_at_period_end: bool
    current_period_start: datetime | None
    current_period_end: datetime | None
    dimensions: Mapping[str, str]
    now: datetime
    anchor_at: datetime | None = None
    billing_interval: str = "month"
    time_zone: str = "Asia/Shanghai"
    # After an upgrade: the current period's usage before this was billed on the old plan.
    usage_from: datetime | None = None


def parse_record(raw: object) -> UsageRecord | Rejection:
    """Read one record of a batch; a missing or malformed field gives a rejection naming it."""
    # A batch is mostly good records: check them in one pass, and look for what is wrong
    # field by field only when something is.
    if type(raw) is dict and raw.keys() <= KNOWN_FIELDS:
        key, sub_id = raw.get("idempotency_key"), raw.get("subscription_id")
        dimension, unique_value = raw.get("dimension"), raw.get("unique_value")
        attributes = raw.get("attributes")
        if (
            type(sub_id) is int
            and type(key) is str
            and type(dimension) is str
            and 0 < len(key) <= TEXT_MAX
            and 0 < len(dimension) <= DIMENSION_MAX
            and "\x00" not in key
            and "\x00" not in dimension
            and (unique_value is None or _text(unique_value, TEXT_MAX) is not None)
            and (attributes is None or _plain_attributes(attributes))
        ):
            occurred_at = _moment(raw.get("timestamp"))
            quantity = read_quantity(raw.get("quantity"))
            if type(occurred_at) is datetime and type(quantity) is Decimal:
                return UsageRecord(
                    sub_id, dimension, quantity, occurred_at, key, unique_value, attributes or {}
                )
    return _diagnose(raw)


def _diagnose(raw: object) -> UsageRecord | Rejection:
    """Read a record field by field, naming the first field that is missing or malformed."""
    if not isinstance(raw, dict):
        return Rejection(Code.BAD_RECORD, field="record", reason=Reason.NOT_OBJECT)
    key = _text(raw.get("idempotency_key"), TEXT_MAX)
    sub_id = _integer(raw.get("subscription_id"))
    dimension = _text(raw.get("dimension"), DIMENSION_MAX)

    def refuse(name: str, reason: Reason, code: Code = Code.BAD_RECORD) -> Rejection:
        return Rejection(code, key, sub_id, dimension, field=name, reason=reason)

    for name in REQUIRED:
        if raw.get(name) is None:
            return refuse(name, Reason.MISSING)
    unknown = sorted(str(name) for name in raw if name not in KNOWN_FIELDS)
    if unknown:
        return refuse(unknown[0], Reason.UNKNOWN_FIELD)
    if sub_id is None:
        return refuse("subscription_id", Reason.NOT_INTEGER)
    for name, value, most in (
        ("idempotency_key", key, TEXT_MAX),
        ("dimension", dimension, DIMENSION_MAX),
    ):
        if value is None:
            return refuse(name, _text_reason(raw[name], most))
    occurred_at = _moment(raw["timestamp"])
    if isinstance(occurred_at, Reason):
        return refuse("timestamp", occurred_at)
    unique_value = raw.get("unique_value")
    if unique_value is not None and _text(unique_value, TEXT_MAX) is None:
        return refuse("unique_value", _text_reason(unique_value, TEXT_MAX))
    attributes = raw.get("attributes")
    if attributes is not None and not _plain_attributes(attributes):
        return refuse("attributes", Reason.BAD_ATTRIBUTES)
    quantity = read_quantity(raw["quantity"])
    if isinstance(quantity, Reason):
        return refuse("quantity", quantity, Code.BAD_QUANTITY)
    assert key is not None and dimension is not None
    return UsageRecord(
        sub_id, dimension, quantity, occurred_at, key, unique_value, attributes or {}
    )


def _integer(value: object) -> int | None:
    # JSON true is a Python int; it is no id.
    return value if type(value) is int else None


def _text(value: object, most: int) -> str | None:
    if type(value) is not str or not 1 <= len(value) <= most or "\x00" in value:
        return None
    return value


def _text_reason(value: object, most: int) -> Reason:
    return Reason.BAD_LENGTH if isinstance(value, str) else Reason.NOT_TEXT


def _moment(value: object) -> datetime | Reason:
    if not isinstance(value, str):
        return Reason.NOT_TIME
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return Reason.NOT_TIME
    if moment.tzinfo is None or moment.utcoffset() is None:
        return Reason.NO_TIME_ZONE
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. year 1 with a positive offset
        return Reason.NOT_TIME


def _plain_attributes(value: object) -> bool:
    """Accept an object of at most 50 short keys with text, number, true/false or null values."""
    if not isinstance(value, dict) or len(value) > ATTRIBUTES_MAX:
        return False
    for name, item in value.items():
        if _text(name, DIMENSION_MAX) is None:
            return False
        if isinstance(item, str):
            if len(item) > TEXT_MAX or "\x00" in item:
                return False
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return False
        elif item is not None and not isinstance(item, int):  # bool is an int
            return False
    return True


def read_quantity(value: object) -> Decimal | Reason:
    """Read a quantity: a JSON number or decimal string, 0 ≤ q < 10^14, at most 6 places."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return Reason.NOT_NUMBER
    try:
        # repr gives a float's shortest round-trip text: 0.1 stays 0.1.
        quantity = Decimal(repr(value) if isinstance(value, float) else value)
    except (InvalidOperation, ValueError):
        return Reason.NOT_NUMBER
    if not quantity.is_finite():
        return Reason.NOT_NUMBER
    if quantity < 0:
        return Reason.NEGATIVE
    if quantity >= QUANTITY_LIMIT:
        return Reason.TOO_LARGE
    exponent = quantity.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -QUANTITY_PLACES:
        # "1.50000000" has more places than it needs: only its significant ones count.
        exponent = quantity.normalize().as_tuple().exponent
        if isinstance(exponent, int) and exponent < -QUANTITY_PLACES:
            return Reason.TOO_PRECISE
    return quantity


def check_record(
    record: UsageRecord,
    subscription: MeteredSubscription | None,
    grace: timedelta = DEFAULT_GRACE,
) -> Taken | Rejection:
    """Decide whether a well-formed record may be stored against its subscription."""

    def refuse(code: Code) -> Rejection:
        return Rejection(
            code,
            record.idempotency_key,
            record.subscription_id,
            record.dimension,
            quantity=record.quantity,
        )

    if subscription is None:
        return refuse(Code.UNKNOWN_SUBSCRIPTION)
    aggregation = subscription.dimensions.get(record.dimension)
    if aggregation is None:
        return refuse(Code.UNKNOWN_DIMENSION)
    if aggregation == "unique" and record.unique_value is None:
        return refuse(Code.MISSING_VALUE)
    if record.occurred_at > subscription.now + FUTURE_LEEWAY:
        return refuse(Code.TIMESTAMP_IN_FUTURE)
    if not serving_at(subscription, record.occurred_at):
        return refuse(Code.SUBSCRIPTION_NOT_ACTIVE)
    boundary = billing_boundary(subscription, record.occurred_at)
    if boundary is not None and subscription.now >= boundary + grace:
        return refuse(Code.OUTSIDE_OPEN_WINDOW)
    if billed_at_plan_change(subscription, record.occurred_at):
        return refuse(Code.OUTSIDE_OPEN_WINDOW)
    return Taken(record, boundary)


def billed_at_plan_change(subscription: MeteredSubscription, moment: datetime) -> bool:
    """Tell whether usage at this moment of the current period was billed at an upgrade."""
    start, billed_to = subscription.current_period_start, subscription.usage_from
    return start is not None and billed_to is not None and start <= moment < billed_to


def serving_at(subscription: MeteredSubscription, moment: datetime) -> bool:
    """Tell whether the subscription delivered its service at that moment.

    Only the last suspension and cancellation are kept, so an earlier suspension that was
    lifted again does not count against the record.
    """
    started = subscription.activated_at
    if subscription.status == PENDING or started is None or moment < started:
        return False
    suspended_at = subscription.suspended_at
    if subscription.status == SUSPENDED and suspended_at is not None and moment >= suspended_at:
        return False
    if subscription.status == CANCELLED:
        ended = subscription.cancelled_at or subscription.current_period_end
        return ended is not None and moment < ended
    end = subscription.current_period_end
    # Cancelling at the period's end: nothing is served after that end.
    return not (subscription.cancel_at_period_end and end is not None and moment >= end)


def billing_boundary(subscription: MeteredSubscription, moment: datetime) -> datetime | None:
    """Return the boundary whose invoice bills usage at this moment, None if none is due yet.

    Within the current period it is the current period's end; after it (a live
    subscription whose close has not run yet) it is a period no invoice bills so far.
    Before it, it is the end of the earlier period the moment falls in: the trial's end
    (the anchor) for a moment in the trial, else the end of its period from the anchor.
    """
    start, end = subscription.current_period_start, subscription.current_period_end
    if start is None or end is None:
        return None
    if moment >= end:
        return None
    if moment >= start:
        return end
    anchor = subscription.anchor_at
    if anchor is None or moment < anchor:
        return min(anchor or start, start)
    earlier = period_containing(
        anchor, subscription.billing_interval, subscription.time_zone, moment
    )
    return min(earlier.end, start)


def quantity_differs(original: Decimal, record: UsageRecord | Rejection) -> bool | None:
    """Tell whether a repeated record asked for another quantity than the stored one."""
    quantity = record.quantity
    if quantity is None:
        return None
    return quantity != original
