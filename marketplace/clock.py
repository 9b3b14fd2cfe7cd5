"""The clock: every piece of domain code asks it for the time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from flask import current_app

# The marketplace's people live in Fujian: dates and times are shown, and days counted, here.
MARKET_TIME_ZONE = ZoneInfo("Asia/Shanghai")


def market_day(moment: datetime) -> date:
    """Return the calendar day an aware time falls on in the marketplace's time zone."""
    return moment.astimezone(MARKET_TIME_ZONE).date()


def local_time_text(moment: datetime) -> str:
    """Show an aware time as the marketplace's local time, to the minute."""
    return moment.astimezone(MARKET_TIME_ZONE).strftime("%Y-%m-%d %H:%M")


class Clock(Protocol):
    """Something that tells the current time as an aware UTC datetime."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """Return the current time in UTC."""
        return datetime.now(UTC)


class FrozenClock:
    """A clock that stands still until moved, for tests and operators replaying time."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        """Return the time the clock stands at."""
        return self._at

    def advance(self, delta: timedelta) -> None:
        """Move the clock forward by delta."""
        self._at += delta

    def set(self, at: datetime) -> None:
        """Put the clock at an aware datetime."""
        self._at = at.astimezone(UTC)


def current_clock() -> Clock:
    """Return the app's clock (tests and operators may replace it)."""
    clock: Clock = current_app.extensions["clock"]
    return clock
