"""Bring one subscription up to now before a change, so the change meets the right period.

Between a period's end and the next run of the close, a subscription still holds the ended
period; a plan or seat change, or a cancellation, made then would prorate against a period
that is over, and one made before the first invoice would be billed again by it. So every
service that changes a running subscription first locks its row, takes the firm's clock
(a sandbox firm's test clock, or the real one) and walks the subscription across the
boundaries it has passed — in the caller's transaction, the same way the close does.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.models import Subscription
from billing.services.close import close_chunk
from billing.services.firm_clock import clock_for_firm
from marketplace.clock import Clock


def is_behind(subscription: Subscription, clock: Clock) -> bool:
    """Say whether a subscription has a boundary to invoice that the close has not reached."""
    if not subscription.period_open:
        return False
    if subscription.billed_boundary_at is None:
        return True
    end = subscription.current_period_end
    return end is not None and end <= clock.now()


def lock_and_catch_up(session: Session, clock: Clock, subscription: Subscription) -> Clock:
    """Lock a subscription, walk it to the firm's now; return the firm's clock for the change."""
    session.refresh(subscription, with_for_update=True)
    firm_clock = clock_for_firm(session, subscription.organization_id, clock)
    if is_behind(subscription, firm_clock):
        close_chunk(session, firm_clock, [subscription], {})
    return firm_clock
