"""A "keep me signed in" cookie: logging out deletes it, and a session it restores must sign
in again before an app is told the user authenticated."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.conftest import FrozenClock
from tests.factories import PASSWORD
from tests.sso.provider_world import authorize_query, make_world, new_pkce, redirect_params

REMEMBER = "remember_token"


def _sign_in_remembered(client: FlaskClient, email: str) -> None:
    answer = client.post("/login", data={"email": email, "password": PASSWORD, "remember": "y"})
    assert answer.status_code == 302
    assert client.get_cookie(REMEMBER) is not None


def _restart_browser(client: FlaskClient) -> None:
    """Lose the session cookie, as closing the browser does, keeping the remember cookie."""
    client.delete_cookie("session")


def test_logging_out_deletes_the_remember_cookie(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    _sign_in_remembered(client, world.owner.email)

    client.post("/logout")
    _restart_browser(client)

    assert client.get_cookie(REMEMBER) is None
    assert client.get("/settings/apps").status_code == 302


def test_an_app_logout_deletes_the_remember_cookie_too(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    _sign_in_remembered(client, world.owner.email)
    page = client.get("/oauth/logout")
    token = page.get_data(as_text=True).split('name="csrf_token" value="')[1].split('"')[0]

    client.post("/oauth/logout", data={"csrf_token": token, "confirm": "yes"})

    assert client.get_cookie(REMEMBER) is None


def test_a_restored_session_signs_in_again_before_an_app_gets_a_code(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    _sign_in_remembered(client, world.owner.email)
    _restart_browser(client)
    query = authorize_query(world, new_pkce())

    asked = client.get("/oauth/authorize", query_string=query)

    assert asked.status_code == 302
    login = urlsplit(asked.headers["Location"])
    assert login.path == "/login"
    args = {k: v[0] for k, v in parse_qs(login.query).items()}
    assert args["again"] == "1"
    assert client.get("/login", query_string=args).status_code == 200  # no redirect loop
    signed = client.post(
        "/login", data={"email": world.owner.email, "password": PASSWORD, "next": args["next"]}
    )
    consent = client.get(signed.headers["Location"])
    assert consent.status_code == 200
    assert 'id="consent-form"' in consent.get_data(as_text=True)
    assert "code" not in redirect_params(signed.headers["Location"])
