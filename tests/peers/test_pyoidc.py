"""A relying party built on PyPI oic (pyoidc) signs users in through the provider under gunicorn.

pyoidc reads the discovery document and the JWKS, sends a code request with PKCE S256 and a
nonce, parses the callback, exchanges the code with client_secret_basic and verifies the ID
token (signature against the published keys, iss, aud, exp, nonce). The client is registered
by hand with the id and secret the marketplace issued.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

import pytest
from jwkest import BadSignature
from oic import rndstr
from oic.oauth2.grant import Token
from oic.oauth2.message import ErrorResponse
from oic.oic import Client
from oic.oic.message import (
    AccessTokenResponse,
    AuthorizationErrorResponse,
    AuthorizationResponse,
    IdToken,
    OpenIDSchema,
    RegistrationResponse,
)
from oic.utils.authn.client import CLIENT_AUTHN_METHOD

from tests.peers.conftest import EntitledUser, UserAgent

SCOPE = ["openid", "profile", "email"]


@dataclass(frozen=True)
class SignIn:
    """What the relying party keeps of one authorization: its state, nonce and verifier."""

    state: str
    nonce: str
    code_verifier: str
    callback: str


def new_client(user: EntitledUser, auth_method: str = "client_secret_basic") -> Client:
    """Make a pyoidc client that discovered the provider and was registered by hand."""
    client = Client(client_authn_method=CLIENT_AUTHN_METHOD)
    client.provider_config(user.issuer)
    client.store_registration_info(
        RegistrationResponse(
            client_id=user.client_id,
            client_secret=user.client_secret,
            redirect_uris=[user.redirect_uri],
            token_endpoint_auth_method=auth_method,
        )
    )
    client.redirect_uris = [user.redirect_uri]
    return client


def authorize(
    client: Client, agent: UserAgent, user: EntitledUser, decision: str = "allow"
) -> SignIn:
    """Send the user through a PKCE authorization request; return what the RP kept."""
    challenge, verifier = client.add_code_challenge()
    state, nonce = rndstr(24), rndstr(24)
    request = client.construct_AuthorizationRequest(
        request_args={
            "client_id": client.client_id,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": user.redirect_uri,
            "state": state,
            "nonce": nonce,
            **challenge,
        }
    )
    url = request.request(client.authorization_endpoint)
    callback = agent.visit(url, email=user.email, password=user.password, decision=decision)
    return SignIn(state, nonce, verifier, callback)


def exchange(client: Client, sign_in: SignIn, auth_method: str = "client_secret_basic") -> Any:
    """Parse the callback and exchange its code for tokens."""
    response = client.parse_response(
        AuthorizationResponse, info=urlsplit(sign_in.callback).query, sformat="urlencoded"
    )
    assert isinstance(response, AuthorizationResponse), response
    assert response["state"] == sign_in.state
    return client.do_access_token_request(
        state=sign_in.state,
        request_args={
            "code": response["code"],
            "redirect_uri": sign_in.callback.split("?")[0],
            "code_verifier": sign_in.code_verifier,
        },
        authn_method=auth_method,
    )


def at_hash(access_token: str) -> str:
    """Return the at_hash an RS256 ID token must carry for an access token."""
    half = hashlib.sha256(access_token.encode()).digest()[:16]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode()


@pytest.fixture
def signed_in(
    user_agent: UserAgent, entitled_user: EntitledUser
) -> tuple[Client, SignIn, AccessTokenResponse]:
    """Sign the entitled user in to a pyoidc client; return it, the request and the tokens."""
    client = new_client(entitled_user)
    sign_in = authorize(client, user_agent, entitled_user)
    tokens = exchange(client, sign_in)
    assert isinstance(tokens, AccessTokenResponse), tokens
    return client, sign_in, tokens


def test_provider_config_sets_the_endpoints_and_loads_the_signing_keys(
    entitled_user: EntitledUser,
) -> None:
    client = new_client(entitled_user)

    assert client.provider_info["issuer"] == entitled_user.issuer
    assert client.token_endpoint == entitled_user.issuer + "/oauth/token"
    assert client.userinfo_endpoint == entitled_user.issuer + "/oauth/userinfo"
    keys = client.keyjar.get_verify_key("RSA", owner=entitled_user.issuer)
    assert keys and all(key.kid for key in keys)


def test_code_flow_with_pkce_gives_an_id_token_pyoidc_verifies(
    signed_in: tuple[Client, SignIn, AccessTokenResponse], entitled_user: EntitledUser
) -> None:
    _client, sign_in, tokens = signed_in

    id_token = tokens["id_token"]
    assert isinstance(id_token, IdToken)  # oic replaced the JWT by the verified claims
    assert id_token["iss"] == entitled_user.issuer
    assert id_token["aud"] == [entitled_user.client_id]
    assert id_token["nonce"] == sign_in.nonce
    assert id_token["at_hash"] == at_hash(tokens["access_token"])
    assert id_token.jws_header["alg"] == "RS256"
    assert tokens["refresh_token"]


def test_userinfo_answers_for_the_id_tokens_subject(
    signed_in: tuple[Client, SignIn, AccessTokenResponse], entitled_user: EntitledUser
) -> None:
    client, sign_in, tokens = signed_in

    info = client.do_user_info_request(state=sign_in.state)

    assert isinstance(info, OpenIDSchema), info
    assert info["sub"] == tokens["id_token"]["sub"]
    assert info["email"] == entitled_user.email
    assert info["name"] == entitled_user.display_name
    assert (info["firm_id"], info["firm_name"]) == (entitled_user.firm_id, entitled_user.firm_name)
    assert tokens["id_token"]["subscription_id"] == entitled_user.subscription_id


def test_refresh_gives_a_new_pair_and_the_old_refresh_token_is_refused(
    signed_in: tuple[Client, SignIn, AccessTokenResponse],
) -> None:
    client, sign_in, tokens = signed_in

    refreshed = client.do_access_token_refresh(
        state=sign_in.state, authn_method="client_secret_basic"
    )

    assert isinstance(refreshed, AccessTokenResponse), refreshed
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["id_token"]["sub"] == tokens["id_token"]["sub"]
    info = client.do_user_info_request(state=sign_in.state, token=refreshed["access_token"])
    assert info["sub"] == tokens["id_token"]["sub"]

    # pyoidc refreshes with the newest token it holds; hand it the first one to replay.
    replayed = client.do_access_token_refresh(
        state=sign_in.state, token=Token(tokens), authn_method="client_secret_basic"
    )
    assert isinstance(replayed, ErrorResponse)
    assert replayed["error"] == "invalid_grant"
    after_replay = client.do_user_info_request(state=sign_in.state, token=refreshed["access_token"])
    assert isinstance(after_replay, ErrorResponse)
    assert after_replay["error"] == "invalid_token"


def test_a_wrong_code_verifier_is_refused_as_invalid_grant(
    user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    client = new_client(entitled_user)
    sign_in = authorize(client, user_agent, entitled_user)
    _other_challenge, other_verifier = client.add_code_challenge()

    refused = exchange(client, replace(sign_in, code_verifier=other_verifier))

    assert isinstance(refused, ErrorResponse), refused
    assert refused["error"] == "invalid_grant"


def test_client_secret_post_is_accepted_at_the_token_endpoint(
    user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    client = new_client(entitled_user, "client_secret_post")
    sign_in = authorize(client, user_agent, entitled_user)

    tokens = exchange(client, sign_in, "client_secret_post")

    assert isinstance(tokens, AccessTokenResponse), tokens
    assert tokens["id_token"]["aud"] == [entitled_user.client_id]


def test_an_id_token_with_a_broken_signature_is_refused_by_pyoidc(
    user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    client = new_client(entitled_user)
    sign_in = authorize(client, user_agent, entitled_user)
    raw = client.http_request(
        client.token_endpoint,
        "POST",
        data={
            "grant_type": "authorization_code",
            "code": client.parse_response(
                AuthorizationResponse,
                info=urlsplit(sign_in.callback).query,
                sformat="urlencoded",
            )["code"],
            "redirect_uri": entitled_user.redirect_uri,
            "code_verifier": sign_in.code_verifier,
        },
        auth=(entitled_user.client_id, entitled_user.client_secret),
    ).json()
    header, payload, signature = raw["id_token"].split(".")
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]

    # The untouched token passes the same verification, so only the signature fails below.
    client.parse_response(AccessTokenResponse, info=json.dumps(raw), state=sign_in.state)
    with pytest.raises(BadSignature):
        client.parse_response(
            AccessTokenResponse,
            info=json.dumps({**raw, "id_token": f"{header}.{payload}.{flipped}"}),
            state=sign_in.state,
        )


def test_denying_consent_returns_access_denied_with_the_state(
    user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    client = new_client(entitled_user)

    sign_in = authorize(client, user_agent, entitled_user, decision="deny")

    response = client.parse_response(
        AuthorizationResponse, info=urlsplit(sign_in.callback).query, sformat="urlencoded"
    )
    assert isinstance(response, AuthorizationErrorResponse), response
    assert response["error"] == "access_denied"
    assert response["state"] == sign_in.state
