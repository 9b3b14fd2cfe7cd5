"""When a failed delivery is tried again (pure).

After the n-th failed attempt the next one waits 30 s × 2^(n-1), at most 6 hours, each
delay stretched or shrunk by up to 20 % at random so that many endpoints failing together
do not come back in step. Attempts go on while the first one was less than three days
ago; the attempt made at or after three days is the last, so every failing delivery is
retried for at least three days before its endpoint is marked failing.
"""

from __future__ import annotations

from datetime import timedelta

FIRST_DELAY = timedelta(seconds=30)
MAX_DELAY = timedelta(hours=6)
JITTER = 0.2
RETRY_WINDOW = timedelta(days=3)


def base_delay(attempt: int) -> timedelta:
    """Return the delay after the attempt-th failed attempt, before jitter."""
    if attempt < 1:
        raise ValueError("attempts are counted from 1")
    # Past 2^10 × 30 s the cap has long applied; stop doubling before the number grows.
    doubled = FIRST_DELAY * int(2 ** min(attempt - 1, 10))
    return min(doubled, MAX_DELAY)


def retry_delay(attempt: int, draw: float) -> timedelta:
    """Return the delay after the attempt-th failure, jittered by draw (uniform in [0, 1))."""
    if not 0.0 <= draw < 1.0:
        raise ValueError("draw must lie in [0, 1)")
    factor = 1.0 - JITTER + 2 * JITTER * draw
    return timedelta(seconds=round(base_delay(attempt).total_seconds() * factor, 3))


def gives_up(since_first_attempt: timedelta) -> bool:
    """Tell whether a delivery whose first attempt was this long ago stops being retried."""
    return since_first_attempt >= RETRY_WINDOW
