"""Billing periods: calendar months and years in the firm's time zone."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.periods import (
    DEFAULT_TIME_ZONE,
    BillingInterval,
    Period,
    period_at,
    period_containing,
    period_index,
    periods_between,
)
from catalog.models import BillingInterval as PlanInterval

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
ZONES = ["Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"]


def local(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0
) -> datetime:
    """Return a local wall time in zone (the first occurrence of a repeated one)."""
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """Return a UTC instant."""
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def starts(anchor: datetime, interval: str, tz: str, count: int) -> list[datetime]:
    """Return the starts of the first count periods, in UTC."""
    return [period_at(anchor, interval, tz, i).start for i in range(count)]


class TestPeriod:
    def test_seconds_and_containment_are_half_open(self) -> None:
        period = Period(utc(2026, 3, 1), utc(2026, 3, 2))
        assert period.seconds == 86_400
        assert period.contains(utc(2026, 3, 1))
        assert period.contains(utc(2026, 3, 1, 23, 59, 59))
        assert not period.contains(utc(2026, 3, 2))
        assert not period.contains(utc(2026, 2, 28, 23, 59, 59))

    def test_bounds_are_normalised_to_utc(self) -> None:
        period = Period(local(SHANGHAI, 2026, 3, 1), local(SHANGHAI, 2026, 4, 1))
        assert period.start.tzinfo is UTC
        assert period.start == utc(2026, 2, 28, 16)
        assert period == Period(utc(2026, 2, 28, 16), utc(2026, 3, 31, 16))

    def test_an_empty_or_reversed_period_is_refused(self) -> None:
        with pytest.raises(ValueError, match="end after it starts"):
            Period(utc(2026, 3, 1), utc(2026, 3, 1))
        with pytest.raises(ValueError, match="end after it starts"):
            Period(utc(2026, 3, 2), utc(2026, 3, 1))

    def test_naive_datetimes_are_refused(self) -> None:
        with pytest.raises(ValueError, match="start must be a timezone-aware"):
            Period(datetime(2026, 3, 1), utc(2026, 3, 2))
        with pytest.raises(ValueError, match="instant must be a timezone-aware"):
            Period(utc(2026, 3, 1), utc(2026, 3, 2)).contains(datetime(2026, 3, 1))


class TestMonthClamp:
    def test_31_january_clamps_each_month_from_the_anchor_without_drifting(self) -> None:
        anchor = local(SHANGHAI, 2026, 1, 31)
        expected = [(1, 31), (2, 28), (3, 31), (4, 30), (5, 31), (6, 30), (7, 31)]
        got = [s.astimezone(SHANGHAI) for s in starts(anchor, "month", DEFAULT_TIME_ZONE, 7)]
        assert [(s.month, s.day) for s in got] == expected
        assert all((s.hour, s.minute) == (0, 0) for s in got)

    def test_shanghai_midnight_is_sixteen_hundred_utc_the_day_before(self) -> None:
        anchor = local(SHANGHAI, 2026, 1, 31)
        period = period_at(anchor, "month", "Asia/Shanghai", 1)
        assert period == Period(utc(2026, 2, 27, 16), utc(2026, 3, 30, 16))
        # 16:00Z on 28 Feb is already 1 March in Shanghai: inside the period from 28 Feb.
        assert period.contains(utc(2026, 2, 28, 16))
        assert period_containing(anchor, "month", "Asia/Shanghai", utc(2026, 2, 27, 15, 59)) == (
            period_at(anchor, "month", "Asia/Shanghai", 0)
        )

    def test_an_anchor_on_the_first_follows_calendar_months(self) -> None:
        anchor = utc(2026, 2, 28, 16)  # 1 March, 00:00 in Shanghai
        period = period_at(anchor, "month", "Asia/Shanghai", 0)
        assert period == Period(utc(2026, 2, 28, 16), utc(2026, 3, 31, 16))
        assert period.seconds == 31 * 86_400

    def test_leap_year_february_has_29_days(self) -> None:
        anchor = local(SHANGHAI, 2028, 1, 31, 9, 15)
        got = [s.astimezone(SHANGHAI) for s in starts(anchor, "month", "Asia/Shanghai", 4)]
        assert [(s.month, s.day, s.hour, s.minute) for s in got] == [
            (1, 31, 9, 15),
            (2, 29, 9, 15),
            (3, 31, 9, 15),
            (4, 30, 9, 15),
        ]

    def test_30_anchor_in_february_of_a_leap_year(self) -> None:
        anchor = local(SHANGHAI, 2027, 12, 30)
        got = [s.astimezone(SHANGHAI).date() for s in starts(anchor, "month", "Asia/Shanghai", 4)]
        assert [d.isoformat() for d in got] == [
            "2027-12-30",
            "2028-01-30",
            "2028-02-29",
            "2028-03-30",
        ]


class TestYearInterval:
    def test_29_february_anchor_clamps_in_common_years_only(self) -> None:
        anchor = local(SHANGHAI, 2028, 2, 29)
        got = [s.astimezone(SHANGHAI).date() for s in starts(anchor, "year", "Asia/Shanghai", 6)]
        assert [d.isoformat() for d in got] == [
            "2028-02-29",
            "2029-02-28",
            "2030-02-28",
            "2031-02-28",
            "2032-02-29",
            "2033-02-28",
        ]

    def test_a_year_is_365_or_366_days(self) -> None:
        anchor = local(SHANGHAI, 2027, 3, 1)
        assert period_at(anchor, "year", "Asia/Shanghai", 0).duration == timedelta(days=366)
        assert period_at(anchor, "year", "Asia/Shanghai", 1).duration == timedelta(days=365)

    def test_the_plan_interval_enum_is_accepted(self) -> None:
        anchor = local(SHANGHAI, 2026, 1, 15)
        assert period_at(anchor, PlanInterval.YEAR, "Asia/Shanghai", 1) == period_at(
            anchor, BillingInterval.YEAR, "Asia/Shanghai", 1
        )


class TestDaylightSaving:
    def test_periods_keep_the_local_wall_time_across_a_change(self) -> None:
        anchor = local(NEW_YORK, 2026, 1, 15, 9)
        got = starts(anchor, "month", "America/New_York", 3)
        assert [s.astimezone(NEW_YORK).hour for s in got] == [9, 9, 9]
        assert [s.hour for s in got] == [14, 14, 13]  # EST, EST, then EDT

    def test_a_skipped_wall_time_moves_forward_by_the_gap(self) -> None:
        # 2026-03-08 02:30 does not exist in New York: clocks jump from 02:00 to 03:00.
        anchor = local(NEW_YORK, 2026, 2, 8, 2, 30)
        start = period_at(anchor, "month", "America/New_York", 1).start
        assert start == utc(2026, 3, 8, 7, 30)
        assert start.astimezone(NEW_YORK).replace(tzinfo=None) == datetime(2026, 3, 8, 3, 30)
        assert (
            period_at(anchor, "month", "America/New_York", 2).start.astimezone(NEW_YORK).hour == 2
        )

    def test_a_repeated_wall_time_takes_its_first_occurrence(self) -> None:
        # 2026-10-25 02:30 happens twice in Berlin: first at +02:00, then at +01:00.
        anchor = local(BERLIN, 2026, 9, 25, 2, 30)
        start = period_at(anchor, "month", "Europe/Berlin", 1).start
        assert start == utc(2026, 10, 25, 0, 30)

    def test_period_zero_starts_at_an_anchor_in_the_second_occurrence(self) -> None:
        anchor = utc(2026, 10, 25, 1, 30)  # 02:30 Berlin, second time round
        assert anchor.astimezone(BERLIN).fold == 1
        period = period_at(anchor, "month", "Europe/Berlin", 0)
        assert period.start == anchor
        assert period.end == utc(2026, 11, 25, 1, 30)

    def test_a_month_over_a_change_is_an_hour_short(self) -> None:
        anchor = local(BERLIN, 2026, 3, 1)
        assert period_at(anchor, "month", "Europe/Berlin", 0).seconds == 31 * 86_400 - 3_600


class TestPeriodContaining:
    def test_an_instant_many_years_out(self) -> None:
        anchor = local(SHANGHAI, 2026, 1, 31, 12)
        period = period_containing(anchor, "month", "Asia/Shanghai", utc(2126, 3, 1))
        assert period.start.astimezone(SHANGHAI) == local(SHANGHAI, 2126, 2, 28, 12)
        assert period_index(anchor, "month", "Asia/Shanghai", utc(2126, 3, 1)) == 1201

    def test_the_anchor_is_in_period_zero_and_a_start_begins_its_period(self) -> None:
        anchor = local(SHANGHAI, 2026, 1, 31)
        assert period_index(anchor, "month", "Asia/Shanghai", anchor) == 0
        second = period_at(anchor, "month", "Asia/Shanghai", 1)
        assert period_containing(anchor, "month", "Asia/Shanghai", second.start) == second
        before_end = second.end - timedelta(microseconds=1)
        assert period_containing(anchor, "month", "Asia/Shanghai", before_end) == second

    def test_an_instant_before_the_anchor_is_refused(self) -> None:
        anchor = local(SHANGHAI, 2026, 1, 31)
        with pytest.raises(ValueError, match="before the anchor"):
            period_containing(anchor, "month", "Asia/Shanghai", anchor - timedelta(seconds=1))


class TestPeriodsBetween:
    def test_yields_every_period_overlapping_the_span(self) -> None:
        anchor = local(SHANGHAI, 2026, 1, 31)
        got = list(
            periods_between(anchor, "month", "Asia/Shanghai", utc(2026, 3, 5), utc(2026, 5, 1))
        )
        assert got == [period_at(anchor, "month", "Asia/Shanghai", i) for i in (1, 2, 3)]

    def test_a_span_before_the_anchor_starts_at_period_zero(self) -> None:
        anchor = local(SHANGHAI, 2026, 1, 31)
        got = list(
            periods_between(anchor, "year", "Asia/Shanghai", utc(2020, 1, 1), utc(2026, 2, 1))
        )
        assert got == [period_at(anchor, "year", "Asia/Shanghai", 0)]

    def test_an_empty_span_or_one_wholly_before_the_anchor_yields_nothing(self) -> None:
        anchor = local(SHANGHAI, 2026, 1, 31)
        assert list(periods_between(anchor, "month", "UTC", utc(2026, 5, 1), utc(2026, 5, 1))) == []
        assert list(periods_between(anchor, "month", "UTC", utc(2025, 1, 1), utc(2025, 5, 1))) == []


class TestBadInput:
    def test_unknown_interval(self) -> None:
        with pytest.raises(ValueError, match="unknown billing interval: 'week'"):
            period_at(utc(2026, 1, 1), "week", "Asia/Shanghai", 0)

    def test_unknown_time_zone(self) -> None:
        with pytest.raises(ValueError, match="unknown time zone: 'Mars/Olympus'"):
            period_at(utc(2026, 1, 1), "month", "Mars/Olympus", 0)
        with pytest.raises(ValueError, match="unknown time zone"):
            period_at(utc(2026, 1, 1), "month", "../etc/passwd", 0)

    def test_negative_index(self) -> None:
        with pytest.raises(ValueError, match="index must not be negative"):
            period_at(utc(2026, 1, 1), "month", "Asia/Shanghai", -1)

    def test_naive_anchor(self) -> None:
        with pytest.raises(ValueError, match="anchor must be a timezone-aware"):
            period_at(datetime(2026, 1, 1), "month", "Asia/Shanghai", 0)

    def test_a_period_past_year_9999(self) -> None:
        with pytest.raises(ValueError, match="outside the years"):
            period_at(utc(9999, 6, 1), "year", "UTC", 1)

    def test_an_anchor_in_another_offset_means_the_same_instant(self) -> None:
        plus_eight = timezone(timedelta(hours=8))
        assert period_at(datetime(2026, 1, 31, tzinfo=plus_eight), "month", "Asia/Shanghai", 2) == (
            period_at(local(SHANGHAI, 2026, 1, 31), "month", "Asia/Shanghai", 2)
        )


# --- properties -------------------------------------------------------------------------

anchors = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2080, 12, 31),
    timezones=st.just(UTC),
)
zones = st.sampled_from(ZONES)
intervals = st.sampled_from(list(BillingInterval))
indexes = st.integers(min_value=0, max_value=400)


@given(anchors, intervals, zones, indexes)
def test_consecutive_periods_tile_time(
    anchor: datetime, interval: BillingInterval, tz: str, index: int
) -> None:
    current = period_at(anchor, interval, tz, index)
    following = period_at(anchor, interval, tz, index + 1)
    assert current.end == following.start
    assert current.duration >= timedelta(days=27)


@given(anchors, intervals, zones)
def test_period_zero_starts_exactly_at_the_anchor(
    anchor: datetime, interval: BillingInterval, tz: str
) -> None:
    assert period_at(anchor, interval, tz, 0).start == anchor


@given(anchors, intervals, zones, st.integers(min_value=0, max_value=40), st.floats(0, 1))
def test_period_containing_agrees_with_walking_the_periods(
    anchor: datetime, interval: BillingInterval, tz: str, steps: int, share: float
) -> None:
    walked = [period_at(anchor, interval, tz, 0)]
    while len(walked) <= steps:
        walked.append(period_at(anchor, interval, tz, len(walked)))
    target = walked[steps]
    instant = target.start + timedelta(seconds=int((target.seconds - 1) * share))
    assert period_containing(anchor, interval, tz, instant) == target
    assert period_index(anchor, interval, tz, instant) == steps
    assert period_containing(anchor, interval, tz, target.start) == target
    assert period_containing(anchor, interval, tz, target.end - timedelta(microseconds=1)) == target


@given(anchors, intervals, st.sampled_from(["Asia/Shanghai", "UTC", "Europe/Berlin"]), indexes)
def test_every_start_keeps_the_anchor_day_clamped_to_the_month(
    anchor: datetime, interval: BillingInterval, tz: str, index: int
) -> None:
    zone = ZoneInfo(tz)
    anchor_local = anchor.astimezone(zone)
    start_local = period_at(anchor, interval, tz, index).start.astimezone(zone)
    length = calendar.monthrange(start_local.year, start_local.month)[1]
    assert start_local.day == min(anchor_local.day, length)
    months = 12 if interval == BillingInterval.YEAR else 1
    elapsed = (start_local.year - anchor_local.year) * 12 + start_local.month - anchor_local.month
    assert elapsed == months * index


@given(anchors, intervals, st.sampled_from(["Asia/Shanghai", "UTC"]), indexes)
def test_every_start_keeps_the_anchor_wall_time_where_there_is_no_daylight_saving(
    anchor: datetime, interval: BillingInterval, tz: str, index: int
) -> None:
    zone = ZoneInfo(tz)
    start_local = period_at(anchor, interval, tz, index).start.astimezone(zone)
    assert start_local.time() == anchor.astimezone(zone).time()


@given(anchors, intervals, zones, st.integers(0, 30), st.integers(1, 5))
def test_periods_between_cover_the_span_in_order(
    anchor: datetime, interval: BillingInterval, tz: str, first: int, count: int
) -> None:
    start = period_at(anchor, interval, tz, first).start + timedelta(hours=1)
    end = period_at(anchor, interval, tz, first + count).start + timedelta(hours=1)
    got = list(periods_between(anchor, interval, tz, start, end))
    assert got == [period_at(anchor, interval, tz, first + i) for i in range(count + 1)]
