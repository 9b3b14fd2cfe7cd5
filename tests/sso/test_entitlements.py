"""Who may open an app: a serving subscription of one of the user's firms and a seat, checked at
authorize and on every token use; and the pure rule `entitlements.decide`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import Subscription
from billing.services.seats import assign_seat, unassign_seat
from billing.services.subscriptions import cancel, mark_past_due, subscribe, suspend
from catalog.models import Plan
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Organization, OrgKind, OrgStatus, Role
from marketplace.webhooks.relay import relay_outbox
from sso.provider.entitlements import (
    Entitlement,
    FirmStanding,
    Refusal,
    Refused,
    SeatStatus,
    decide,
)
from sso.provider.models import Grant
from tests.billing.conftest import TEAM
from tests.catalog.conftest import component_row
from tests.factories import make_member, make_org, make_user
from tests.sso.provider_world import (
    ACTOR,
    FLAT,
    AppWorld,
    authorize_query,
    code_for,
    exchange,
    introspect,
    issue_tokens,
    make_world,
    new_pkce,
    redirect_params,
    refresh,
    sign_in_now,
    signed_in_world,
    userinfo,
)


def _refused(client: FlaskClient, world: AppWorld) -> str:
    response = client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce()))
    assert response.status_code == 403, response.get_data(as_text=True)[:300]
    assert "Location" not in response.headers
    html = response.get_data(as_text=True)
    marker = 'data-reason="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def _grant_reasons(session: Session, user_id: int) -> list[str | None]:
    session.expire_all()
    query = sa.select(Grant.revoked_reason).where(Grant.user_id == user_id).order_by(Grant.id)
    return list(session.scalars(query))


def _second_firm(
    world: AppWorld, *, subscribed: bool, session: Session, clock: FrozenClock
) -> Organization:
    firm = make_org(OrgKind.SME)
    make_member(firm, world.owner, Role.MEMBER)
    if subscribed:
        subscription = subscribe(session, clock, ACTOR, firm.id, world.plan.id, seats=1)
        assign_seat(session, clock, ACTOR, subscription, world.owner.id)
    session.commit()
    return firm


def _suspend(session: Session, clock: FrozenClock, subscription: Subscription) -> None:
    """Suspend a subscription as dunning does: past due first, then suspended."""
    mark_past_due(session, clock, ACTOR, subscription)
    suspend(session, clock, ACTOR, subscription)
    session.commit()


# ---- refused at authorize ------------------------------------------------------------------------


def test_a_user_whose_firms_do_not_subscribe_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    outsider = make_member(make_org(OrgKind.SME), make_user(), Role.OWNER)
    session.commit()
    sign_in_now(client, outsider, clock)

    assert _refused(client, world) == "no_subscription"


def test_a_user_of_no_firm_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    loner = make_user()
    session.commit()
    sign_in_now(client, loner, clock)

    assert _refused(client, world) == "no_subscription"


def test_a_suspended_subscription_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    _suspend(session, clock, world.subscription)
    session.commit()
    sign_in_now(client, world.owner, clock)

    assert _refused(client, world) == "not_serving"


def test_a_cancelled_subscription_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    cancel(session, clock, ACTOR, world.subscription, at_period_end=False)
    sign_in_now(client, world.owner, clock)

    assert _refused(client, world) == "no_subscription"


def test_a_member_without_a_seat_on_a_seat_plan_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in_now(client, world.member, clock)

    assert _refused(client, world) == "no_seat"


def test_a_suspended_firm_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    world.firm.status = OrgStatus.SUSPENDED
    session.commit()
    sign_in_now(client, world.owner, clock)

    assert _refused(client, world) == "no_subscription"


def test_prompt_none_refused_by_entitlement_answers_access_denied(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in_now(client, world.member, clock)
    query = authorize_query(world, new_pkce(), prompt="none")

    response = client.get("/oauth/authorize", query_string=query)

    assert response.status_code == 302
    params = redirect_params(response.headers["Location"])
    assert (params["error"], params["state"]) == ("access_denied", query["state"])


def test_on_a_plan_without_seats_every_member_may_open_the_app(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock, price=FLAT)
    for user in (world.owner, world.member):
        sign_in_now(client, user, clock)
        body = issue_tokens(client, world)
        info = userinfo(client, body["access_token"]).get_json()
        assert info["seat_status"] == "not_required"
        assert info["firm_id"] == world.firm.id


# ---- ended while in use --------------------------------------------------------------------------


def test_a_seat_taken_back_kills_the_token_at_once_and_the_relay_revokes_the_grant(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)
    body = issue_tokens(client, world)
    assert userinfo(client, body["access_token"]).status_code == 200

    unassign_seat(session, clock, ACTOR, world.subscription, world.owner.id)

    assert userinfo(client, body["access_token"]).status_code == 401
    assert _grant_reasons(session, world.owner.id) == [None]
    relay_outbox()
    assert _grant_reasons(session, world.owner.id) == ["seat_removed"]
    assert refresh(client, world, body["refresh_token"]).status_code == 400


def test_a_seat_given_back_does_not_revive_a_revoked_grant(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)
    body = issue_tokens(client, world)
    unassign_seat(session, clock, ACTOR, world.subscription, world.owner.id)
    relay_outbox()

    assign_seat(session, clock, ACTOR, world.subscription, world.owner.id)

    assert userinfo(client, body["access_token"]).status_code == 401
    assert refresh(client, world, body["refresh_token"]).status_code == 400


def test_a_seat_taken_from_another_member_leaves_this_users_grant(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    assign_seat(session, clock, ACTOR, world.subscription, world.member.id)
    sign_in_now(client, world.owner, clock)
    body = issue_tokens(client, world)

    unassign_seat(session, clock, ACTOR, world.subscription, world.member.id)
    relay_outbox()

    assert userinfo(client, body["access_token"]).status_code == 200
    assert _grant_reasons(session, world.owner.id) == [None]


@pytest.mark.parametrize("ending", ["suspend", "cancel"])
def test_a_subscription_that_stops_serving_kills_tokens_and_the_relay_revokes_grants(
    client: FlaskClient, session: Session, clock: FrozenClock, ending: str
) -> None:
    world = signed_in_world(client, session, clock)
    body = issue_tokens(client, world)

    if ending == "suspend":
        _suspend(session, clock, world.subscription)
        session.commit()
    else:
        cancel(session, clock, ACTOR, world.subscription, at_period_end=False)

    assert userinfo(client, body["access_token"]).status_code == 401
    introspected = introspect(client, world, body["refresh_token"])
    assert introspected.get_json() == {"active": False}
    relay_outbox()
    assert _grant_reasons(session, world.owner.id) == ["subscription_ended"]
    assert refresh(client, world, body["refresh_token"]).status_code == 400


def test_a_firm_suspended_while_in_use_kills_its_tokens(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)
    body = issue_tokens(client, world)

    world.firm.status = OrgStatus.SUSPENDED
    session.commit()

    assert userinfo(client, body["access_token"]).status_code == 401
    assert refresh(client, world, body["refresh_token"]).status_code == 400


def test_a_vendor_suspended_while_in_use_kills_its_apps_tokens(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)
    body = issue_tokens(client, world)

    world.vendor.status = OrgStatus.SUSPENDED
    session.commit()

    assert userinfo(client, body["access_token"]).status_code == 401
    assert refresh(client, world, body["refresh_token"]).status_code in (400, 401)


def test_a_closed_account_loses_its_app_tokens(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)
    body = issue_tokens(client, world)

    world.owner.is_active = False
    session.commit()

    assert userinfo(client, body["access_token"]).status_code == 401
    assert refresh(client, world, body["refresh_token"]).status_code == 400


def test_a_code_is_refused_when_the_seat_goes_before_the_exchange(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)
    pkce = new_pkce()
    code = code_for(client, world, pkce)

    unassign_seat(session, clock, ACTOR, world.subscription, world.owner.id)

    answer = exchange(client, world, code, pkce.verifier)
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "invalid_grant"


# ---- choosing the firm ---------------------------------------------------------------------------


def test_a_user_of_two_firms_opens_the_app_under_the_one_that_subscribes(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    other = _second_firm(world, subscribed=False, session=session, clock=clock)
    sign_in_now(client, world.owner, clock)

    info = userinfo(client, issue_tokens(client, world)["access_token"]).get_json()

    assert info["firm_id"] == world.firm.id != other.id


def _open_app(client: FlaskClient, subscription: Subscription) -> Any:
    return client.get(f"/subscriptions/{subscription.id}/open")


def test_open_app_sends_the_user_to_the_apps_login_uri_with_our_issuer(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)

    response = _open_app(client, world.subscription)

    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location._replace(query="").geturl() == "https://app.example/login"
    issuer = client.get("/.well-known/openid-configuration").get_json()["issuer"]
    assert parse_qs(location.query)["iss"] == [issuer]


def test_open_app_of_another_firms_subscription_is_not_found(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    stranger = make_member(make_org(OrgKind.SME), make_user(), Role.OWNER)
    session.commit()
    sign_in_now(client, stranger, clock)

    assert _open_app(client, world.subscription).status_code == 404


def test_open_app_of_a_suspended_subscription_is_a_conflict(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    _suspend(session, clock, world.subscription)
    session.commit()
    sign_in_now(client, world.owner, clock)

    assert _open_app(client, world.subscription).status_code == 409


def test_the_firm_the_app_was_opened_from_wins_when_entitled(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    other = _second_firm(world, subscribed=True, session=session, clock=clock)
    other_subscription = session.scalars(
        sa.select(Subscription).where(Subscription.organization_id == other.id)
    ).one()
    sign_in_now(client, world.owner, clock)

    assert _open_app(client, other_subscription).status_code == 302
    info = userinfo(client, issue_tokens(client, world)["access_token"]).get_json()

    assert info["firm_id"] == other.id
    assert info["subscription_id"] == other_subscription.id
    assert info["firm_role"] == "member"


def test_without_a_preference_the_first_entitled_firm_is_used(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    _second_firm(world, subscribed=True, session=session, clock=clock)
    sign_in_now(client, world.owner, clock)

    info = userinfo(client, issue_tokens(client, world)["access_token"]).get_json()

    assert info["firm_id"] == world.firm.id


def test_a_preferred_firm_no_longer_entitled_gives_way_to_one_that_is(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    other = _second_firm(world, subscribed=True, session=session, clock=clock)
    other_subscription = session.scalars(
        sa.select(Subscription).where(Subscription.organization_id == other.id)
    ).one()
    sign_in_now(client, world.owner, clock)
    _open_app(client, other_subscription)
    unassign_seat(session, clock, ACTOR, other_subscription, world.owner.id)

    info = userinfo(client, issue_tokens(client, world)["access_token"]).get_json()

    assert info["firm_id"] == world.firm.id


# ---- the pure rule -------------------------------------------------------------------------------


def _sub(sub_id: int, status: str = "active", seats: bool = True) -> Subscription:
    """Return an unsaved subscription on an unsaved plan, as `decide` reads them."""
    price = TEAM if seats else FLAT
    rows = [component_row(component, n) for n, component in enumerate(price.components)]
    return Subscription(id=sub_id, status=status, plan=Plan(code="team", components=rows))


def _standing(
    firm_id: int, sub: Subscription | None, seated: bool, role: str = "member"
) -> FirmStanding:
    return FirmStanding(firm_id, f"firm {firm_id}", role, sub, seated)


def test_decide_refuses_a_user_of_no_firm() -> None:
    assert decide([], None) == Refused(Refusal.NO_SUBSCRIPTION, None, None, None)


@pytest.mark.parametrize(
    ("standing", "reason"),
    [
        (_standing(1, None, False), Refusal.NO_SUBSCRIPTION),
        (_standing(1, _sub(9, "suspended"), True), Refusal.NOT_SERVING),
        (_standing(1, _sub(9, "pending"), True), Refusal.NOT_SERVING),
        (_standing(1, _sub(9, "active"), False), Refusal.NO_SEAT),
    ],
)
def test_decide_says_why_a_single_firm_is_refused(standing: FirmStanding, reason: Refusal) -> None:
    refused = decide([standing], None)

    assert isinstance(refused, Refused)
    assert refused.reason == reason
    assert refused.firm_id == 1


@pytest.mark.parametrize("status", ["active", "trialing", "past_due"])
def test_decide_lets_a_seated_user_of_a_serving_subscription_in(status: str) -> None:
    entitled = decide([_standing(1, _sub(9, status), True, "admin")], None)

    assert entitled == Entitlement(1, "firm 1", "admin", 9, "team", SeatStatus.ASSIGNED)


def test_decide_reports_a_plan_without_seats() -> None:
    entitled = decide([_standing(1, _sub(9, seats=False), True)], None)

    assert isinstance(entitled, Entitlement)
    assert entitled.seat_status == SeatStatus.NOT_REQUIRED


def test_decide_takes_the_entitled_firm_over_an_earlier_one_that_is_not() -> None:
    standings = [_standing(1, None, False), _standing(2, _sub(8), True)]

    entitled = decide(standings, None)

    assert isinstance(entitled, Entitlement) and entitled.firm_id == 2


@pytest.mark.parametrize(("preferred", "chosen"), [(None, 1), (1, 1), (2, 2), (3, 1), (99, 1)])
def test_decide_prefers_the_chosen_firm_only_when_it_is_entitled(
    preferred: int | None, chosen: int
) -> None:
    standings = [
        _standing(1, _sub(7), True),
        _standing(2, _sub(8), True),
        _standing(3, _sub(9), False),
    ]

    entitled = decide(standings, preferred)

    assert isinstance(entitled, Entitlement) and entitled.firm_id == chosen


def test_decide_reports_the_firm_that_came_closest() -> None:
    standings = [
        _standing(1, None, False),
        _standing(2, _sub(8, "suspended"), True),
        _standing(3, _sub(9), False),
        _standing(4, None, False),
    ]

    refused = decide(standings, 2)

    assert refused == Refused(Refusal.NO_SEAT, 3, "firm 3", 9)


def test_decide_reports_a_subscription_not_serving_over_none_at_all() -> None:
    refused = decide([_standing(1, None, False), _standing(2, _sub(8, "suspended"), False)], None)

    assert isinstance(refused, Refused)
    assert (refused.reason, refused.firm_id, refused.subscription_id) == (Refusal.NOT_SERVING, 2, 8)
