"""Grace periods and invoice due dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.due_dates import DEFAULT_GRACE_HOURS, due_date, grace_end

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
LAST_MICROSECOND = (23, 59, 59, 999_999)


def wall(moment: datetime, zone: ZoneInfo) -> tuple[int, int, int, int]:
    """Return the local hour, minute, second and microsecond of an instant."""
    at = moment.astimezone(zone)
    return at.hour, at.minute, at.second, at.microsecond


class TestGraceEnd:
    def test_defaults_to_48_hours(self) -> None:
        end = datetime(2026, 3, 31, 16, tzinfo=UTC)
        assert DEFAULT_GRACE_HOURS == 48
        assert grace_end(end) == datetime(2026, 4, 2, 16, tzinfo=UTC)

    def test_counts_real_hours_and_answers_in_utc(self) -> None:
        end = datetime(2026, 3, 7, 12, tzinfo=NEW_YORK)  # the night before clocks spring forward
        result = grace_end(end, hours=24)
        assert result.tzinfo is UTC
        assert result - end == timedelta(hours=24)
        assert result.astimezone(NEW_YORK).hour == 13

    def test_zero_hours_is_the_period_end(self) -> None:
        end = datetime(2026, 3, 31, 16, tzinfo=UTC)
        assert grace_end(end, hours=0) == end

    def test_refuses_negative_hours_and_naive_times(self) -> None:
        with pytest.raises(ValueError, match="hours must not be negative"):
            grace_end(datetime(2026, 3, 31, tzinfo=UTC), hours=-1)
        with pytest.raises(ValueError, match="period_end must be a timezone-aware"):
            grace_end(datetime(2026, 3, 31))


class TestDueDate:
    def test_end_of_the_local_day_days_after_finalization(self) -> None:
        # 01:30Z on 2 March is 09:30 in Shanghai; 14 days on is 16 March, ending 15:59:59.999999Z.
        due = due_date(datetime(2026, 3, 2, 1, 30, tzinfo=UTC), 14, "Asia/Shanghai")
        assert due == datetime(2026, 3, 16, 15, 59, 59, 999_999, tzinfo=UTC)
        assert due.tzinfo is UTC

    def test_the_local_day_not_the_utc_day_counts(self) -> None:
        # 20:00Z on 1 March is already 2 March in Shanghai.
        due = due_date(datetime(2026, 3, 1, 20, tzinfo=UTC), 0, "Asia/Shanghai")
        assert due.astimezone(SHANGHAI).date().isoformat() == "2026-03-02"
        assert wall(due, SHANGHAI) == LAST_MICROSECOND

    def test_a_day_shortened_by_daylight_saving_ends_at_its_real_end(self) -> None:
        due = due_date(datetime(2026, 3, 7, 15, tzinfo=NEW_YORK), 1, NEW_YORK)
        # 8 March 2026 in New York is 23 hours long and ends at 04:00Z on 9 March (EDT).
        assert due == datetime(2026, 3, 9, 3, 59, 59, 999_999, tzinfo=UTC)

    def test_refuses_bad_input(self) -> None:
        at = datetime(2026, 3, 2, tzinfo=UTC)
        with pytest.raises(ValueError, match="days must not be negative"):
            due_date(at, -1, "Asia/Shanghai")
        with pytest.raises(ValueError, match="unknown time zone"):
            due_date(at, 3, "Fujian/Fuzhou")
        with pytest.raises(ValueError, match="finalized_at must be a timezone-aware"):
            due_date(datetime(2026, 3, 2), 3, "Asia/Shanghai")


instants = st.datetimes(datetime(2000, 1, 1), datetime(2080, 1, 1), timezones=st.just(UTC))
zone_names = st.sampled_from(["Asia/Shanghai", "America/New_York", "Europe/Berlin", "UTC"])


@given(instants, st.integers(0, 365), zone_names)
def test_due_is_the_last_instant_of_the_local_day(at: datetime, days: int, tz: str) -> None:
    zone = ZoneInfo(tz)
    due = due_date(at, days, tz)
    assert due.astimezone(zone).date() == at.astimezone(zone).date() + timedelta(days=days)
    next_day = (due + timedelta(microseconds=1)).astimezone(zone)
    assert next_day.date() == at.astimezone(zone).date() + timedelta(days=days + 1)
    assert (next_day.hour, next_day.minute) == (0, 0)


@given(instants, st.integers(0, 365), zone_names)
def test_a_later_due_date_for_more_days(at: datetime, days: int, tz: str) -> None:
    # The last microsecond of a day is itself due that day: hence <= for the first bound.
    assert at <= due_date(at, days, tz) < due_date(at, days + 1, tz)
