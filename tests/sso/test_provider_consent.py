"""Consent at the authorization endpoint: asked once, remembered, forced by prompt=consent,
skipped by a firm's approval, withdrawn with the app's sign-ins."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from sso.provider.consent import approve_for_firm, withdraw_consent
from sso.provider.models import Consent, Grant
from tests.sso.provider_world import (
    FLAT,
    REDIRECT_URI,
    AppWorld,
    allow,
    authorize_query,
    code_for,
    csrf_token,
    issue_tokens,
    make_world,
    new_pkce,
    redirect_params,
    sign_in_now,
    userinfo,
)


def _is_consent_page(response: Any) -> bool:
    return response.status_code == 200 and 'id="consent-form"' in response.get_data(as_text=True)


def _code_in(response: Any) -> bool:
    return response.status_code == 302 and "code" in redirect_params(response.headers["Location"])


def test_the_first_request_shows_the_consent_page_naming_the_firm(
    client: FlaskClient, world: AppWorld
) -> None:
    response = client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce()))

    assert _is_consent_page(response)
    assert world.firm.name in response.get_data(as_text=True)


def test_allowing_is_remembered_so_the_next_request_redirects_at_once(
    client: FlaskClient, world: AppWorld
) -> None:
    first = allow(client, authorize_query(world, new_pkce()))
    assert _code_in(first)

    second = client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce()))

    assert _code_in(second)


def test_a_remembered_consent_does_not_cover_more_scopes(
    client: FlaskClient, world: AppWorld
) -> None:
    allow(client, authorize_query(world, new_pkce(), scope="openid"))

    wider = client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce()))

    assert _is_consent_page(wider)


def test_denying_sends_access_denied_back_with_the_state(
    client: FlaskClient, session: Session, world: AppWorld
) -> None:
    query = authorize_query(world, new_pkce())
    page = client.get("/oauth/authorize", query_string=query)

    response = client.post(
        "/oauth/authorize",
        query_string=query,
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "decision": "deny"},
    )

    assert response.status_code == 302
    assert response.headers["Location"].startswith(REDIRECT_URI + "?")
    params = redirect_params(response.headers["Location"])
    assert (params["error"], params["state"]) == ("access_denied", query["state"])
    assert session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 0
    assert _is_consent_page(client.get("/oauth/authorize", query_string=query))


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_decision_without_the_pages_csrf_token_is_refused(
    client: FlaskClient, session: Session, world: AppWorld, token: str | None
) -> None:
    query = authorize_query(world, new_pkce())
    client.get("/oauth/authorize", query_string=query)
    data = {"decision": "allow"}
    if token:
        data["csrf_token"] = token

    response = client.post("/oauth/authorize", query_string=query, data=data)

    assert response.status_code == 400
    assert "Location" not in response.headers
    assert session.scalar(sa.select(sa.func.count()).select_from(Consent)) == 0


def test_prompt_consent_shows_the_page_even_after_consent(
    client: FlaskClient, world: AppWorld
) -> None:
    allow(client, authorize_query(world, new_pkce()))

    again = client.get(
        "/oauth/authorize", query_string=authorize_query(world, new_pkce(), prompt="consent")
    )

    assert _is_consent_page(again)


def test_a_firm_approval_skips_the_page_for_every_member(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock, price=FLAT)
    approve_for_firm(
        session,
        clock,
        Actor(world.owner.id, world.firm.id),
        world.firm.id,
        world.app_client.id,
        "openid profile email",
    )

    for user in (world.owner, world.member):
        sign_in_now(client, user, clock)
        response = client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce()))
        assert _code_in(response), user.email


def test_a_firm_approval_does_not_reach_members_of_other_firms(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    other = make_world(session, clock)
    approve_for_firm(
        session, clock, Actor(other.owner.id), other.firm.id, world.app_client.id, "openid"
    )

    response = client.get(
        "/oauth/authorize", query_string=authorize_query(world, new_pkce(), scope="openid")
    )

    assert _is_consent_page(response)


def test_withdrawing_consent_revokes_the_apps_grants_and_asks_again(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    body = issue_tokens(client, world)
    consent = session.scalars(sa.select(Consent).where(Consent.user_id == world.owner.id)).one()

    assert withdraw_consent(session, clock, Actor(world.owner.id), world.owner.id, consent.id)

    assert userinfo(client, body["access_token"]).status_code == 401
    session.expire_all()
    reasons = session.scalars(
        sa.select(Grant.revoked_reason).where(Grant.user_id == world.owner.id)
    )
    assert list(reasons) == ["consent_withdrawn"]
    page = client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce()))
    assert _is_consent_page(page)


def test_another_user_cannot_withdraw_a_users_consent(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    allow(client, authorize_query(world, new_pkce()))
    consent = session.scalars(sa.select(Consent).where(Consent.user_id == world.owner.id)).one()

    assert not withdraw_consent(session, clock, Actor(world.member.id), world.member.id, consent.id)

    assert _code_in(client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce())))


def test_a_users_withdrawal_outweighs_the_firms_approval_until_they_allow_again(
    client: FlaskClient, session: Session, clock: FrozenClock, world: AppWorld
) -> None:
    code_for(client, world, new_pkce())  # allows once, on the consent page
    consent = session.scalars(sa.select(Consent).where(Consent.user_id == world.owner.id)).one()
    actor = Actor(world.owner.id, world.firm.id)
    approve_for_firm(
        session, clock, actor, world.firm.id, world.app_client.id, "openid profile email"
    )
    assert withdraw_consent(session, clock, actor, world.owner.id, consent.id)

    query = authorize_query(world, new_pkce())
    assert _is_consent_page(client.get("/oauth/authorize", query_string=query))
    assert _code_in(allow(client, query))
    assert _code_in(client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce())))
