"""The event types a vendor may subscribe a webhook endpoint to (pure)."""

from __future__ import annotations

# In the order the console lists them. listing.published is the operator's approval.
EVENT_TYPES: tuple[str, ...] = (
    "subscription.created",
    "subscription.activated",
    "subscription.trial_ended",
    "subscription.plan_changed",
    "subscription.seats_changed",
    "subscription.past_due",
    "subscription.suspended",
    "subscription.reinstated",
    "subscription.cancelled",
    "subscription.seat_assigned",
    "subscription.seat_unassigned",
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "listing.published",
    "listing.rejected",
)
# Sent only to the endpoint it tests, whatever that endpoint subscribed to.
TEST_EVENT_TYPE = "webhook.test"


def unknown_event_types(types: list[str]) -> list[str]:
    """Return the types that no endpoint can subscribe to."""
    return [t for t in types if t not in EVENT_TYPES]


def ordered_event_types(types: list[str]) -> list[str]:
    """Return the distinct types in the list's canonical order."""
    wanted = set(types)
    return [t for t in EVENT_TYPES if t in wanted]
