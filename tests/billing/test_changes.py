"""Plan changes and seat changes: upgrades prorate now, downgrades wait for the period end."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import PendingCharge, Subscription, SubscriptionStatus
from billing.services import changes, seats
from billing.services import subscriptions as subs
from catalog.pricing import FlatFee, PlanPrice
from marketplace.clock import FrozenClock
from marketplace.errors import NotFound, ValidationFailed
from tests.billing.conftest import ACTOR, BUSINESS, TEAM, add_plan, firm
from tests.catalog.storefront_data import publish_listing
from tests.factories import make_member, make_user

TEN_DAYS = timedelta(days=10)  # of the 31-day period from 2 March to 2 April


def _active(session: Session, clock: FrozenClock, **fields: object) -> Subscription:
    listing = publish_listing(price=TEAM)
    plan = add_plan(listing, TEAM, auto_activate=True, **fields)
    return subs.subscribe(session, clock, ACTOR, firm().id, plan.id)


def _charges(session: Session, subscription: Subscription) -> list[tuple[str, int]]:
    stmt = (
        sa.select(PendingCharge.description_key, PendingCharge.amount_fen)
        .where(PendingCharge.subscription_id == subscription.id)
        .order_by(PendingCharge.id)
    )
    return [(key, amount) for key, amount in session.execute(stmt)]


def test_an_upgrade_applies_now_and_prorates_the_rest_of_the_period(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _active(session, clock)
    business = add_plan(subscription.listing, BUSINESS)
    clock.advance(TEN_DAYS)

    changes.change_plan(session, clock, ACTOR, subscription, business.id)

    assert subscription.plan_id == business.id
    # 21 of 31 days remain: ¥130.00 × 21/31 = 88.0645 credited, ¥330.00 × 21/31 = 223.5484 charged.
    assert _charges(session, subscription) == [("unused_time", -8806), ("remaining_time", 22355)]


def test_a_downgrade_waits_for_the_period_end_and_charges_nothing_now(
    session: Session, clock: FrozenClock
) -> None:
    listing = publish_listing(price=BUSINESS)
    business = add_plan(listing, BUSINESS, auto_activate=True)
    team = add_plan(listing, TEAM)
    subscription = subs.subscribe(session, clock, ACTOR, firm().id, business.id)

    changes.change_plan(session, clock, ACTOR, subscription, team.id)

    assert subscription.plan_id == business.id
    assert subscription.scheduled_plan_id == team.id
    assert _charges(session, subscription) == []


def test_a_plan_change_in_a_trial_applies_without_proration(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _active(session, clock, trial_days=14)
    business = add_plan(subscription.listing, BUSINESS)

    changes.change_plan(session, clock, ACTOR, subscription, business.id)

    assert subscription.plan_id == business.id and _charges(session, subscription) == []


def test_a_plan_of_another_listing_or_interval_is_refused(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _active(session, clock)
    elsewhere = add_plan(publish_listing(price=BUSINESS), BUSINESS)
    yearly = add_plan(subscription.listing, BUSINESS, billing_interval="year")

    for plan in (elsewhere, yearly):
        with pytest.raises(ValidationFailed) as raised:
            changes.change_plan(session, clock, ACTOR, subscription, plan.id)
        assert list(raised.value.errors) == ["plan"]
    with pytest.raises(ValidationFailed):
        changes.change_plan(session, clock, ACTOR, subscription, subscription.plan_id)


def test_a_pending_or_cancelled_subscription_cannot_change(
    session: Session, clock: FrozenClock
) -> None:
    listing = publish_listing(price=TEAM)
    plan = add_plan(listing, TEAM)
    subscription = subs.subscribe(session, clock, ACTOR, firm().id, plan.id)

    with pytest.raises(subs.IllegalTransition):
        changes.change_seats(session, clock, ACTOR, subscription, 3)
    subs.cancel(session, clock, ACTOR, subscription, at_period_end=False)
    with pytest.raises(subs.IllegalTransition):
        changes.change_seats(session, clock, ACTOR, subscription, 3)


def test_adding_seats_mid_period_charges_them_to_the_second(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _active(session, clock)
    clock.advance(TEN_DAYS)

    changes.change_seats(session, clock, ACTOR, subscription, 3)

    # Two seats at ¥30.00 for 21 of 31 days: 6000 × 21/31 = 4064.516 → 4065 fen.
    assert _charges(session, subscription) == [("seats_added", 4065)]
    assert subscription.seats == 3


def test_removing_seats_mid_period_credits_them(session: Session, clock: FrozenClock) -> None:
    subscription = _active(session, clock)
    changes.change_seats(session, clock, ACTOR, subscription, 4)
    clock.advance(TEN_DAYS + timedelta(seconds=1))

    changes.change_seats(session, clock, ACTOR, subscription, 2)

    # At the period start 3 seats cost the whole period; 2 seats for 21 days less one second.
    period = 31 * 86400
    remaining = 21 * 86400 - 1
    expected_credit = -round(6000 * remaining / period)
    assert _charges(session, subscription) == [
        ("seats_added", 9000),
        ("seats_removed", expected_credit),
    ]


@pytest.mark.parametrize("count", [0, 51])
def test_seats_outside_the_plans_bounds_are_refused(
    session: Session, clock: FrozenClock, count: int
) -> None:
    subscription = _active(session, clock)

    with pytest.raises(ValidationFailed) as raised:
        changes.change_seats(session, clock, ACTOR, subscription, count)

    assert list(raised.value.errors) == ["seats"]
    assert subscription.seats == 1 and _charges(session, subscription) == []


def test_seats_cannot_drop_below_those_given_to_people(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _active(session, clock)
    changes.change_seats(session, clock, ACTOR, subscription, 2)
    for _ in range(2):
        user = make_member(subscription.organization, make_user(), role="member")
        seats.assign_seat(session, clock, ACTOR, subscription, user.id)

    with pytest.raises(ValidationFailed) as raised:
        changes.change_seats(session, clock, ACTOR, subscription, 1)

    assert "2" in raised.value.errors["seats"][0]


def test_a_seat_goes_to_a_member_once_and_only_while_one_is_free(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _active(session, clock)
    alice = make_member(subscription.organization, make_user(), role="member")
    bob = make_member(subscription.organization, make_user(), role="member")
    outsider = make_user()

    seats.assign_seat(session, clock, ACTOR, subscription, alice.id)
    assert seats.holds_seat(subscription, alice.id) and not seats.holds_seat(subscription, bob.id)
    with pytest.raises(ValidationFailed):
        seats.assign_seat(session, clock, ACTOR, subscription, bob.id)  # the only seat is taken
    changes.change_seats(session, clock, ACTOR, subscription, 3)
    with pytest.raises(ValidationFailed):
        seats.assign_seat(session, clock, ACTOR, subscription, alice.id)  # already holds one
    with pytest.raises(ValidationFailed):
        seats.assign_seat(session, clock, ACTOR, subscription, outsider.id)

    seats.unassign_seat(session, clock, ACTOR, subscription, alice.id)
    assert not seats.holds_seat(subscription, alice.id)
    with pytest.raises(NotFound):
        seats.unassign_seat(session, clock, ACTOR, subscription, alice.id)
    seats.assign_seat(session, clock, ACTOR, subscription, alice.id)
    assert seats.holds_seat(subscription, alice.id)


def test_a_plan_without_seats_lets_every_member_in(session: Session, clock: FrozenClock) -> None:
    flat = PlanPrice((FlatFee(5000),))
    plan = add_plan(publish_listing(price=flat), flat, auto_activate=True)
    subscription = subs.subscribe(session, clock, ACTOR, firm().id, plan.id)
    member = make_member(subscription.organization, make_user(), role="member")

    assert subscription.seats == 0 and seats.holds_seat(subscription, member.id)
    with pytest.raises(ValidationFailed):
        seats.assign_seat(session, clock, ACTOR, subscription, member.id)


def test_seats_of_an_ended_subscription_are_not_given(session: Session, clock: FrozenClock) -> None:
    subscription = _active(session, clock)
    subs.cancel(session, clock, ACTOR, subscription, at_period_end=False)
    member = make_member(subscription.organization, make_user(), role="member")

    with pytest.raises(Exception) as raised:
        seats.assign_seat(session, clock, ACTOR, subscription, member.id)

    assert getattr(raised.value, "status", None) == 409
    assert subscription.status == SubscriptionStatus.CANCELLED
