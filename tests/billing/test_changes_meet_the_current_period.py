"""A change made before the close has caught up applies to the period that is current now.

The close runs every few minutes; a plan or seat change, or a cancellation, made in the
gap after an activation or after a period's end must neither bill a period twice nor
prorate against a period that is over.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from billing.services import changes
from billing.services import subscriptions as subs
from catalog.pricing import FlatFee, PlanPrice, SeatFee
from marketplace.clock import FrozenClock
from marketplace.errors import ValidationFailed
from tests.billing.conftest import ACTOR, BUSINESS, TEAM, add_plan, firm
from tests.billing.test_close import APRIL, GRACE, START, invoices_of, lines_of, run
from tests.catalog.storefront_data import publish_listing

BIG = PlanPrice((FlatFee(30000), SeatFee(3000, 1, 50)))
SMALL = PlanPrice((FlatFee(10000), SeatFee(2000, 1, 10)))  # at most 10 seats


def _team(session: Session, clock: FrozenClock, seats: int = 3) -> subs.Subscription:
    plan = add_plan(publish_listing(price=TEAM), TEAM, auto_activate=True)
    return subs.subscribe(session, clock, ACTOR, firm().id, plan.id, seats)


def _prorations(lines: list[tuple[str, str, object, int, int]]) -> int:
    return sum(line[3] for line in lines if line[0] == "proration")


def test_an_upgrade_before_the_first_close_bills_period_zero_once(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _team(session, clock)  # ¥100 + 3 × ¥30 = ¥190 a period
    business = add_plan(subscription.listing, BUSINESS)  # ¥300 + 3 × ¥30 = ¥390
    clock.advance(timedelta(minutes=5))

    changes.change_plan(session, clock, ACTOR, subscription, business.id)
    run(session, clock, APRIL + GRACE)

    first, second = invoices_of(session, subscription)
    # Period 0 was sold as TEAM (¥190) and upgraded five minutes in: the proration on the
    # April invoice is the difference for the rest of the period, a little under ¥200.
    assert first.total_fen == 19000
    assert 19990 <= _prorations(lines_of(second)) <= 20000


def test_seats_added_before_the_first_close_are_billed_once(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _team(session, clock)
    clock.advance(timedelta(minutes=5))

    changes.change_seats(session, clock, ACTOR, subscription, 13)
    run(session, clock, APRIL + GRACE)

    first, second = invoices_of(session, subscription)
    assert first.total_fen == 19000  # three seats, as sold
    assert 29990 <= _prorations(lines_of(second)) <= 30000  # ten more for almost the period


def test_a_seat_change_after_the_period_ended_prorates_the_new_period(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _team(session, clock)
    run(session, clock, START + timedelta(minutes=15))
    clock.set(APRIL + timedelta(minutes=5))  # April's boundary passed; the close has not run

    changes.change_seats(session, clock, ACTOR, subscription, 5)

    assert subscription.current_period_start == APRIL
    assert len(invoices_of(session, subscription)) == 2  # the April boundary got its invoice


def test_cancelling_after_the_period_ended_bills_the_boundary_it_passed(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _team(session, clock)
    run(session, clock, START + timedelta(minutes=15))
    clock.set(APRIL + timedelta(minutes=5))

    subs.cancel(session, clock, ACTOR, subscription, at_period_end=False)
    run(session, clock, APRIL + GRACE + timedelta(minutes=5))

    march, april = invoices_of(session, subscription)[:2]
    assert march.total_fen == april.total_fen == 19000


def test_seats_beyond_a_scheduled_downgrades_limit_are_refused(
    session: Session, clock: FrozenClock
) -> None:
    listing = publish_listing(price=BIG)
    big = add_plan(listing, BIG, auto_activate=True)
    small = add_plan(listing, SMALL)
    subscription = subs.subscribe(session, clock, ACTOR, firm().id, big.id, 5)
    changes.change_plan(session, clock, ACTOR, subscription, small.id)

    with pytest.raises(ValidationFailed) as raised:
        changes.change_seats(session, clock, ACTOR, subscription, 30)

    assert list(raised.value.errors) == ["seats"]
    assert subscription.seats == 5
