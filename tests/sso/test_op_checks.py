"""The provider against the OpenID Foundation's Basic OP checks: PKCE, redirect URIs, codes,
ID tokens, discovery and UserInfo, each through the Flask client as a relying party sees it."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask.testing import FlaskClient
from joserfc import jws
from sqlalchemy.orm import Session

from marketplace.clock import FrozenClock
from sso import signing_keys
from tests.sso.provider_world import (
    REDIRECT_URI,
    AppWorld,
    authorize_query,
    basic_auth,
    code_for,
    exchange,
    introspect,
    issue_tokens,
    make_app,
    make_world,
    new_pkce,
    redirect_params,
    refresh,
    sign_in_now,
    token_request,
    userinfo,
    verified_claims,
)

# ---- PKCE ---------------------------------------------------------------------------------------


def _refused_to_redirect(response: Any, state: str) -> dict[str, str]:
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?")
    params = redirect_params(location)
    assert params["state"] == state
    assert "code" not in params
    return params


@pytest.mark.parametrize(
    "overrides",
    [
        {"code_challenge": None},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": None},
        {"code_challenge": None, "code_challenge_method": None},
    ],
    ids=["no-challenge", "plain", "no-method", "neither"],
)
def test_an_authorization_request_without_an_s256_challenge_is_refused_back_to_the_app(
    client: FlaskClient, world: AppWorld, overrides: dict[str, str | None]
) -> None:
    query = authorize_query(world, new_pkce(), **overrides)

    response = client.get("/oauth/authorize", query_string=query)

    assert _refused_to_redirect(response, query["state"])["error"] == "invalid_request"


def test_a_plain_challenge_is_refused_even_when_the_user_already_consented(
    client: FlaskClient, world: AppWorld
) -> None:
    issue_tokens(client, world)
    pkce = new_pkce()
    query = authorize_query(
        world, pkce, code_challenge=pkce.verifier, code_challenge_method="plain"
    )

    response = client.get("/oauth/authorize", query_string=query)

    assert _refused_to_redirect(response, query["state"])["error"] == "invalid_request"


@pytest.mark.parametrize("verifier", ["wrong", None, ""], ids=["other", "missing", "empty"])
def test_a_code_is_refused_without_its_verifier(
    client: FlaskClient, world: AppWorld, verifier: str | None
) -> None:
    pkce = new_pkce()
    code = code_for(client, world, pkce)
    form = {"code": code}
    if verifier is not None:
        form["code_verifier"] = new_pkce().verifier if verifier == "wrong" else verifier

    response = token_request(client, world, **form)

    assert response.status_code == 400
    assert response.get_json()["error"] in ("invalid_request", "invalid_grant")
    assert "access_token" not in response.get_json()


# ---- redirect_uri -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "redirect_uri",
    [
        None,
        "",
        REDIRECT_URI + "/",
        REDIRECT_URI + "?extra=1",
        "https://app.example:8443/callback",
        "http://app.example/callback",
        "https://evil.example/callback",
        "https://app.example.evil.example/callback",
        "https://app.example/Callback",
        "https://app.example/callback#frag",
    ],
    ids=[
        "missing",
        "empty",
        "trailing-slash",
        "extra-query",
        "other-port",
        "other-scheme",
        "other-host",
        "suffix-host",
        "other-case",
        "fragment",
    ],
)
def test_a_redirect_uri_not_registered_exactly_gets_an_error_page_and_no_redirect(
    client: FlaskClient, world: AppWorld, redirect_uri: str | None
) -> None:
    query = authorize_query(world, new_pkce(), redirect_uri=redirect_uri)

    response = client.get("/oauth/authorize", query_string=query)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert 'id="oauth-error"' in response.get_data(as_text=True)


def test_an_unregistered_redirect_uri_is_not_followed_even_with_a_bad_pkce_request(
    client: FlaskClient, world: AppWorld
) -> None:
    query = authorize_query(
        world, new_pkce(), redirect_uri="https://evil.example/cb", code_challenge=None
    )

    response = client.get("/oauth/authorize", query_string=query)

    assert response.status_code == 400
    assert "Location" not in response.headers


@pytest.mark.parametrize("client_id", ["unknown-client", "", None])
def test_an_unknown_client_gets_an_error_page_and_no_redirect(
    client: FlaskClient, world: AppWorld, client_id: str | None
) -> None:
    query = authorize_query(world, new_pkce(), client_id=client_id)

    response = client.get("/oauth/authorize", query_string=query)

    assert response.status_code == 400
    assert "Location" not in response.headers


def test_the_redirect_uri_at_the_token_endpoint_must_be_the_one_authorized(
    client: FlaskClient, world: AppWorld
) -> None:
    pkce = new_pkce()
    code = code_for(client, world, pkce)

    response = token_request(
        client, world, code=code, code_verifier=pkce.verifier, redirect_uri=REDIRECT_URI + "/"
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


# ---- codes --------------------------------------------------------------------------------------


def test_a_reused_code_is_refused_and_revokes_what_the_first_exchange_gave(
    client: FlaskClient, world: AppWorld
) -> None:
    pkce = new_pkce()
    code = code_for(client, world, pkce)
    first = exchange(client, world, code, pkce.verifier).get_json()
    assert userinfo(client, first["access_token"]).status_code == 200

    second = exchange(client, world, code, pkce.verifier)

    assert second.status_code == 400
    assert second.get_json()["error"] == "invalid_grant"
    assert userinfo(client, first["access_token"]).status_code == 401
    assert introspect(client, world, first["access_token"]).get_json() == {"active": False}
    assert introspect(client, world, first["refresh_token"]).get_json() == {"active": False}
    assert refresh(client, world, first["refresh_token"]).status_code == 400


def test_a_code_expires_after_sixty_seconds(
    client: FlaskClient, world: AppWorld, clock: FrozenClock
) -> None:
    pkce = new_pkce()
    code = code_for(client, world, pkce)
    clock.advance(timedelta(seconds=61))

    response = exchange(client, world, code, pkce.verifier)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


def test_a_code_is_good_just_before_it_expires(
    client: FlaskClient, world: AppWorld, clock: FrozenClock
) -> None:
    pkce = new_pkce()
    code = code_for(client, world, pkce)
    clock.advance(timedelta(seconds=59))

    assert exchange(client, world, code, pkce.verifier).status_code == 200


def test_a_code_of_another_client_is_refused_and_its_owner_can_still_use_it(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    pkce = new_pkce()
    code = code_for(client, world, pkce)
    _vendor, _listing, _plan, thief, thief_secret = make_app(session, clock)

    stolen = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": pkce.verifier,
        },
        headers=basic_auth(thief.client_id, thief_secret),
    )

    assert stolen.status_code == 400
    assert stolen.get_json()["error"] == "invalid_grant"
    assert exchange(client, world, code, pkce.verifier).status_code == 200


def test_a_code_is_refused_to_a_client_with_a_wrong_secret(
    client: FlaskClient, world: AppWorld
) -> None:
    pkce = new_pkce()
    code = code_for(client, world, pkce)

    response = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": pkce.verifier,
        },
        headers=basic_auth(world.client_id, "not-the-secret"),
    )

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert exchange(client, world, code, pkce.verifier).status_code == 200


def test_an_unknown_code_is_refused(client: FlaskClient, world: AppWorld) -> None:
    response = token_request(client, world, code="no-such-code", code_verifier="x" * 43)

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_grant"


# ---- ID token -----------------------------------------------------------------------------------


def _at_hash(access_token: str) -> str:
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def test_the_id_token_is_signed_by_the_active_key_and_carries_the_right_claims(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    signed_in_at = clock.now() - timedelta(minutes=5)
    sign_in_now(client, world.owner, FrozenClock(signed_in_at))

    body = issue_tokens(client, world, nonce="n-abc")

    header = jws.extract_compact(body["id_token"].encode()).protected
    assert header["alg"] == "RS256"
    assert header["kid"] == signing_keys.signing_key(session, clock).kid
    claims = verified_claims(client, body["id_token"])
    discovery = client.get("/.well-known/openid-configuration").get_json()
    assert claims["iss"] == discovery["issuer"]
    assert claims["aud"] == world.client_id
    assert claims["iat"] == int(clock.now().timestamp())
    assert claims["exp"] > claims["iat"]
    assert claims["exp"] - claims["iat"] <= 3600
    assert claims["nonce"] == "n-abc"
    assert claims["at_hash"] == _at_hash(body["access_token"])
    assert claims["auth_time"] == int(signed_in_at.timestamp())
    assert claims["sid"]
    assert claims["sub"]
    assert not {"email", "email_verified", "name", "locale"} & set(claims)
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] > 0


def test_the_subject_is_the_same_in_id_token_userinfo_and_introspection(
    client: FlaskClient, world: AppWorld
) -> None:
    body = issue_tokens(client, world)

    sub = verified_claims(client, body["id_token"])["sub"]

    assert userinfo(client, body["access_token"]).get_json()["sub"] == sub
    assert introspect(client, world, body["access_token"]).get_json()["sub"] == sub
    assert sub not in (str(world.owner.id), world.owner.email)


def test_a_refreshed_id_token_keeps_auth_time_and_sid_and_drops_the_nonce(
    client: FlaskClient, world: AppWorld, clock: FrozenClock
) -> None:
    body = issue_tokens(client, world, nonce="n-first")
    first = verified_claims(client, body["id_token"])
    clock.advance(timedelta(minutes=10))

    refreshed = refresh(client, world, body["refresh_token"])

    assert refreshed.status_code == 200, refreshed.get_json()
    again = verified_claims(client, refreshed.get_json()["id_token"])
    assert again["auth_time"] == first["auth_time"]
    assert again["sid"] == first["sid"]
    assert again["sub"] == first["sub"]
    assert again["iat"] == int(clock.now().timestamp())
    assert again["at_hash"] == _at_hash(refreshed.get_json()["access_token"])
    assert "nonce" not in again


def test_a_token_signed_before_a_key_rotation_still_verifies_and_new_ones_use_the_new_key(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    before = issue_tokens(client, world)["id_token"]
    old_kid = jws.extract_compact(before.encode()).protected["kid"]

    rotation = signing_keys.rotate(session, clock, timedelta(hours=1))
    after = issue_tokens(client, world)["id_token"]

    new_kid = jws.extract_compact(after.encode()).protected["kid"]
    assert new_kid == rotation.active.kid != old_kid
    published = {key["kid"] for key in client.get("/jwks").get_json()["keys"]}
    assert {old_kid, new_kid} <= published
    assert verified_claims(client, before)["aud"] == world.client_id
    assert verified_claims(client, after)["aud"] == world.client_id


# ---- discovery ----------------------------------------------------------------------------------

REQUIRED_DISCOVERY = (
    "issuer",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
    "scopes_supported",
    "token_endpoint_auth_methods_supported",
    "claims_supported",
)


def test_discovery_names_every_required_member_and_only_s256(
    client: FlaskClient, session: Session
) -> None:
    document = client.get("/.well-known/openid-configuration").get_json()

    assert not [name for name in REQUIRED_DISCOVERY if name not in document]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert "openid" in document["scopes_supported"]
    assert document["response_types_supported"] == ["code"]
    assert "RS256" in document["id_token_signing_alg_values_supported"]
    assert not document["issuer"].endswith("/")
    assert urlsplit(document["issuer"]).scheme in ("https", "http")


@pytest.mark.parametrize(
    ("member", "method", "unauthenticated"),
    [
        ("authorization_endpoint", "GET", 400),
        ("token_endpoint", "POST", 400),
        ("userinfo_endpoint", "GET", 401),
        ("jwks_uri", "GET", 200),
        ("revocation_endpoint", "POST", 401),
        ("introspection_endpoint", "POST", 401),
        ("end_session_endpoint", "GET", 200),
    ],
)
def test_every_endpoint_discovery_names_resolves_under_the_issuer(
    client: FlaskClient, session: Session, member: str, method: str, unauthenticated: int
) -> None:
    document = client.get("/.well-known/openid-configuration").get_json()
    url = document[member]
    assert url.startswith(document["issuer"] + "/")

    response = client.open(urlsplit(url).path, method=method)

    assert response.status_code == unauthenticated


# ---- UserInfo -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "present", "absent"),
    [
        ("openid", set(), {"name", "email", "email_verified", "locale"}),
        ("openid profile", {"name"}, {"email", "email_verified"}),
        ("openid email", {"email", "email_verified"}, {"name", "locale"}),
        ("openid profile email", {"name", "email", "email_verified"}, set()),
    ],
)
def test_userinfo_tells_profile_and_email_only_for_their_scopes(
    client: FlaskClient, world: AppWorld, scope: str, present: set[str], absent: set[str]
) -> None:
    body = issue_tokens(client, world, scope=scope)

    info = userinfo(client, body["access_token"])

    assert info.status_code == 200
    claims = info.get_json()
    assert present <= set(claims)
    assert not absent & set(claims)
    assert claims["firm_id"] == world.firm.id
    if "email" in present:
        assert claims["email"] == world.owner.email


def test_userinfo_without_a_token_answers_401_with_a_bearer_challenge(
    client: FlaskClient, session: Session
) -> None:
    response = client.get("/oauth/userinfo")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer not-a-token", "Bearer yat_forged"])
def test_userinfo_with_a_bad_token_answers_invalid_token(
    client: FlaskClient, session: Session, header: str
) -> None:
    response = client.get("/oauth/userinfo", headers={"Authorization": header})

    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.get_json()["error"] == "invalid_token"


def test_userinfo_takes_the_access_token_in_a_posted_form(
    client: FlaskClient, world: AppWorld
) -> None:
    body = issue_tokens(client, world)

    response = client.post("/oauth/userinfo", data={"access_token": body["access_token"]})

    assert response.status_code == 200
    assert response.get_json()["email"] == world.owner.email


def test_userinfo_refuses_an_access_token_after_it_expires(
    client: FlaskClient, world: AppWorld, clock: FrozenClock
) -> None:
    body = issue_tokens(client, world)
    clock.advance(timedelta(seconds=body["expires_in"] + 1))

    response = userinfo(client, body["access_token"])

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"


def test_userinfo_refuses_a_token_given_without_the_openid_scope(
    client: FlaskClient, world: AppWorld
) -> None:
    body = issue_tokens(client, world, scope="profile")

    assert "id_token" not in body
    assert userinfo(client, body["access_token"]).status_code == 401


def test_an_unknown_scope_is_refused_back_to_the_app(client: FlaskClient, world: AppWorld) -> None:
    query = authorize_query(world, new_pkce(), scope="openid admin")

    response = client.get("/oauth/authorize", query_string=query)

    assert _refused_to_redirect(response, query["state"])["error"] == "invalid_scope"


@pytest.mark.parametrize("response_type", ["token", "id_token", "code id_token"])
def test_only_the_code_flow_is_served(
    client: FlaskClient, world: AppWorld, response_type: str
) -> None:
    query = authorize_query(world, new_pkce(), response_type=response_type)

    response = client.get("/oauth/authorize", query_string=query)

    assert _refused_to_redirect(response, query["state"])["error"] == "unsupported_response_type"
