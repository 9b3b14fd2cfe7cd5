"""A relying party built on npm openid-client signs users in through the provider under gunicorn.

openid-client discovers the provider, sends a code request with PKCE S256, a nonce and a
state, and on the callback checks the state, exchanges the code and verifies the ID token
(signature against /jwks, iss, aud, nonce, exp). The Python side is the user's browser.
"""

from __future__ import annotations

import base64
import hashlib
import json
import select
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.peers.conftest import EntitledUser, PeerServer, UserAgent
from tests.peers.npm import ensure_node_modules

HERE = Path(__file__).resolve().parent
DRIVER = HERE / "openid_client_rp.mjs"
ANSWER_TIMEOUT = 30


class Refused(Exception):
    """The relying party's library refused a step; args[0] describes the error."""

    @property
    def error(self) -> dict[str, Any]:
        """Return the library's description of the error."""
        described: dict[str, Any] = self.args[0]
        return described

    @property
    def oauth_error(self) -> str | None:
        """Return the OAuth error code, from the body or a WWW-Authenticate challenge."""
        if "error" in self.error:
            return str(self.error["error"])
        challenges = self.error.get("cause") or [{}]
        code = challenges[0].get("parameters", {}).get("error")
        return str(code) if code else None


class OpenIdClientRp:
    """The openid-client driver process, one JSON line per command and answer."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", str(DRIVER)],
            cwd=HERE,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def __call__(self, cmd: str, **arguments: Any) -> dict[str, Any]:
        """Run one command; return its result or raise Refused with the library's error."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"cmd": cmd, **arguments}) + "\n")
        self.process.stdin.flush()
        ready, _, _ = select.select([self.process.stdout], [], [], ANSWER_TIMEOUT)
        line = self.process.stdout.readline() if ready else ""
        if not line:
            self.process.kill()
            _, stderr = self.process.communicate(timeout=5)
            raise AssertionError(f"the driver gave no answer to {cmd}: {stderr[-2000:]}")
        answer: dict[str, Any] = json.loads(line)
        if not answer.pop("ok"):
            raise Refused(answer["error"])
        return answer

    def close(self) -> None:
        """End the driver by closing its input."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def node_modules() -> None:
    """Install the pinned npm packages once."""
    ensure_node_modules()


@pytest.fixture
def rp(node_modules: None) -> Iterator[OpenIdClientRp]:
    """Start a fresh relying party."""
    driver = OpenIdClientRp()
    yield driver
    driver.close()


def discover(
    rp: OpenIdClientRp, user: EntitledUser, auth_method: str = "client_secret_basic"
) -> dict[str, Any]:
    """Point the relying party at the provider with the app's client; return the metadata."""
    answer = rp(
        "discover",
        issuer=user.issuer,
        client_id=user.client_id,
        client_secret=user.client_secret,
        auth_method=auth_method,
    )
    metadata: dict[str, Any] = answer["metadata"]
    return metadata


def authorize(
    rp: OpenIdClientRp, agent: UserAgent, user: EntitledUser
) -> tuple[str, dict[str, Any]]:
    """Send the user through an authorization; return the callback URL and the request sent."""
    request = rp("authorization_url", redirect_uri=user.redirect_uri)
    callback = agent.visit(request["url"], email=user.email, password=user.password)
    return callback, request


def sign_in(rp: OpenIdClientRp, agent: UserAgent, user: EntitledUser) -> dict[str, Any]:
    """Discover, authorize and exchange the code; return the tokens and ID token claims."""
    discover(rp, user)
    callback, _ = authorize(rp, agent, user)
    return rp("callback", url=callback)


def at_hash(access_token: str) -> str:
    """Return the at_hash an RS256 ID token must carry for an access token."""
    half = hashlib.sha256(access_token.encode()).digest()[:16]
    return base64.urlsafe_b64encode(half).rstrip(b"=").decode()


def query_of(url: str) -> dict[str, str]:
    """Return the query parameters of a URL."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def test_discovery_names_the_gunicorn_address_as_issuer_and_every_endpoint_under_it(
    rp: OpenIdClientRp, entitled_user: EntitledUser
) -> None:
    metadata = discover(rp, entitled_user)

    assert metadata["issuer"] == entitled_user.issuer
    for name in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
    ):
        assert metadata[name].startswith(entitled_user.issuer + "/"), name
    assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_code_flow_with_pkce_gives_an_id_token_the_library_verifies(
    rp: OpenIdClientRp, user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    discover(rp, entitled_user)
    callback, request = authorize(rp, user_agent, entitled_user)

    assert callback.startswith(entitled_user.redirect_uri + "?")
    assert query_of(callback)["state"] == request["state"]
    assert user_agent.consents_given == 1
    tokens = rp("callback", url=callback)

    claims = tokens["claims"]
    assert claims["iss"] == entitled_user.issuer
    assert claims["aud"] == entitled_user.client_id
    assert claims["nonce"] == request["nonce"]
    assert claims["at_hash"] == at_hash(tokens["access_token"])
    assert claims["sub"] and claims["sid"] and claims["auth_time"] <= claims["iat"]
    assert tokens["token_type"].lower() == "bearer"
    assert tokens["refresh_token"]


def test_userinfo_answers_for_the_id_tokens_subject(
    rp: OpenIdClientRp, user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    tokens = sign_in(rp, user_agent, entitled_user)

    info = rp("userinfo", access_token=tokens["access_token"], sub=tokens["claims"]["sub"])

    assert info["claims"]["sub"] == tokens["claims"]["sub"]
    assert info["claims"]["email"] == entitled_user.email
    assert info["claims"]["name"] == entitled_user.display_name
    firm = {k: info["claims"][k] for k in ("firm_id", "firm_name", "subscription_id")}
    assert firm == {
        "firm_id": entitled_user.firm_id,
        "firm_name": entitled_user.firm_name,
        "subscription_id": entitled_user.subscription_id,
    }


def test_a_second_sign_in_asks_no_consent_and_no_password(
    rp: OpenIdClientRp, user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    first = sign_in(rp, user_agent, entitled_user)

    request = rp("authorization_url", redirect_uri=entitled_user.redirect_uri)
    callback = user_agent.visit(request["url"], decision=None)
    second = rp("callback", url=callback)

    assert user_agent.consents_given == 1
    assert second["claims"]["sub"] == first["claims"]["sub"]
    assert second["claims"]["sid"] == first["claims"]["sid"]
    assert second["access_token"] != first["access_token"]


def test_silent_authentication_without_a_session_answers_login_required_to_the_rp(
    rp: OpenIdClientRp, user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    discover(rp, entitled_user)
    request = rp(
        "authorization_url", redirect_uri=entitled_user.redirect_uri, extra={"prompt": "none"}
    )

    callback = user_agent.visit(request["url"], decision=None)

    assert callback.startswith(entitled_user.redirect_uri + "?")
    assert query_of(callback)["error"] == "login_required"
    with pytest.raises(Refused) as refused:
        rp("callback", url=callback)
    assert refused.value.oauth_error == "login_required"


def test_client_secret_post_is_accepted_at_the_token_endpoint(
    rp: OpenIdClientRp, user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    discover(rp, entitled_user, auth_method="client_secret_post")
    callback, _ = authorize(rp, user_agent, entitled_user)

    tokens = rp("callback", url=callback)

    assert tokens["claims"]["aud"] == entitled_user.client_id


def test_a_wrong_client_secret_is_refused_as_invalid_client(
    rp: OpenIdClientRp, user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    discover(rp, entitled_user)
    callback, _ = authorize(rp, user_agent, entitled_user)
    rp(
        "discover",
        issuer=entitled_user.issuer,
        client_id=entitled_user.client_id,
        client_secret=entitled_user.client_secret + "x",
    )

    with pytest.raises(Refused) as refused:
        rp("callback", url=callback)

    assert refused.value.oauth_error == "invalid_client"
    assert refused.value.error["status"] == 401


def test_a_code_presented_twice_is_refused_the_second_time(
    rp: OpenIdClientRp, user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    discover(rp, entitled_user)
    callback, _ = authorize(rp, user_agent, entitled_user)
    first = rp("callback", url=callback)

    with pytest.raises(Refused) as refused:
        rp("callback", url=callback)

    assert refused.value.oauth_error == "invalid_grant"
    with pytest.raises(Refused) as userinfo:
        rp("userinfo", access_token=first["access_token"], sub=first["claims"]["sub"])
    assert userinfo.value.oauth_error == "invalid_token"


def test_refresh_rotates_and_replaying_the_old_token_ends_the_grant(
    rp: OpenIdClientRp, user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    tokens = sign_in(rp, user_agent, entitled_user)
    sub = tokens["claims"]["sub"]

    refreshed = rp("refresh", refresh_token=tokens["refresh_token"])

    assert refreshed["refresh_token"] and refreshed["refresh_token"] != tokens["refresh_token"]
    assert refreshed["access_token"] != tokens["access_token"]
    assert refreshed["claims"]["sub"] == sub
    assert refreshed["claims"]["auth_time"] == tokens["claims"]["auth_time"]
    assert rp("userinfo", access_token=refreshed["access_token"], sub=sub)["claims"]["sub"] == sub

    with pytest.raises(Refused) as replayed:
        rp("refresh", refresh_token=tokens["refresh_token"])
    assert replayed.value.oauth_error == "invalid_grant"

    with pytest.raises(Refused) as userinfo:
        rp("userinfo", access_token=refreshed["access_token"], sub=sub)
    assert (userinfo.value.error["status"], userinfo.value.oauth_error) == (401, "invalid_token")
    with pytest.raises(Refused) as newest:
        rp("refresh", refresh_token=refreshed["refresh_token"])
    assert newest.value.oauth_error == "invalid_grant"


def test_a_revoked_access_token_introspects_as_inactive_and_its_refresh_token_lives(
    rp: OpenIdClientRp, user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    tokens = sign_in(rp, user_agent, entitled_user)
    live = rp("introspect", token=tokens["access_token"])["introspection"]
    assert live["active"] is True
    assert live["client_id"] == entitled_user.client_id
    assert live["sub"] == tokens["claims"]["sub"]

    rp("revoke", token=tokens["access_token"], hint="access_token")

    assert rp("introspect", token=tokens["access_token"])["introspection"] == {"active": False}
    refresh = rp("introspect", token=tokens["refresh_token"], hint="refresh_token")
    assert refresh["introspection"]["active"] is True


def test_a_revoked_refresh_token_takes_its_access_token_with_it(
    rp: OpenIdClientRp, user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    tokens = sign_in(rp, user_agent, entitled_user)

    rp("revoke", token=tokens["refresh_token"], hint="refresh_token")

    for token in (tokens["refresh_token"], tokens["access_token"]):
        assert rp("introspect", token=token)["introspection"] == {"active": False}
    with pytest.raises(Refused) as refused:
        rp("refresh", refresh_token=tokens["refresh_token"])
    assert refused.value.oauth_error == "invalid_grant"


def test_revoking_an_unknown_token_succeeds_and_it_introspects_as_inactive(
    rp: OpenIdClientRp, entitled_user: EntitledUser
) -> None:
    discover(rp, entitled_user)

    rp("revoke", token="not-a-token-we-issued")

    assert rp("introspect", token="not-a-token-we-issued")["introspection"] == {"active": False}


def test_rp_initiated_logout_returns_with_state_and_ends_the_session(
    rp: OpenIdClientRp,
    user_agent: UserAgent,
    entitled_user: EntitledUser,
    peer_server: PeerServer,
) -> None:
    tokens = sign_in(rp, user_agent, entitled_user)
    assert user_agent.is_signed_in()
    logout = rp(
        "end_session_url",
        id_token_hint=tokens["id_token"],
        post_logout_redirect_uri=entitled_user.post_logout_redirect_uri,
        state="bye-123",
    )
    assert logout["url"].startswith(peer_server.url + "/oauth/logout?")

    landed = user_agent.visit(logout["url"], decision=None)

    assert landed == entitled_user.post_logout_redirect_uri + "?state=bye-123"
    assert not user_agent.is_signed_in()
    with pytest.raises(Refused) as refused:
        rp("userinfo", access_token=tokens["access_token"], sub=tokens["claims"]["sub"])
    assert (refused.value.error["status"], refused.value.oauth_error) == (401, "invalid_token")
    again = rp("authorization_url", redirect_uri=entitled_user.redirect_uri)
    assert urlsplit(user_agent.get(again["url"]).headers["Location"]).path == "/login"


def test_logout_to_an_unregistered_address_ends_the_session_without_redirecting(
    rp: OpenIdClientRp, user_agent: UserAgent, entitled_user: EntitledUser
) -> None:
    tokens = sign_in(rp, user_agent, entitled_user)
    logout = rp(
        "end_session_url",
        id_token_hint=tokens["id_token"],
        post_logout_redirect_uri="https://elsewhere.example/bye",
        state="bye-456",
    )

    page = user_agent.get(logout["url"])

    assert page.status_code == 200
    assert 'href="https://elsewhere.example' not in page.text
    assert not user_agent.is_signed_in()
