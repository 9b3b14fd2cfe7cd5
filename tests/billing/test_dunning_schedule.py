"""The dunning schedule: retries on days 1, 3, 7 after finalization, suspension after 14."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.payments.dunning_schedule import (
    DunningPolicy,
    ScheduleError,
    next_retry_at,
    parse_retry_days,
    should_suspend,
)

FINALIZED = datetime(2026, 4, 4, 1, 30, tzinfo=UTC)
DAY = timedelta(days=1)
POLICY = DunningPolicy()


def test_each_failure_schedules_the_next_retry_day_until_none_is_left() -> None:
    at = [next_retry_at(POLICY, FINALIZED, n, FINALIZED + timedelta(minutes=n)) for n in (1, 2, 3)]

    assert at == [FINALIZED + DAY, FINALIZED + 3 * DAY, FINALIZED + 7 * DAY]
    assert next_retry_at(POLICY, FINALIZED, 4, FINALIZED + 7 * DAY) is None
    assert next_retry_at(POLICY, FINALIZED, 0, FINALIZED) is None


def test_a_late_failure_skips_the_retries_it_overtook() -> None:
    # The second failure came on day 5: day 3 is gone, the next retry is day 7.
    assert next_retry_at(POLICY, FINALIZED, 2, FINALIZED + 5 * DAY) == FINALIZED + 7 * DAY
    assert next_retry_at(POLICY, FINALIZED, 2, FINALIZED + 8 * DAY) is None


def test_the_grace_ends_fourteen_days_after_dunning_started() -> None:
    assert not should_suspend(POLICY, FINALIZED, FINALIZED + 14 * DAY - timedelta(seconds=1))
    assert should_suspend(POLICY, FINALIZED, FINALIZED + 14 * DAY)


@pytest.mark.parametrize(
    ("text", "days"), [("1,3,7", (1, 3, 7)), (" 2, 5 ", (2, 5)), ("10", (10,))]
)
def test_retry_days_are_read_from_a_setting(text: str, days: tuple[int, ...]) -> None:
    assert parse_retry_days(text) == days


@pytest.mark.parametrize("text", ["3,1", "0,2", "1,1", "one", "1;3"])
def test_bad_retry_days_are_refused(text: str) -> None:
    with pytest.raises(ScheduleError):
        parse_retry_days(text)


def test_a_grace_under_a_day_is_refused() -> None:
    with pytest.raises(ScheduleError):
        DunningPolicy(grace_days=0)


schedules = st.lists(st.integers(1, 60), min_size=1, max_size=6, unique=True).map(
    lambda days: tuple(sorted(days))
)


@given(schedules, st.integers(1, 8), st.integers(0, 90 * 24))
def test_a_retry_is_always_ahead_of_now_and_on_a_scheduled_day(
    days: tuple[int, ...], failures: int, hours_later: int
) -> None:
    policy = DunningPolicy(days)
    now = FINALIZED + timedelta(hours=hours_later)

    at = next_retry_at(policy, FINALIZED, failures, now)

    if at is not None:
        assert at > now
        assert (at - FINALIZED) / DAY in days[failures - 1 :]
    else:
        assert failures > len(days) or all(FINALIZED + d * DAY <= now for d in days[failures - 1 :])


@given(schedules, st.integers(1, 5))
def test_retries_never_go_back_in_time(days: tuple[int, ...], failures: int) -> None:
    policy = DunningPolicy(days)
    first = next_retry_at(policy, FINALIZED, failures, FINALIZED)
    second = next_retry_at(policy, FINALIZED, failures + 1, FINALIZED)

    if first is not None and second is not None:
        assert second > first
