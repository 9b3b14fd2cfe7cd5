"""Cut time into billing periods: calendar months or years in the firm's time zone.

A subscription's periods all follow from its anchor, the instant its first period starts.
Every period starts at the anchor's local wall time, on the anchor's day of the month, or
on the month's last day when the month is shorter. The clamp is measured from the anchor
each time, so it never drifts: an anchor on 31 Jan gives 28 Feb (29 in a leap year),
31 Mar, 30 Apr, 31 May. Periods are half-open, [start, end), so they tile time.

Wall times that a daylight-saving change skips or repeats resolve as PEP 495's fold=0
does: a skipped time is read with the offset in force before the change (so 02:30 on a
spring-forward night becomes 03:30 new time), a repeated one is its first occurrence.
Period 0 always starts exactly at the anchor, whichever occurrence that was.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_TIME_ZONE = "Asia/Shanghai"

TimeZone = str | ZoneInfo


class BillingInterval(StrEnum):
    """How long a billing period is; the same values as a plan's billing interval."""

    MONTH = "month"
    YEAR = "year"


MONTHS_PER_INTERVAL = {BillingInterval.MONTH: 1, BillingInterval.YEAR: 12}


def require_aware(name: str, moment: datetime) -> None:
    """Refuse a naive datetime, naming the argument."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


def as_zone(tz: TimeZone) -> ZoneInfo:
    """Return the ZoneInfo for an IANA name; raise ValueError for an unknown one."""
    if isinstance(tz, ZoneInfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone: {tz!r}") from error


def as_interval(interval: str) -> BillingInterval:
    """Return the billing interval for "month" or "year"; raise ValueError otherwise."""
    try:
        return BillingInterval(interval)
    except ValueError:
        raise ValueError(f"unknown billing interval: {interval!r}") from None


@dataclass(frozen=True)
class Period:
    """A half-open span of time [start, end) between two aware instants, kept in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        require_aware("start", self.start)
        require_aware("end", self.end)
        if self.end <= self.start:
            raise ValueError("a period must end after it starts")
        # Frozen: normalise through object.__setattr__ so equal periods compare and hash alike.
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))

    @property
    def duration(self) -> timedelta:
        """Return the period's length."""
        return self.end - self.start

    @property
    def seconds(self) -> int:
        """Return the period's length in whole seconds."""
        return self.duration // timedelta(seconds=1)

    def contains(self, instant: datetime) -> bool:
        """Tell whether an aware instant falls in [start, end)."""
        require_aware("instant", instant)
        return self.start <= instant < self.end


def _start_at(anchor_local: datetime, months: int, index: int) -> datetime:
    if index == 0:
        return anchor_local.astimezone(UTC)
    total = anchor_local.year * 12 + anchor_local.month - 1 + months * index
    year, month = divmod(total, 12)
    month += 1
    if not 1 <= year <= 9999:
        raise ValueError("the period falls outside the years a datetime can hold")
    day = min(anchor_local.day, calendar.monthrange(year, month)[1])
    local = anchor_local.replace(year=year, month=month, day=day, fold=0)
    return local.astimezone(UTC)


def _local_anchor(anchor: datetime, tz: TimeZone) -> datetime:
    require_aware("anchor", anchor)
    return anchor.astimezone(as_zone(tz))


def period_at(anchor: datetime, interval: str, tz: TimeZone, index: int) -> Period:
    """Return the index-th billing period from the anchor (0 starts at the anchor)."""
    if index < 0:
        raise ValueError("index must not be negative")
    local = _local_anchor(anchor, tz)
    months = MONTHS_PER_INTERVAL[as_interval(interval)]
    return Period(_start_at(local, months, index), _start_at(local, months, index + 1))


def period_index(anchor: datetime, interval: str, tz: TimeZone, instant: datetime) -> int:
    """Return the index of the billing period that holds instant (not before the anchor)."""
    require_aware("instant", instant)
    local = _local_anchor(anchor, tz)
    if instant < anchor:
        raise ValueError("instant must not be before the anchor")
    months = MONTHS_PER_INTERVAL[as_interval(interval)]
    at = instant.astimezone(local.tzinfo)
    # Estimate from calendar months, then step at most once or twice to the exact period.
    index = max(((at.year - local.year) * 12 + at.month - local.month) // months, 0)
    while index > 0 and _start_at(local, months, index) > instant:
        index -= 1
    while _start_at(local, months, index + 1) <= instant:
        index += 1
    return index


def period_containing(anchor: datetime, interval: str, tz: TimeZone, instant: datetime) -> Period:
    """Return the billing period that holds instant; raise ValueError before the anchor."""
    return period_at(anchor, interval, tz, period_index(anchor, interval, tz, instant))


def periods_between(
    anchor: datetime, interval: str, tz: TimeZone, start: datetime, end: datetime
) -> Iterator[Period]:
    """Yield, in order, every billing period that overlaps [start, end)."""
    require_aware("start", start)
    require_aware("end", end)
    require_aware("anchor", anchor)
    if end <= start or end <= anchor:
        return
    index = period_index(anchor, interval, tz, max(start, anchor))
    period = period_at(anchor, interval, tz, index)
    while period.start < end:
        yield period
        index += 1
        period = period_at(anchor, interval, tz, index)
