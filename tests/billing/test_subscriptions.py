"""Subscribing, activation and every move of the subscription lifecycle, legal or not."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.lifecycle import TRANSITIONS, Move
from billing.models import Subscription, SubscriptionStatus
from billing.services import subscriptions as subs
from catalog.models import PlanStatus
from marketplace.audit.models import AuditEntry
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.events.models import OutboxEvent
from marketplace.orgs.models import OrgKind
from tests.billing.conftest import ACTOR, TEAM, add_plan, firm, new_plan
from tests.catalog.storefront_data import publish_listing
from tests.factories import make_org

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # 09:30 on 2 March in Shanghai


def _events(session: Session, subscription: Subscription) -> list[str]:
    stmt = (
        sa.select(OutboxEvent.type)
        .where(OutboxEvent.aggregate_type == "subscription")
        .where(OutboxEvent.aggregate_id == str(subscription.id))
        .order_by(OutboxEvent.id)
    )
    return list(session.scalars(stmt))


def _subscribed(session: Session, clock: FrozenClock, **plan_fields: object) -> Subscription:
    plan = new_plan(**plan_fields)
    return subs.subscribe(session, clock, ACTOR, firm().id, plan.id)


def test_a_new_subscription_waits_for_the_vendor_with_the_plans_minimum_seats(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _subscribed(session, clock)

    assert subscription.status == SubscriptionStatus.PENDING
    assert subscription.seats == 1
    assert subscription.period_open is False and subscription.current_period_start is None
    assert _events(session, subscription) == ["subscription.created"]
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "subscription.created")
    ).one()
    assert entry.subject_org_id == subscription.organization_id


def test_the_created_event_goes_to_the_vendor_and_names_plan_and_firm(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _subscribed(session, clock)

    event = session.scalars(
        sa.select(OutboxEvent).where(OutboxEvent.type == "subscription.created")
    ).one()
    assert event.organization_id == subscription.vendor_id
    assert event.payload["firm_id"] == subscription.organization_id
    assert event.payload["plan_code"] == subscription.plan.code
    assert event.payload["status"] == "pending"


def test_a_second_subscription_to_the_same_listing_is_refused_and_stores_nothing(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _subscribed(session, clock)

    with pytest.raises(subs.AlreadySubscribed):
        subs.subscribe(session, clock, ACTOR, subscription.organization_id, subscription.plan_id)

    assert session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 1


def test_after_cancelling_the_firm_may_subscribe_again(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _subscribed(session, clock)
    subs.cancel(session, clock, ACTOR, subscription, at_period_end=False)

    again = subs.subscribe(
        session, clock, ACTOR, subscription.organization_id, subscription.plan_id
    )

    assert again.id != subscription.id and again.status == SubscriptionStatus.PENDING


@pytest.mark.parametrize("seats", [0, 51])
def test_seats_outside_the_plans_bounds_are_refused_naming_the_field(
    session: Session, clock: FrozenClock, seats: int
) -> None:
    plan = new_plan()

    with pytest.raises(ValidationFailed) as raised:
        subs.subscribe(session, clock, ACTOR, firm().id, plan.id, seats)

    assert list(raised.value.errors) == ["seats"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Subscription)) == 0


def test_a_draft_plan_is_not_on_sale(session: Session, clock: FrozenClock) -> None:
    listing = publish_listing(price=TEAM)
    draft = add_plan(listing, status=PlanStatus.DRAFT, published_at=None)

    with pytest.raises(ValidationFailed) as raised:
        subs.subscribe(session, clock, ACTOR, firm().id, draft.id)

    assert list(raised.value.errors) == ["plan"]


def test_a_plan_of_a_delisted_listing_is_not_on_sale(session: Session, clock: FrozenClock) -> None:
    plan = add_plan(publish_listing(price=TEAM, status="delisted"))

    with pytest.raises(ValidationFailed):
        subs.subscribe(session, clock, ACTOR, firm().id, plan.id)


def test_a_real_firm_cannot_buy_a_sandbox_listing(session: Session, clock: FrozenClock) -> None:
    plan = add_plan(publish_listing(price=TEAM, sandbox=True))

    with pytest.raises(ValidationFailed):
        subs.subscribe(session, clock, ACTOR, firm().id, plan.id)


def test_only_firms_subscribe(session: Session, clock: FrozenClock) -> None:
    plan = new_plan()

    with pytest.raises(NotFound):
        subs.subscribe(session, clock, ACTOR, make_org(OrgKind.VENDOR).id, plan.id)


def test_a_suspended_firm_cannot_subscribe(session: Session, clock: FrozenClock) -> None:
    plan = new_plan()
    org = make_org(OrgKind.SME, status="suspended")

    with pytest.raises(Conflict):
        subs.subscribe(session, clock, ACTOR, org.id, plan.id)


def test_activation_starts_a_calendar_month_in_shanghai(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _subscribed(session, clock)

    subs.activate(session, clock, ACTOR, subscription.vendor_id, subscription.id, sandbox=False)

    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.anchor_at == START
    assert subscription.current_period_start == START
    assert subscription.current_period_end == datetime(2026, 4, 2, 1, 30, tzinfo=UTC)
    assert subscription.period_open is True and subscription.billed_boundary_at is None
    assert _events(session, subscription) == ["subscription.created", "subscription.activated"]


def test_a_plan_that_auto_activates_starts_at_once(session: Session, clock: FrozenClock) -> None:
    subscription = _subscribed(session, clock, auto_activate=True)

    assert subscription.status == SubscriptionStatus.ACTIVE
    assert _events(session, subscription) == ["subscription.created", "subscription.activated"]


def test_a_trial_runs_before_the_first_period_and_owes_nothing_at_its_start(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _subscribed(session, clock, trial_days=14, auto_activate=True)

    assert subscription.status == SubscriptionStatus.TRIALING
    assert subscription.trial_end_at == START + timedelta(days=14)
    assert subscription.anchor_at == subscription.trial_end_at
    assert (subscription.current_period_start, subscription.current_period_end) == (
        START,
        START + timedelta(days=14),
    )
    assert subscription.billed_boundary_at == START


def test_another_vendor_cannot_activate_the_subscription(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _subscribed(session, clock)
    stranger = make_org(OrgKind.VENDOR)

    with pytest.raises(NotFound):
        subs.activate(session, clock, ACTOR, stranger.id, subscription.id, sandbox=False)
    with pytest.raises(NotFound):
        subs.activate(session, clock, ACTOR, subscription.vendor_id, subscription.id, sandbox=True)

    assert subscription.status == SubscriptionStatus.PENDING


def test_activating_twice_is_an_illegal_transition(session: Session, clock: FrozenClock) -> None:
    subscription = _subscribed(session, clock, auto_activate=True)

    with pytest.raises(subs.IllegalTransition) as raised:
        subs.activate(session, clock, ACTOR, subscription.vendor_id, subscription.id, sandbox=False)

    assert raised.value.status == 409
    assert raised.value.extra == {"current_status": "active", "move": "activate"}


def test_cancelling_now_closes_the_period_here_so_its_usage_is_still_billed(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _subscribed(session, clock, auto_activate=True)
    clock.advance(timedelta(days=10))

    subs.cancel(session, clock, ACTOR, subscription, at_period_end=False, reason="too dear")

    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.cancelled_at == clock.now() == subscription.current_period_end
    assert subscription.period_open is True  # the close still bills these ten days' usage
    assert subscription.cancel_reason == "too dear"
    assert _events(session, subscription)[-1] == "subscription.cancelled"


def test_cancelling_at_period_end_only_schedules_it(session: Session, clock: FrozenClock) -> None:
    subscription = _subscribed(session, clock, auto_activate=True)

    subs.cancel(session, clock, ACTOR, subscription, at_period_end=True)

    assert subscription.status == SubscriptionStatus.ACTIVE and subscription.cancel_at_period_end
    subs.undo_scheduled_cancellation(session, clock, ACTOR, subscription)
    assert not subscription.cancel_at_period_end
    assert _events(session, subscription)[-2:] == [
        "subscription.cancellation_scheduled",
        "subscription.cancellation_withdrawn",
    ]


def test_a_pending_subscription_cannot_wait_for_a_period_end_it_does_not_have(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _subscribed(session, clock)

    with pytest.raises(subs.IllegalTransition):
        subs.cancel(session, clock, ACTOR, subscription, at_period_end=True)
    subs.cancel(session, clock, ACTOR, subscription, at_period_end=False)

    assert subscription.status == SubscriptionStatus.CANCELLED
    assert subscription.period_open is False


def test_withdrawing_a_cancellation_that_was_never_scheduled_is_refused(
    session: Session, clock: FrozenClock
) -> None:
    subscription = _subscribed(session, clock, auto_activate=True)

    with pytest.raises(subs.IllegalTransition):
        subs.undo_scheduled_cancellation(session, clock, ACTOR, subscription)


def _cancel_now(session: Session, clock: FrozenClock, subscription: Subscription) -> None:
    subs.cancel(session, clock, ACTOR, subscription, at_period_end=False)


def _activate(session: Session, clock: FrozenClock, subscription: Subscription) -> None:
    subs.start_service(session, clock, ACTOR, subscription)


SERVICE_MOVES: dict[Move, Callable[[Session, FrozenClock, Subscription], None]] = {
    Move.ACTIVATE: _activate,
    Move.FAIL_PAYMENT: lambda s, c, sub: subs.mark_past_due(s, c, ACTOR, sub),
    Move.SUSPEND: lambda s, c, sub: subs.suspend(s, c, ACTOR, sub),
    Move.REINSTATE: lambda s, c, sub: subs.reinstate(s, c, ACTOR, sub),
    Move.CANCEL: _cancel_now,
}
EXPECTED_EVENT = {
    Move.ACTIVATE: "subscription.activated",
    Move.FAIL_PAYMENT: "subscription.past_due",
    Move.SUSPEND: "subscription.suspended",
    Move.REINSTATE: "subscription.reinstated",
    Move.CANCEL: "subscription.cancelled",
}


@pytest.mark.parametrize("status", list(SubscriptionStatus))
@pytest.mark.parametrize("step", list(SERVICE_MOVES))
def test_every_service_move_from_every_status_is_allowed_exactly_when_the_table_says(
    session: Session, clock: FrozenClock, status: SubscriptionStatus, step: Move
) -> None:
    subscription = _subscribed(session, clock)
    subscription.status = status
    session.flush()
    before = _events(session, subscription)
    legal = (status, step) in TRANSITIONS

    if legal:
        SERVICE_MOVES[step](session, clock, subscription)
        assert subscription.status == TRANSITIONS[(status, step)]
        assert _events(session, subscription) == [*before, EXPECTED_EVENT[step]]
    else:
        with pytest.raises(subs.IllegalTransition):
            SERVICE_MOVES[step](session, clock, subscription)
        assert subscription.status == status
        assert _events(session, subscription) == before


def test_a_trial_plan_activates_into_trialing(session: Session, clock: FrozenClock) -> None:
    subscription = _subscribed(session, clock, trial_days=7)

    subs.activate(session, clock, ACTOR, subscription.vendor_id, subscription.id, sandbox=False)

    assert subscription.status == SubscriptionStatus.TRIALING


def test_reinstating_clears_the_dunning_marks(session: Session, clock: FrozenClock) -> None:
    subscription = _subscribed(session, clock, auto_activate=True)
    subs.mark_past_due(session, clock, ACTOR, subscription)
    subs.suspend(session, clock, ACTOR, subscription)
    assert subscription.past_due_at == subscription.suspended_at == clock.now()

    subs.reinstate(session, clock, ACTOR, subscription)

    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.past_due_at is None and subscription.suspended_at is None


def test_a_firm_sees_only_its_own_subscriptions(session: Session, clock: FrozenClock) -> None:
    mine = _subscribed(session, clock)
    theirs = _subscribed(session, clock)

    assert subs.subscriptions_of_firm(session, mine.organization_id) == [mine]
    with pytest.raises(NotFound):
        subs.subscription_of_firm(session, mine.organization_id, theirs.id)
