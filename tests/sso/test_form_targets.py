"""Sign-in, consent and logout pages name, in form-action, only the app the flow goes to."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.security import origin_of
from tests.conftest import FrozenClock
from tests.sso.provider_world import (
    authorize_query,
    make_world,
    new_pkce,
    sign_in_now,
)


def _form_action(response: object) -> str:
    policy = response.headers["Content-Security-Policy"]  # type: ignore[attr-defined]
    return next(p.strip() for p in policy.split(";") if p.strip().startswith("form-action"))


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://app.example/cb?x=1", "https://app.example"),
        ("http://127.0.0.1:5001/callback", "http://127.0.0.1:5001"),
        ("http://[::1]:8080/x", "http://[::1]:8080"),
        ("javascript:alert(1)", None),
        ("https://user:pw@app.example/", None),
        ("https://app.example;script-src */", None),
        ("/relative/path", None),
    ],
)
def test_only_a_plain_http_origin_is_ever_named(url: str, origin: str | None) -> None:
    assert origin_of(url) == origin


def test_the_consent_page_lets_its_form_lead_to_the_apps_redirect_uri(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in_now(client, world.owner, clock)

    page = client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce()))

    assert 'id="consent-form"' in page.get_data(as_text=True)
    assert _form_action(page) == "form-action 'self' https://app.example"


def test_the_sign_in_page_names_the_app_its_next_authorization_goes_to(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    authorize = "/oauth/authorize?" + urlencode(authorize_query(world, new_pkce()))

    page = client.get("/login", query_string={"next": authorize})

    assert _form_action(page) == "form-action 'self' https://app.example"


def test_an_unregistered_redirect_uri_in_next_names_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    query = authorize_query(world, new_pkce(), redirect_uri="https://evil.example/cb")

    page = client.get("/login", query_string={"next": "/oauth/authorize?" + urlencode(query)})

    assert _form_action(page) == "form-action 'self'"


def test_open_app_as_next_names_the_app_to_a_member_of_the_firm(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in_now(client, world.member, clock)
    next_url = f"/subscriptions/{world.subscription.id}/open"

    page = client.get("/login", query_string={"next": next_url, "again": "1"})

    assert _form_action(page) == "form-action 'self' https://app.example"


def test_open_app_as_next_tells_an_outsider_nothing_of_the_subscription(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    outsider = make_world(session, clock).owner
    next_url = f"/subscriptions/{world.subscription.id}/open"

    anonymous = client.get("/login", query_string={"next": next_url})
    sign_in_now(client, outsider, clock)
    other = client.get("/login", query_string={"next": next_url, "again": "1"})

    assert _form_action(anonymous) == "form-action 'self'"
    assert _form_action(other) == "form-action 'self'"


@pytest.mark.parametrize("next_url", ["", "/", "https://app.example/x", "/no/such/page"])
def test_other_sign_ins_keep_form_action_to_this_site(client: FlaskClient, next_url: str) -> None:
    page = client.get("/login", query_string={"next": next_url})

    assert _form_action(page) == "form-action 'self'"


def test_the_consent_page_may_show_the_apps_logo_and_no_other_image_origin(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    world.app_client.logo_url = "https://cdn.app.example/logo.png"
    session.commit()
    sign_in_now(client, world.owner, clock)

    page = client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce()))
    policy = page.headers["Content-Security-Policy"]

    assert "img-src 'self' data: https://cdn.app.example;" in policy
    assert client.get("/login").headers["Content-Security-Policy"].count("cdn.app.example") == 0
