"""Who may open which app: a serving subscription of one of the user's firms, and a seat.

The decision is a pure function over the user's firms; the query gathers, per firm the user
belongs to, the firm's live subscription to the listing and whether the user holds a seat.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from billing.charges import sells_seats
from billing.lifecycle import CANCELLED, SERVING
from billing.models import Subscription
from billing.services.seats import holds_seat
from catalog.plans import plan_price
from marketplace.accounts.models import User
from marketplace.orgs.models import Membership, Organization, OrgKind


class SeatStatus(StrEnum):
    """How the user may use the subscription: by a seat given to them, or with no seats sold."""

    ASSIGNED = "assigned"
    NOT_REQUIRED = "not_required"


class Refusal(StrEnum):
    """Why a user may not open an app, from the least to the most progress made."""

    NO_SUBSCRIPTION = "no_subscription"
    NOT_SERVING = "not_serving"
    NO_SEAT = "no_seat"


@dataclass(frozen=True)
class FirmStanding:
    """What one of the user's firms holds for the app."""

    firm_id: int
    firm_name: str
    role: str
    subscription: Subscription | None
    holds_seat: bool


@dataclass(frozen=True)
class Entitlement:
    """The firm, role, subscription and seat a user opens an app under."""

    firm_id: int
    firm_name: str
    role: str
    subscription_id: int
    plan_code: str
    seat_status: SeatStatus


@dataclass(frozen=True)
class Refused:
    """No firm of the user may open the app; `firm_id` names the one that came closest."""

    reason: Refusal
    firm_id: int | None
    firm_name: str | None
    subscription_id: int | None


def _refusal(standing: FirmStanding) -> Refusal | None:
    subscription = standing.subscription
    if subscription is None:
        return Refusal.NO_SUBSCRIPTION
    if subscription.status not in SERVING:
        return Refusal.NOT_SERVING
    if not standing.holds_seat:
        return Refusal.NO_SEAT
    return None


def seats_sold(subscription: Subscription) -> bool:
    """Tell whether the subscription's plan sells seats to named users."""
    return sells_seats(plan_price(subscription.plan))


def _entitlement(standing: FirmStanding) -> Entitlement:
    subscription = standing.subscription
    assert subscription is not None
    return Entitlement(
        firm_id=standing.firm_id,
        firm_name=standing.firm_name,
        role=standing.role,
        subscription_id=subscription.id,
        plan_code=subscription.plan.code,
        seat_status=SeatStatus.ASSIGNED if seats_sold(subscription) else SeatStatus.NOT_REQUIRED,
    )


def decide(standings: list[FirmStanding], preferred_firm_id: int | None) -> Entitlement | Refused:
    """Pick the firm the user opens the app under: the preferred one if entitled, else the first.

    When none is entitled, report the refusal of the firm that came closest (a seat missing
    beats a subscription not serving beats no subscription), so the page can say what to do.
    """
    ordered = sorted(standings, key=lambda s: (s.firm_id != preferred_firm_id, s.firm_id))
    for standing in ordered:
        if _refusal(standing) is None:
            return _entitlement(standing)
    progress = list(Refusal)
    closest: FirmStanding | None = None
    closest_reason = Refusal.NO_SUBSCRIPTION
    for standing in ordered:
        reason = _refusal(standing)
        assert reason is not None
        if closest is None or progress.index(reason) > progress.index(closest_reason):
            closest, closest_reason = standing, reason
    if closest is None:
        return Refused(Refusal.NO_SUBSCRIPTION, None, None, None)
    subscription = closest.subscription
    return Refused(
        closest_reason,
        closest.firm_id,
        closest.firm_name,
        subscription.id if subscription is not None else None,
    )


def standings(session: Session, user_id: int, listing_id: int) -> list[FirmStanding]:
    """Return, for each SME firm the user belongs to, what it holds of the listing."""
    memberships = session.execute(
        sa.select(Membership.role, Organization)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.user_id == user_id, Organization.kind == OrgKind.SME)
        .order_by(Organization.id)
    ).all()
    firm_ids = [org.id for _role, org in memberships]
    subscriptions = {
        s.organization_id: s
        for s in session.scalars(
            sa.select(Subscription)
            .options(joinedload(Subscription.plan), joinedload(Subscription.seat_assignments))
            .where(
                Subscription.organization_id.in_(firm_ids),
                Subscription.listing_id == listing_id,
                Subscription.status != CANCELLED,
            )
        ).unique()
    }
    result = []
    for role, org in memberships:
        subscription = subscriptions.get(org.id) if org.is_active else None
        seated = subscription is not None and holds_seat(subscription, user_id)
        result.append(FirmStanding(org.id, org.name, role, subscription, seated))
    return result


def entitlement_for(
    session: Session, user_id: int, listing_id: int, preferred_firm_id: int | None = None
) -> Entitlement | Refused:
    """Decide under which firm, if any, the user may open the listing's app now."""
    return decide(standings(session, user_id, listing_id), preferred_firm_id)


def still_entitled(session: Session, user_id: int, subscription_id: int) -> bool:
    """Tell whether a grant's subscription still serves the user.

    The subscription serves, the firm and the vendor are not suspended, the user's account
    is open, and the user is still a member holding a seat.
    """
    subscription = session.get(Subscription, subscription_id)
    if subscription is None or subscription.status not in SERVING:
        return False
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        return False
    for org_id in (subscription.organization_id, subscription.vendor_id):
        org = session.get(Organization, org_id)
        if org is None or not org.is_active:
            return False
    member = session.scalar(
        sa.select(Membership.id).where(
            Membership.organization_id == subscription.organization_id,
            Membership.user_id == user_id,
        )
    )
    return member is not None and holds_seat(subscription, user_id)
