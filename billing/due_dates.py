"""Work out when a grace period ends and when an invoice falls due."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from billing.periods import TimeZone, as_zone, require_aware

DEFAULT_GRACE_HOURS = 48


def grace_end(period_end: datetime, hours: int = DEFAULT_GRACE_HOURS) -> datetime:
    """Return the instant, in UTC, that a grace of so many hours after period_end runs out."""
    require_aware("period_end", period_end)
    if hours < 0:
        raise ValueError("hours must not be negative")
    return period_end.astimezone(UTC) + timedelta(hours=hours)


def due_date(finalized_at: datetime, days: int, tz: TimeZone) -> datetime:
    """Return, in UTC, the last instant of the local day `days` days after finalization.

    The result is inclusive: an invoice is late once now > due_date. It is the next local
    midnight less a microsecond, so a day that a daylight-saving change lengthens or
    shortens still ends where it really ends.
    """
    require_aware("finalized_at", finalized_at)
    if days < 0:
        raise ValueError("days must not be negative")
    zone = as_zone(tz)
    day = finalized_at.astimezone(zone).date() + timedelta(days=days + 1)
    next_midnight = datetime.combine(day, time(0), tzinfo=zone)
    return next_midnight.astimezone(UTC) - timedelta(microseconds=1)
