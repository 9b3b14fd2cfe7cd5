"""The code flow end to end through the Flask client: discovery, authorize, consent, token,
ID token, UserInfo, refresh, revoke, introspect, logout."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import FrozenClock
from tests.sso.provider_world import (
    code_for,
    exchange,
    introspect,
    new_pkce,
    refresh,
    signed_in_world,
    userinfo,
    verified_claims,
)


def test_the_code_flow_gives_an_id_token_userinfo_and_rotating_refresh_tokens(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)
    pkce = new_pkce()
    code = code_for(client, world, pkce, nonce="n-123")
    answer = exchange(client, world, code, pkce.verifier)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    claims = verified_claims(client, body["id_token"])
    assert claims["aud"] == world.client_id
    assert claims["nonce"] == "n-123"
    assert claims["firm_id"] == world.firm.id
    assert "email" not in claims and "name" not in claims
    info = userinfo(client, body["access_token"])
    assert info.status_code == 200
    assert info.get_json()["email"] == world.owner.email
    assert info.get_json()["sub"] == claims["sub"]
    refreshed = refresh(client, world, body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    again = verified_claims(client, refreshed.get_json()["id_token"])
    assert again["auth_time"] == claims["auth_time"]
    replay = refresh(client, world, body["refresh_token"])
    assert replay.status_code == 400
    newest = refreshed.get_json()["access_token"]
    gone = userinfo(client, newest)
    assert gone.status_code == 401
    introspected = introspect(client, world, newest)
    assert introspected.get_json() == {"active": False}
