"""A user's connected apps: the apps they allowed, listed in settings, and withdrawn there."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.services.seats import assign_seat
from catalog.services.listings import published_version
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Role
from sso.provider.models import Consent, Grant
from tests.factories import make_member
from tests.sessions import sign_in
from tests.sso.conftest import audit
from tests.sso.provider_world import (
    ACTOR,
    AppWorld,
    authorize_query,
    code_for,
    csrf_token,
    issue_tokens,
    make_world,
    new_pkce,
    refresh,
    sign_in_now,
    signed_in_world,
    userinfo,
)

PAGE = "/settings/apps"


@pytest.fixture
def csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Turn CSRF protection on for one test, as in production."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def _consent(session: Session, world: AppWorld) -> Consent:
    session.expire_all()
    stmt = sa.select(Consent).where(
        Consent.user_id == world.owner.id, Consent.app_client_id == world.app_client.id
    )
    return session.scalars(stmt).one()


def _name_app(world: AppWorld, english: str) -> None:
    version = published_version(world.listing)
    assert version is not None
    version.name_en = english


def test_the_page_lists_the_apps_the_user_allowed_with_vendor_scopes_and_date(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    _name_app(world, "Ledger Cloud")
    sign_in_now(client, world.owner, clock)
    issue_tokens(client, world)
    consent = _consent(session, world)

    page = client.get(PAGE)

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'data-testid="connected-app-{consent.id}"' in html
    assert "Ledger Cloud" in html
    assert world.vendor.name in html
    assert "Your email address" in html and "Your name and language" in html
    assert f'action="/settings/apps/{consent.id}/withdraw"' in html


def test_the_app_is_named_in_the_interface_language(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    _name_app(world, "Ledger Cloud")
    sign_in_now(client, world.owner, clock)
    issue_tokens(client, world)
    sign_in(client, world.owner, lang="zh_Hans_CN")

    html = client.get(PAGE).get_data(as_text=True)

    version = published_version(world.listing)
    assert version is not None
    assert version.name_zh in html
    assert "Ledger Cloud" not in html


def test_the_page_shows_only_the_users_own_live_consents(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    mine, theirs, withdrawn = (make_world(session, clock) for _ in range(3))
    _name_app(mine, "Mine Works")
    _name_app(theirs, "Theirs Works")
    _name_app(withdrawn, "Withdrawn Works")
    make_member(withdrawn.firm, mine.owner, Role.MEMBER)
    assign_seat(session, clock, ACTOR, withdrawn.subscription, mine.owner.id)
    sign_in_now(client, theirs.owner, clock)
    issue_tokens(client, theirs)
    sign_in_now(client, mine.owner, clock)
    issue_tokens(client, mine)
    pkce = new_pkce()
    code_for(client, withdrawn, pkce)
    gone = session.scalars(
        sa.select(Consent).where(
            Consent.user_id == mine.owner.id, Consent.app_client_id == withdrawn.app_client.id
        )
    ).one()
    gone.revoked_at = clock.now()
    session.flush()

    html = client.get(PAGE).get_data(as_text=True)

    assert "Mine Works" in html
    assert "Theirs Works" not in html
    assert "Withdrawn Works" not in html
    assert html.count('data-testid="connected-app-') == 1


def test_a_user_who_allowed_nothing_sees_an_empty_page(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in_now(client, world.member, clock)

    html = client.get(PAGE).get_data(as_text=True)

    assert 'data-testid="no-connected-apps"' in html


def test_an_anonymous_visitor_is_sent_to_sign_in(client: FlaskClient, session: Session) -> None:
    page = client.get(PAGE)

    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login")


def test_the_settings_page_links_to_the_connected_apps(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    signed_in_world(client, session, clock)

    html = client.get("/settings").get_data(as_text=True)

    assert f'href="{PAGE}"' in html


def test_withdrawing_ends_the_apps_tokens_and_it_must_ask_again(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    _name_app(world, "Ledger Cloud")
    sign_in_now(client, world.owner, clock)
    tokens = issue_tokens(client, world)
    consent = _consent(session, world)
    assert userinfo(client, tokens["access_token"]).status_code == 200

    response = client.post(f"{PAGE}/{consent.id}/withdraw", follow_redirects=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ledger Cloud may no longer sign you in" in html
    assert 'data-testid="no-connected-apps"' in html
    assert _consent(session, world).revoked_at == clock.now()
    assert userinfo(client, tokens["access_token"]).status_code == 401
    assert refresh(client, world, tokens["refresh_token"]).status_code == 400
    [entry] = audit(session, "sso.consent_withdrawn")
    assert entry.actor_user_id == world.owner.id
    assert entry.target_id == str(world.app_client.id)
    again = client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce()))
    assert again.status_code == 200
    assert 'id="consent-form"' in again.get_data(as_text=True)


def test_withdrawing_another_users_consent_is_not_found_and_changes_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world, other = make_world(session, clock), make_world(session, clock)
    sign_in_now(client, other.owner, clock)
    their_tokens = issue_tokens(client, other)
    theirs = session.scalars(sa.select(Consent).where(Consent.user_id == other.owner.id)).one()
    sign_in_now(client, world.owner, clock)

    response = client.post(f"{PAGE}/{theirs.id}/withdraw")

    assert response.status_code == 404
    session.expire_all()
    assert session.get(Consent, theirs.id).revoked_at is None  # type: ignore[union-attr]
    assert audit(session, "sso.consent_withdrawn") == []
    assert userinfo(client, their_tokens["access_token"]).status_code == 200


def test_withdrawing_an_unknown_or_already_withdrawn_consent_is_not_found(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)
    issue_tokens(client, world)
    consent = _consent(session, world)

    first = client.post(f"{PAGE}/{consent.id}/withdraw")
    second = client.post(f"{PAGE}/{consent.id}/withdraw")
    unknown = client.post(f"{PAGE}/2000000000/withdraw")

    assert first.status_code == 302
    assert second.status_code == 404
    assert unknown.status_code == 404
    assert len(audit(session, "sso.consent_withdrawn")) == 1


def test_withdrawing_needs_a_post(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)
    issue_tokens(client, world)
    consent = _consent(session, world)

    response = client.get(f"{PAGE}/{consent.id}/withdraw")

    assert response.status_code == 405
    assert _consent(session, world).revoked_at is None


@pytest.mark.usefixtures("csrf_on")
def test_a_withdrawal_without_its_csrf_token_is_refused_and_changes_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)
    tokens = issue_tokens(client, world)
    consent = _consent(session, world)

    refused = client.post(f"{PAGE}/{consent.id}/withdraw")
    forged = client.post(f"{PAGE}/{consent.id}/withdraw", data={"csrf_token": "forged"})

    assert refused.status_code == 400
    assert forged.status_code == 400
    assert _consent(session, world).revoked_at is None
    assert userinfo(client, tokens["access_token"]).status_code == 200


@pytest.mark.usefixtures("csrf_on")
def test_the_pages_own_token_lets_the_user_withdraw(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = signed_in_world(client, session, clock)
    issue_tokens(client, world)
    consent = _consent(session, world)
    token = csrf_token(client.get(PAGE).get_data(as_text=True))

    response = client.post(f"{PAGE}/{consent.id}/withdraw", data={"csrf_token": token})

    assert response.status_code == 302
    assert _consent(session, world).revoked_at is not None
    live = session.scalars(
        sa.select(Grant).where(Grant.user_id == world.owner.id, Grant.revoked_at.is_(None))
    ).all()
    assert live == []
