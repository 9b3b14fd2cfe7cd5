"""The time a firm's billing runs on: a sandbox firm's test clock, or the real one."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import TestClock
from marketplace.clock import Clock, FrozenClock


def clock_for_firm(session: Session, org_id: int, default_clock: Clock) -> Clock:
    """Return the firm's clock: its test clock's frozen time if it has one, else default."""
    frozen_at = session.scalar(
        sa.select(TestClock.frozen_at).where(TestClock.organization_id == org_id)
    )
    return default_clock if frozen_at is None else FrozenClock(frozen_at)
