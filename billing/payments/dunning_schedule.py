"""When to retry a failed invoice payment, and when its grace runs out.

Pure: the dunning service asks this module, with the invoice's finalization time and the
number of failures so far, and does what it says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise

DEFAULT_RETRY_DAYS = (1, 3, 7)
DEFAULT_GRACE_DAYS = 14


class ScheduleError(ValueError):
    """A dunning schedule that cannot work (retries out of order, a negative grace)."""


@dataclass(frozen=True)
class DunningPolicy:
    """Retry days counted from finalization, in increasing order, and the grace in days."""

    retry_days: tuple[int, ...] = DEFAULT_RETRY_DAYS
    grace_days: int = DEFAULT_GRACE_DAYS

    def __post_init__(self) -> None:
        days = self.retry_days
        if any(day < 1 for day in days):
            raise ScheduleError("retry days must be at least 1")
        if any(later <= earlier for earlier, later in pairwise(days)):
            raise ScheduleError("retry days must increase")
        if self.grace_days < 1:
            raise ScheduleError("the grace must be at least one day")


def parse_retry_days(text: str) -> tuple[int, ...]:
    """Read retry days written as "1,3,7"; raise ScheduleError naming what is wrong."""
    try:
        days = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ScheduleError(f"retry days must be whole numbers, got {text!r}") from None
    DunningPolicy(days)  # checks the order and the bounds
    return days


def next_retry_at(
    policy: DunningPolicy, finalized_at: datetime, failures: int, now: datetime
) -> datetime | None:
    """Return when to try again after `failures` failed attempts, or None when none is left.

    The first attempt is made at finalization; retry k (k = 1, 2, …) is due retry_days[k-1]
    days after it. After `failures` failures the next retry is retry number `failures`, or
    the first later one still ahead of now: a failure that came late (an attempt the firm
    made itself, a retry run late) does not make the retries it overtook due at once.
    """
    if failures < 1:
        return None
    for day in policy.retry_days[failures - 1 :]:
        at = finalized_at + timedelta(days=day)
        if at > now:
            return at
    return None


def grace_ends_at(policy: DunningPolicy, started_at: datetime) -> datetime:
    """Return when an unpaid invoice's subscription is suspended, counted from dunning's start."""
    return started_at + timedelta(days=policy.grace_days)


def should_suspend(policy: DunningPolicy, started_at: datetime, now: datetime) -> bool:
    """Tell whether the grace of a dunning that started at started_at is over at now."""
    return now >= grace_ends_at(policy, started_at)
