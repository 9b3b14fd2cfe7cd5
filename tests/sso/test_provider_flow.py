"""The code flow end to end through the Flask client: discovery, authorize, consent, token,
ID token, UserInfo, refresh, revoke, introspect, logout."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy.orm import Session

from tests.conftest import FrozenClock
from tests.sso.provider_world import (
    basic_auth,
    code_for,
    exchange,
    make_world,
    new_pkce,
    sign_in_now,
)


def _verify(client: FlaskClient, id_token: str) -> dict[str, Any]:
    keys = KeySet.import_key_set(client.get("/jwks").get_json())
    return dict(jwt.decode(id_token, keys, algorithms=["RS256"]).claims)


def test_the_code_flow_gives_an_id_token_userinfo_and_rotating_refresh_tokens(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in_now(client, world.owner, clock)
    pkce = new_pkce()
    code = code_for(client, world, pkce, nonce="n-123")
    answer = exchange(client, world, code, pkce.verifier)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    claims = _verify(client, body["id_token"])
    assert claims["aud"] == world.client_id
    assert claims["nonce"] == "n-123"
    assert claims["firm_id"] == world.firm.id
    assert "email" not in claims and "name" not in claims
    info = client.get(
        "/oauth/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert info.status_code == 200
    assert info.get_json()["email"] == world.owner.email
    assert info.get_json()["sub"] == claims["sub"]
    refreshed = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=basic_auth(world.client_id, world.client_secret),
    )
    assert refreshed.status_code == 200, refreshed.get_json()
    again = _verify(client, refreshed.get_json()["id_token"])
    assert again["auth_time"] == claims["auth_time"]
    replay = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=basic_auth(world.client_id, world.client_secret),
    )
    assert replay.status_code == 400
    newest = refreshed.get_json()["access_token"]
    gone = client.get("/oauth/userinfo", headers={"Authorization": f"Bearer {newest}"})
    assert gone.status_code == 401
    introspected = client.post(
        "/oauth/introspect",
        data={"token": newest},
        headers=basic_auth(world.client_id, world.client_secret),
    )
    assert introspected.get_json() == {"active": False}
