"""The pure usage rules: reading a record, and whether its period still takes it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.usage import (
    Code,
    MeteredSubscription,
    Reason,
    Rejection,
    Taken,
    UsageRecord,
    billing_boundary,
    check_record,
    parse_record,
    read_quantity,
)

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
END = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)
ACTIVE = MeteredSubscription(
    id=1,
    status="active",
    activated_at=START,
    suspended_at=None,
    cancelled_at=None,
    cancel_at_period_end=False,
    current_period_start=START,
    current_period_end=END,
    dimensions={"api_calls": "sum", "users": "unique"},
    now=START + timedelta(days=1),
    anchor_at=START,
)


def raw(**changes: Any) -> dict[str, Any]:
    """Return a well-formed record, with changes (None drops a field)."""
    record = {
        "subscription_id": 1,
        "dimension": "api_calls",
        "quantity": "2.5",
        "timestamp": "2026-03-02T12:00:00+08:00",
        "idempotency_key": "k",
    } | changes
    return {k: v for k, v in record.items() if v is not None}


def record(at: datetime, **changes: Any) -> UsageRecord:
    """Return a parsed record at a time."""
    parsed = parse_record(raw(timestamp=at.isoformat(), **changes))
    assert isinstance(parsed, UsageRecord)
    return parsed


def test_a_good_record_reads_into_utc_and_decimal() -> None:
    parsed = parse_record(raw(attributes={"region": "fz"}))

    assert parsed == UsageRecord(
        1,
        "api_calls",
        Decimal("2.5"),
        datetime(2026, 3, 2, 4, tzinfo=UTC),
        "k",
        None,
        {"region": "fz"},
    )


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"idempotency_key": None}, "idempotency_key", Reason.MISSING),
        ({"extra": 1}, "extra", Reason.UNKNOWN_FIELD),
        ({"subscription_id": True}, "subscription_id", Reason.NOT_INTEGER),
        ({"dimension": "d" * 65}, "dimension", Reason.BAD_LENGTH),
        ({"dimension": 3}, "dimension", Reason.NOT_TEXT),
        ({"idempotency_key": "a\x00b"}, "idempotency_key", Reason.BAD_LENGTH),
        ({"timestamp": "2026-03-02 12:00"}, "timestamp", Reason.NO_TIME_ZONE),
        ({"timestamp": "soon"}, "timestamp", Reason.NOT_TIME),
        ({"unique_value": ""}, "unique_value", Reason.BAD_LENGTH),
        ({"attributes": {"a": float("nan")}}, "attributes", Reason.BAD_ATTRIBUTES),
        ({"attributes": {str(n): n for n in range(51)}}, "attributes", Reason.BAD_ATTRIBUTES),
    ],
)
def test_a_malformed_field_is_named_with_its_reason(
    changes: dict[str, Any], field: str, reason: Reason
) -> None:
    parsed = parse_record(raw(**changes))

    assert isinstance(parsed, Rejection)
    assert (parsed.code, parsed.field, parsed.reason) == (Code.BAD_RECORD, field, reason)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (-1, Reason.NEGATIVE),
        ("1e14", Reason.TOO_LARGE),
        ("0.0000001", Reason.TOO_PRECISE),
        ("NaN", Reason.NOT_NUMBER),
        (float("inf"), Reason.NOT_NUMBER),
        ([1], Reason.NOT_NUMBER),
        (False, Reason.NOT_NUMBER),
    ],
)
def test_an_unusable_quantity_is_a_bad_quantity(value: object, reason: Reason) -> None:
    parsed = parse_record(raw(quantity=value))

    assert isinstance(parsed, Rejection)
    assert (parsed.code, parsed.reason) == (Code.BAD_QUANTITY, reason)


@given(st.decimals(min_value=0, max_value=Decimal("99999999999999.999999"), places=6))
def test_every_quantity_the_column_holds_reads_back_exactly(quantity: Decimal) -> None:
    assert read_quantity(str(quantity)) == quantity
    assert read_quantity(f"{quantity}000") == quantity


@given(st.floats(min_value=0, max_value=1e13, allow_nan=False))
def test_a_float_reads_as_its_shortest_text(value: float) -> None:
    quantity = read_quantity(value)

    assert isinstance(quantity, Reason) or quantity == Decimal(repr(value))


@pytest.mark.parametrize(
    ("subscription", "at", "code"),
    [
        (None, START, Code.UNKNOWN_SUBSCRIPTION),
        (ACTIVE, START - timedelta(seconds=1), Code.SUBSCRIPTION_NOT_ACTIVE),
        (ACTIVE, ACTIVE.now + timedelta(minutes=5, seconds=1), Code.TIMESTAMP_IN_FUTURE),
        (replace(ACTIVE, status="pending"), START, Code.SUBSCRIPTION_NOT_ACTIVE),
        (
            replace(ACTIVE, status="suspended", suspended_at=START + timedelta(hours=1)),
            START + timedelta(hours=2),
            Code.SUBSCRIPTION_NOT_ACTIVE,
        ),
        (
            replace(ACTIVE, cancel_at_period_end=True, now=END + timedelta(hours=1)),
            END + timedelta(minutes=1),
            Code.SUBSCRIPTION_NOT_ACTIVE,
        ),
    ],
)
def test_each_rule_rejects_with_its_code(
    subscription: MeteredSubscription | None, at: datetime, code: Code
) -> None:
    outcome = check_record(record(at), subscription)

    assert isinstance(outcome, Rejection) and outcome.code == code


def test_an_unknown_dimension_and_a_unique_count_without_value_are_rejected() -> None:
    unknown = check_record(record(START, dimension="gpu"), ACTIVE)
    no_value = check_record(record(START, dimension="users"), ACTIVE)
    counted = check_record(record(START, dimension="users", unique_value="ann"), ACTIVE)

    assert isinstance(unknown, Rejection) and unknown.code == Code.UNKNOWN_DIMENSION
    assert isinstance(no_value, Rejection) and no_value.code == Code.MISSING_VALUE
    assert isinstance(counted, Taken)


def test_a_record_of_the_current_period_is_billed_at_its_end() -> None:
    outcome = check_record(record(START + timedelta(hours=3)), ACTIVE)

    assert outcome == Taken(record(START + timedelta(hours=3)), END)


def test_the_previous_period_stays_open_for_48_hours_after_it_ends() -> None:
    later = replace(
        ACTIVE, current_period_start=END, current_period_end=datetime(2026, 5, 2, 1, 30, tzinfo=UTC)
    )
    at = END - timedelta(hours=1)

    within = check_record(record(at), replace(later, now=END + timedelta(hours=47)))
    after = check_record(record(at), replace(later, now=END + timedelta(hours=48)))

    assert within == Taken(record(at), END)
    assert isinstance(after, Rejection) and after.code == Code.OUTSIDE_OPEN_WINDOW


def test_a_period_before_the_previous_one_is_closed_even_within_grace_of_the_last() -> None:
    later = replace(
        ACTIVE,
        current_period_start=END,
        current_period_end=datetime(2026, 5, 2, 1, 30, tzinfo=UTC),
        activated_at=START - timedelta(days=62),
        anchor_at=START - timedelta(days=59),
        now=END + timedelta(hours=1),
    )

    outcome = check_record(record(START - timedelta(days=1)), later)

    assert isinstance(outcome, Rejection) and outcome.code == Code.OUTSIDE_OPEN_WINDOW


def test_a_live_subscription_takes_records_after_a_period_whose_close_has_not_run() -> None:
    late_close = replace(ACTIVE, now=END + timedelta(hours=2))

    outcome = check_record(record(END + timedelta(hours=1)), late_close)

    assert outcome == Taken(record(END + timedelta(hours=1)), None)


def test_a_cancelled_subscription_takes_its_final_period_until_grace_ends() -> None:
    cancelled_at = START + timedelta(days=3)
    cancelled = replace(
        ACTIVE, status="cancelled", cancelled_at=cancelled_at, current_period_end=cancelled_at
    )

    before = check_record(
        record(cancelled_at - timedelta(hours=1)),
        replace(cancelled, now=cancelled_at + timedelta(hours=47)),
    )
    after_cancel = check_record(record(cancelled_at), replace(cancelled, now=cancelled_at))
    expired = check_record(
        record(cancelled_at - timedelta(hours=1)),
        replace(cancelled, now=cancelled_at + timedelta(hours=48)),
    )

    assert isinstance(before, Taken) and before.boundary == cancelled_at
    assert isinstance(after_cancel, Rejection) and after_cancel.code == Code.SUBSCRIPTION_NOT_ACTIVE
    assert isinstance(expired, Rejection) and expired.code == Code.OUTSIDE_OPEN_WINDOW


def test_a_trial_is_billed_at_its_end() -> None:
    trial_end = START + timedelta(days=14)
    after_trial = replace(
        ACTIVE,
        current_period_start=trial_end,
        current_period_end=trial_end + timedelta(days=31),
        anchor_at=trial_end,
    )

    assert billing_boundary(after_trial, START + timedelta(days=1)) == trial_end


@given(st.integers(min_value=0, max_value=60 * 24 * 40))
def test_every_taken_record_lies_between_activation_and_five_minutes_from_now(
    minutes: int,
) -> None:
    at = START - timedelta(days=2) + timedelta(minutes=minutes)

    outcome = check_record(record(at), ACTIVE)

    if isinstance(outcome, Taken):
        assert START <= at <= ACTIVE.now + timedelta(minutes=5)
    else:
        assert at < START or at > ACTIVE.now + timedelta(minutes=5)
