"""RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0) at /oauth/logout."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.accounts.access import SESSION_ID_KEY
from marketplace.clock import FrozenClock
from sso.provider.models import Grant
from tests.sso.provider_world import (
    POST_LOGOUT_URI,
    AppWorld,
    csrf_token,
    issue_tokens,
    make_app,
    redirect_params,
    sign_in_now,
    userinfo,
)


def _signed_in(client: FlaskClient) -> bool:
    with client.session_transaction() as browser:
        return "_user_id" in browser


def _grants(session: Session, world: AppWorld) -> list[Grant]:
    session.expire_all()
    query = sa.select(Grant).where(Grant.user_id == world.owner.id).order_by(Grant.id)
    return list(session.scalars(query))


def test_logout_with_an_id_token_hint_redirects_with_state_and_ends_the_sign_in(
    client: FlaskClient, session: Session, world: AppWorld
) -> None:
    body = issue_tokens(client, world)

    response = client.get(
        "/oauth/logout",
        query_string={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": POST_LOGOUT_URI,
            "state": "bye-1",
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"].startswith(POST_LOGOUT_URI + "?")
    assert redirect_params(response.headers["Location"]) == {"state": "bye-1"}
    assert not _signed_in(client)
    assert userinfo(client, body["access_token"]).status_code == 401
    [grant] = _grants(session, world)
    assert grant.revoked_reason == "logged_out"


def test_logout_leaves_the_users_sign_ins_of_other_sessions(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld, app: Any
) -> None:
    elsewhere = app.test_client()
    sign_in_now(elsewhere, world.owner, clock)
    kept = issue_tokens(elsewhere, world)
    body = issue_tokens(client, world)

    client.get("/oauth/logout", query_string={"id_token_hint": body["id_token"]})

    assert userinfo(client, body["access_token"]).status_code == 401
    assert userinfo(client, kept["access_token"]).status_code == 200


def test_logout_with_an_unregistered_post_logout_uri_does_not_redirect(
    client: FlaskClient, world: AppWorld
) -> None:
    body = issue_tokens(client, world)

    response = client.get(
        "/oauth/logout",
        query_string={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": "https://evil.example/bye",
            "state": "s",
        },
    )

    assert response.status_code == 200
    assert "Location" not in response.headers
    assert 'id="logged-out"' in response.get_data(as_text=True)
    assert not _signed_in(client)


def test_logout_does_not_redirect_to_another_apps_post_logout_uri(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    body = issue_tokens(client, world)
    _vendor, _listing, _plan, other, _secret = make_app(session, clock)

    response = client.get(
        "/oauth/logout",
        query_string={
            "id_token_hint": body["id_token"],
            "client_id": other.client_id,
            "post_logout_redirect_uri": POST_LOGOUT_URI,
        },
    )

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert _signed_in(client)


def test_logout_with_a_forged_id_token_hint_shows_an_error_and_keeps_the_session(
    client: FlaskClient, world: AppWorld
) -> None:
    body = issue_tokens(client, world)
    head, payload, signature = body["id_token"].split(".")
    forged = ".".join((head, payload, signature[::-1]))

    response = client.get(
        "/oauth/logout",
        query_string={"id_token_hint": forged, "post_logout_redirect_uri": POST_LOGOUT_URI},
    )

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert _signed_in(client)
    assert userinfo(client, body["access_token"]).status_code == 200


def test_logout_without_a_hint_asks_first_and_changes_nothing(
    client: FlaskClient, world: AppWorld
) -> None:
    body = issue_tokens(client, world)

    response = client.get(
        "/oauth/logout",
        query_string={"post_logout_redirect_uri": POST_LOGOUT_URI, "client_id": world.client_id},
    )

    assert response.status_code == 200
    assert 'id="logout-form"' in response.get_data(as_text=True)
    assert _signed_in(client)
    assert userinfo(client, body["access_token"]).status_code == 200


def test_confirming_the_logout_ends_the_session_and_its_sign_ins(
    client: FlaskClient, session: Session, world: AppWorld
) -> None:
    body = issue_tokens(client, world)
    page = client.get("/oauth/logout")

    response = client.post(
        "/oauth/logout",
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "confirm": "yes"},
    )

    assert response.status_code == 200
    assert 'id="logged-out"' in response.get_data(as_text=True)
    assert not _signed_in(client)
    assert userinfo(client, body["access_token"]).status_code == 401
    assert [g.revoked_reason for g in _grants(session, world)] == ["logged_out"]


@pytest.mark.parametrize("token", [None, "forged"])
def test_confirming_the_logout_needs_the_forms_csrf_token(
    client: FlaskClient, world: AppWorld, token: str | None
) -> None:
    body = issue_tokens(client, world)
    client.get("/oauth/logout")
    data = {"confirm": "yes"}
    if token:
        data["csrf_token"] = token

    response = client.post("/oauth/logout", data=data)

    assert response.status_code == 400
    assert _signed_in(client)
    assert userinfo(client, body["access_token"]).status_code == 200


def test_a_hint_from_an_earlier_session_asks_before_logging_out(
    client: FlaskClient, clock: FrozenClock, world: AppWorld
) -> None:
    old = issue_tokens(client, world)
    sign_in_now(client, world.owner, clock)  # a new sign-in: another session id
    current = issue_tokens(client, world)

    response = client.get(
        "/oauth/logout",
        query_string={
            "id_token_hint": old["id_token"],
            "post_logout_redirect_uri": POST_LOGOUT_URI,
        },
    )

    assert response.status_code == 200
    assert 'id="logout-form"' in response.get_data(as_text=True)
    assert _signed_in(client)
    assert userinfo(client, current["access_token"]).status_code == 200


def test_a_hint_of_another_user_asks_before_logging_out(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    from billing.services.seats import assign_seat
    from tests.sso.provider_world import ACTOR

    assign_seat(session, clock, ACTOR, world.subscription, world.member.id)
    sign_in_now(client, world.member, clock)
    members = issue_tokens(client, world)
    sign_in_now(client, world.owner, clock)

    response = client.get("/oauth/logout", query_string={"id_token_hint": members["id_token"]})

    assert response.status_code == 200
    assert 'id="logout-form"' in response.get_data(as_text=True)
    assert _signed_in(client)


def test_logout_when_already_signed_out_still_redirects_with_a_hint(
    client: FlaskClient, world: AppWorld
) -> None:
    body = issue_tokens(client, world)
    with client.session_transaction() as browser:
        browser.clear()

    response = client.get(
        "/oauth/logout",
        query_string={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": POST_LOGOUT_URI,
        },
    )

    assert response.status_code == 302
    assert response.headers["Location"] == POST_LOGOUT_URI


def test_logout_keeps_no_session_id_behind(client: FlaskClient, world: AppWorld) -> None:
    body = issue_tokens(client, world)

    client.get("/oauth/logout", query_string={"id_token_hint": body["id_token"]})

    with client.session_transaction() as browser:
        assert SESSION_ID_KEY not in browser
