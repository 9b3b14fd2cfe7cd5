"""Hostile and unusual requests at the provider: each answered as the specifications say,
never with a server error, and never leaking one app's view of a user to another."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.services.seats import assign_seat
from billing.services.subscriptions import subscribe
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from sso.provider.consent import approve_for_firm, withdraw_firm_approval
from sso.provider.models import Grant
from tests.sso.conftest import make_client, make_vendor
from tests.sso.provider_world import (
    REDIRECT_URI,
    AppWorld,
    authorize_query,
    csrf_token,
    issue_tokens,
    make_app,
    make_world,
    new_pkce,
    redirect_params,
    sign_in_now,
    userinfo,
    verified_claims,
)

SCOPE = "openid profile email"


def test_an_authorization_request_sent_by_post_completes_its_consent(
    client: FlaskClient, world: AppWorld
) -> None:
    query = authorize_query(world, new_pkce())

    page = client.post("/oauth/authorize", data=query)
    html = page.get_data(as_text=True)
    assert 'id="consent-form"' in html
    hidden = {"csrf_token": csrf_token(html), "decision": "allow", **query}
    answer = client.post("/oauth/authorize", data=hidden)

    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    params = redirect_params(answer.headers["Location"])
    assert answer.headers["Location"].startswith(REDIRECT_URI)
    assert params["state"] == query["state"] and "code" in params


def test_a_nonce_longer_than_kept_is_refused_to_the_app(
    client: FlaskClient, world: AppWorld
) -> None:
    query = authorize_query(world, new_pkce(), nonce="n" * 300)

    answer = client.get("/oauth/authorize", query_string=query)

    assert answer.status_code == 302
    params = redirect_params(answer.headers["Location"])
    assert params["error"] == "invalid_request" and params["state"] == query["state"]


@pytest.mark.parametrize("client_id", ["\x00", "ysa_\x00", "ys_" + "x" * 70, "ysa_ü"])
def test_a_malformed_client_id_is_an_error_page_not_a_crash(
    client: FlaskClient, world: AppWorld, client_id: str
) -> None:
    query = authorize_query(world, new_pkce(), client_id=client_id)

    answer = client.get("/oauth/authorize", query_string=query)

    assert answer.status_code == 400
    assert "Location" not in answer.headers
    assert client.get("/oauth/logout", query_string={"client_id": client_id}).status_code == 400


def test_logout_naming_an_api_client_is_refused(client: FlaskClient, world: AppWorld) -> None:
    api_client = make_client(make_vendor()).client.client_id

    answer = client.get(
        "/oauth/logout",
        query_string={"client_id": api_client, "post_logout_redirect_uri": "https://x.example/"},
    )

    assert answer.status_code == 400
    assert "Location" not in answer.headers


def test_each_app_sees_its_own_sid_and_sub_for_one_sign_in(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    _vendor, listing, plan, app_client, secret = make_app(session, clock)
    other_sub = subscribe(session, clock, Actor(None), world.firm.id, plan.id, seats=1)
    assign_seat(session, clock, Actor(None), other_sub, world.owner.id)
    other = AppWorld(
        _vendor, listing, plan, app_client, secret, world.firm, world.owner, world.member, other_sub
    )

    first = verified_claims(client, issue_tokens(client, world)["id_token"])
    second = verified_claims(client, issue_tokens(client, other)["id_token"])

    assert first["sid"] != second["sid"]
    assert first["sub"] != second["sub"]
    assert first["auth_time"] == second["auth_time"]


def test_an_unconfirmed_user_cannot_open_an_app(
    client: FlaskClient, session: Session, world: AppWorld
) -> None:
    world.owner.email_confirmed_at = None
    session.commit()
    query = authorize_query(world, new_pkce())

    page = client.get("/oauth/authorize", query_string=query)
    silent = client.get("/oauth/authorize", query_string={**query, "prompt": "none"})

    assert page.status_code == 403
    assert "Location" not in page.headers
    assert redirect_params(silent.headers["Location"])["error"] == "interaction_required"


def test_withdrawing_a_firm_approval_ends_the_sign_ins_resting_on_it(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    actor = Actor(world.owner.id, world.firm.id)
    approve_for_firm(session, clock, actor, world.firm.id, world.app_client.id, SCOPE)
    sign_in_now(client, world.owner, clock)
    access_token = issue_tokens(client, world)["access_token"]
    assert userinfo(client, access_token).status_code == 200

    assert withdraw_firm_approval(session, clock, actor, world.firm.id, world.app_client.id)

    assert userinfo(client, access_token).status_code == 401
    reasons = [g.revoked_reason for g in session.query(Grant).filter_by(user_id=world.owner.id)]
    assert reasons == ["firm_approval_withdrawn"]


@pytest.mark.parametrize(
    "path",
    [
        "/subscriptions/99999999999999999999/open",
        "/settings/apps/99999999999999999999/withdraw",
        "/orgs/99999999999999999999/apps",
        "/login?again=1&next=/subscriptions/99999999999999999999/open",
    ],
)
def test_an_id_too_large_for_any_row_is_not_found_not_a_crash(
    client: FlaskClient, world: AppWorld, path: str
) -> None:
    method = client.post if path.endswith("withdraw") else client.get
    answer = method(path)

    assert answer.status_code in (200, 404)
    assert answer.status_code == 200 or "Location" not in answer.headers
