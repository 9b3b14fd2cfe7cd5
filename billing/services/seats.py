"""Give a subscription's seats to named users of the firm, and take them back."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.charges import sells_seats
from billing.lifecycle import CANCELLED
from billing.models import SeatAssignment, Subscription
from billing.services.firm_clock import clock_for_firm
from billing.services.moves import announce
from catalog.plans import plan_price
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.orgs.models import Membership


def current_assignments(subscription: Subscription) -> list[SeatAssignment]:
    """Return the seats given out now, oldest first."""
    return [a for a in subscription.seat_assignments if a.unassigned_at is None]


def holds_seat(subscription: Subscription, user_id: int) -> bool:
    """Say whether a user may use the subscription: a seat, or a plan that sells none."""
    if not sells_seats(plan_price(subscription.plan)):
        return True
    return any(a.user_id == user_id for a in current_assignments(subscription))


def _check_member(session: Session, org_id: int, user_id: int) -> None:
    member = session.scalar(
        sa.select(Membership.id).where(
            Membership.organization_id == org_id, Membership.user_id == user_id
        )
    )
    if member is None:
        raise ValidationFailed({"user": _("This person is not a member of the firm.")})


def assign_seat(
    session: Session, clock: Clock, actor: Actor, subscription: Subscription, user_id: int
) -> SeatAssignment:
    """Give one of the subscription's free seats to a member of the firm."""
    clock = clock_for_firm(session, subscription.organization_id, clock)
    if subscription.status == CANCELLED:
        raise Conflict(_("This subscription has ended."))
    if not sells_seats(plan_price(subscription.plan)):
        raise ValidationFailed({"user": _("This plan has no seats: every member may use it.")})
    _check_member(session, subscription.organization_id, user_id)
    current = current_assignments(subscription)
    if any(a.user_id == user_id for a in current):
        raise ValidationFailed({"user": _("This person already holds a seat.")})
    if len(current) >= subscription.seats:
        raise ValidationFailed({"user": _("Every seat is taken: add seats or free one first.")})
    # A concurrent request for the same person loses on the unique index of current seats.
    assignment = SeatAssignment(user_id=user_id, assigned_at=clock.now())
    subscription.seat_assignments.append(assignment)
    announce(session, clock, actor, "subscription.seat_assigned", subscription, user_id=user_id)
    session.commit()
    return assignment


def unassign_seat(
    session: Session, clock: Clock, actor: Actor, subscription: Subscription, user_id: int
) -> None:
    """Take a seat back from a user; the seat stays paid for and free to give again."""
    clock = clock_for_firm(session, subscription.organization_id, clock)
    assignment = next((a for a in current_assignments(subscription) if a.user_id == user_id), None)
    if assignment is None:
        raise NotFound(_("This person holds no seat of this subscription."))
    assignment.unassigned_at = clock.now()
    announce(session, clock, actor, "subscription.seat_unassigned", subscription, user_id=user_id)
    session.commit()
