"""Token revocation (RFC 7009) and introspection (RFC 7662) of app tokens, through the client."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.clock import FrozenClock
from sso.provider.models import Grant
from tests.sso.provider_world import (
    AppWorld,
    app_auth,
    basic_auth,
    introspect,
    issue_tokens,
    make_app,
    refresh,
    userinfo,
)


def _revoke(
    client: FlaskClient, headers: dict[str, str], token: str, hint: str | None = None
) -> Any:
    data = {"token": token}
    if hint:
        data["token_type_hint"] = hint
    return client.post("/oauth/revoke", data=data, headers=headers)


def _other_app(session: Session, clock: FrozenClock) -> dict[str, str]:
    _vendor, _listing, _plan, other, secret = make_app(session, clock)
    return basic_auth(other.client_id, secret)


# ---- revocation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("hint", [None, "refresh_token", "access_token"])
def test_revoking_the_refresh_token_ends_the_grant_and_its_access_tokens(
    client: FlaskClient, session: Session, world: AppWorld, hint: str | None
) -> None:
    body = issue_tokens(client, world)

    response = _revoke(client, app_auth(world), body["refresh_token"], hint)

    assert response.status_code == 200
    assert introspect(client, world, body["access_token"]).get_json() == {"active": False}
    assert userinfo(client, body["access_token"]).status_code == 401
    assert refresh(client, world, body["refresh_token"]).status_code == 400
    session.expire_all()
    grant = session.scalars(sa.select(Grant).where(Grant.user_id == world.owner.id)).one()
    assert grant.revoked_reason == "revoked_by_client"


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_revoking_an_access_token_leaves_the_refresh_token(
    client: FlaskClient, world: AppWorld, hint: str | None
) -> None:
    body = issue_tokens(client, world)

    response = _revoke(client, app_auth(world), body["access_token"], hint)

    assert response.status_code == 200
    assert userinfo(client, body["access_token"]).status_code == 401
    assert introspect(client, world, body["refresh_token"]).get_json()["active"] is True
    refreshed = refresh(client, world, body["refresh_token"])
    assert refreshed.status_code == 200
    assert userinfo(client, refreshed.get_json()["access_token"]).status_code == 200


def test_revoking_an_unknown_token_answers_200(client: FlaskClient, world: AppWorld) -> None:
    response = _revoke(client, app_auth(world), "yua_no-such-token")

    assert response.status_code == 200


def test_revoking_twice_answers_200_both_times(client: FlaskClient, world: AppWorld) -> None:
    body = issue_tokens(client, world)

    assert _revoke(client, app_auth(world), body["refresh_token"]).status_code == 200
    assert _revoke(client, app_auth(world), body["refresh_token"]).status_code == 200


def test_another_client_cannot_revoke_an_apps_token(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    body = issue_tokens(client, world)
    thief = _other_app(session, clock)

    for token in (body["access_token"], body["refresh_token"]):
        response = _revoke(client, thief, token)
        assert response.status_code == 400
        assert response.get_json()["error"] == "invalid_grant"

    assert userinfo(client, body["access_token"]).status_code == 200
    assert refresh(client, world, body["refresh_token"]).status_code == 200


@pytest.mark.parametrize("headers", [{}, {"wrong": "secret"}], ids=["none", "wrong-secret"])
def test_revocation_needs_the_client_to_authenticate(
    client: FlaskClient, world: AppWorld, headers: dict[str, str]
) -> None:
    body = issue_tokens(client, world)
    if headers:
        headers = basic_auth(world.client_id, "not-the-secret")

    response = _revoke(client, headers, body["refresh_token"])

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert userinfo(client, body["access_token"]).status_code == 200


def test_revocation_takes_the_secret_in_the_posted_form(
    client: FlaskClient, world: AppWorld
) -> None:
    body = issue_tokens(client, world)

    response = client.post(
        "/oauth/revoke",
        data={
            "token": body["access_token"],
            "client_id": world.client_id,
            "client_secret": world.client_secret,
        },
    )

    assert response.status_code == 200
    assert userinfo(client, body["access_token"]).status_code == 401


def test_revocation_without_a_token_is_a_bad_request(client: FlaskClient, world: AppWorld) -> None:
    response = client.post("/oauth/revoke", data={}, headers=app_auth(world))

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


# ---- introspection -------------------------------------------------------------------------------


def test_introspecting_a_live_access_token_describes_it(
    client: FlaskClient, world: AppWorld, clock: FrozenClock
) -> None:
    body = issue_tokens(client, world)
    sub = userinfo(client, body["access_token"]).get_json()["sub"]

    answer = introspect(client, world, body["access_token"])

    assert answer.status_code == 200
    described = answer.get_json()
    assert described["active"] is True
    assert described["sub"] == sub
    assert described["client_id"] == world.client_id
    assert described["scope"] == "openid profile email"
    assert described["exp"] == int(
        (clock.now() + timedelta(seconds=body["expires_in"])).timestamp()
    )
    assert described["iat"] == int(clock.now().timestamp())
    assert described["token_type"] == "Bearer"
    assert described["firm_id"] == world.firm.id
    assert described["subscription_id"] == world.subscription.id
    assert described["seat_status"] == "assigned"
    assert described["firm_role"] == "owner"
    assert described["plan"] == world.plan.code


def test_introspecting_a_live_refresh_token_describes_it(
    client: FlaskClient, world: AppWorld
) -> None:
    body = issue_tokens(client, world, scope="openid")

    described = introspect(client, world, body["refresh_token"]).get_json()

    assert described["active"] is True
    assert described["scope"] == "openid"
    assert described["client_id"] == world.client_id


def test_another_client_introspecting_an_apps_token_learns_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    body = issue_tokens(client, world)
    other = _other_app(session, clock)

    for token in (body["access_token"], body["refresh_token"]):
        answer = client.post("/oauth/introspect", data={"token": token}, headers=other)
        assert answer.get_json() == {"active": False}


@pytest.mark.parametrize("token", ["yua_unknown", "yrt_unknown", "garbage"])
def test_introspecting_an_unknown_token_answers_inactive(
    client: FlaskClient, world: AppWorld, token: str
) -> None:
    answer = introspect(client, world, token)

    assert answer.status_code == 200
    assert answer.get_json() == {"active": False}


def test_an_expired_access_token_introspects_as_inactive(
    client: FlaskClient, world: AppWorld, clock: FrozenClock
) -> None:
    body = issue_tokens(client, world)
    clock.advance(timedelta(seconds=body["expires_in"] + 1))

    assert introspect(client, world, body["access_token"]).get_json() == {"active": False}
    assert introspect(client, world, body["refresh_token"]).get_json()["active"] is True


def test_a_used_refresh_token_introspects_as_inactive(client: FlaskClient, world: AppWorld) -> None:
    body = issue_tokens(client, world)
    assert refresh(client, world, body["refresh_token"]).status_code == 200

    assert introspect(client, world, body["refresh_token"]).get_json() == {"active": False}


def test_introspection_needs_the_client_to_authenticate(
    client: FlaskClient, world: AppWorld
) -> None:
    body = issue_tokens(client, world)

    response = client.post("/oauth/introspect", data={"token": body["access_token"]})

    assert response.status_code == 401
    assert "active" not in response.get_json()
