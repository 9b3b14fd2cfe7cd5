"""A firm's owners and admins approve a subscribed app for everyone, and withdraw it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import SubscriptionStatus
from billing.services.seats import assign_seat
from billing.services.subscriptions import subscribe
from marketplace.accounts.models import User
from marketplace.clock import FrozenClock
from marketplace.orgs.models import OrgStatus, Role
from sso.provider.models import Consent, FirmApproval
from tests.billing.conftest import add_plan
from tests.catalog.storefront_data import publish_listing
from tests.factories import make_member, make_org
from tests.sessions import sign_in
from tests.sso.conftest import audit
from tests.sso.provider_world import (
    ACTOR,
    FLAT,
    AppWorld,
    authorize_query,
    csrf_token,
    make_world,
    new_pkce,
    redirect_params,
)


@pytest.fixture
def csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Turn CSRF protection on for one test, as in production."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def _page(world: AppWorld) -> str:
    return f"/orgs/{world.firm.id}/apps"


def _approve_url(world: AppWorld) -> str:
    return f"/orgs/{world.firm.id}/apps/{world.subscription.id}/approve"


def _withdraw_url(world: AppWorld) -> str:
    return f"/orgs/{world.firm.id}/apps/{world.subscription.id}/withdraw"


def _approvals(session: Session, world: AppWorld) -> list[tuple[object, ...]]:
    session.expire_all()
    table = sa.inspect(FirmApproval).local_table
    stmt = sa.select(table).where(table.c.firm_id == world.firm.id).order_by(table.c.id)
    return [tuple(row) for row in session.execute(stmt)]


def _seated_member(session: Session, clock: FrozenClock, world: AppWorld) -> User:
    assign_seat(session, clock, ACTOR, world.subscription, world.member.id)
    return world.member


def _authorize(client: FlaskClient, world: AppWorld, user: User, clock: FrozenClock) -> int:
    """Send user to the app's authorization; return the status of the first answer."""
    sign_in(client, user, world.firm, signed_in_at=clock.now())
    answer = client.get("/oauth/authorize", query_string=authorize_query(world, new_pkce()))
    if answer.status_code == 302:
        assert "code" in redirect_params(answer.headers["Location"])
    return answer.status_code


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_an_owner_or_admin_approves_and_a_member_then_signs_in_unasked(
    client: FlaskClient, session: Session, clock: FrozenClock, role: str
) -> None:
    world = make_world(session, clock)
    manager = world.owner if role == Role.OWNER else make_member(world.firm, role=Role.ADMIN)
    member = _seated_member(session, clock, world)
    assert _authorize(client, world, member, clock) == 200  # asked before the approval
    sign_in(client, manager, world.firm)

    response = client.post(_approve_url(world), follow_redirects=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "is approved for everyone in the firm" in html
    assert f'data-testid="approved-{world.subscription.id}"' in html
    [approval] = session.scalars(sa.select(FirmApproval)).all()
    assert (approval.firm_id, approval.app_client_id) == (world.firm.id, world.app_client.id)
    assert approval.scope == "openid profile email"
    assert approval.approved_by_id == manager.id
    [entry] = audit(session, "sso.firm_approved_app")
    assert (entry.actor_user_id, entry.actor_org_id) == (manager.id, world.firm.id)
    assert _authorize(client, world, member, clock) == 302
    assert session.scalars(sa.select(Consent)).all() == []


def test_the_page_lists_the_firms_apps_that_sign_users_in(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    plain = publish_listing(world.vendor, price=FLAT)
    subscribe(session, clock, ACTOR, world.firm.id, add_plan(plain, FLAT, auto_activate=True).id)
    other = make_world(session, clock)
    sign_in(client, world.owner, world.firm)

    html = client.get(_page(world)).get_data(as_text=True)

    assert html.count('data-testid="firm-app-') == 1
    assert f'data-testid="firm-app-{world.subscription.id}"' in html
    assert f'data-testid="firm-app-{other.subscription.id}"' not in html
    assert world.vendor.name in html
    assert f'data-testid="approve-{world.subscription.id}"' in html


def test_a_cancelled_subscription_is_not_listed_and_cannot_be_approved(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    world.subscription.status = SubscriptionStatus.CANCELLED
    session.flush()
    sign_in(client, world.owner, world.firm)

    html = client.get(_page(world)).get_data(as_text=True)
    approve = client.post(_approve_url(world))

    assert 'data-testid="no-firm-apps"' in html
    assert approve.status_code == 404
    assert _approvals(session, world) == []


def test_withdrawing_the_approval_makes_members_consent_again(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    member = _seated_member(session, clock, world)
    sign_in(client, world.owner, world.firm)
    client.post(_approve_url(world))
    assert _authorize(client, world, member, clock) == 302
    sign_in(client, world.owner, world.firm)

    response = client.post(_withdraw_url(world), follow_redirects=True)

    html = response.get_data(as_text=True)
    assert "members are asked again" in html
    assert f'data-testid="not-approved-{world.subscription.id}"' in html
    [approval] = session.scalars(sa.select(FirmApproval)).all()
    assert approval.revoked_at == clock.now()
    assert len(audit(session, "sso.firm_approval_withdrawn")) == 1
    assert _authorize(client, world, member, clock) == 200


def test_withdrawing_an_approval_that_never_was_changes_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in(client, world.owner, world.firm)

    response = client.post(_withdraw_url(world), follow_redirects=True)

    assert response.status_code == 200
    assert "was not approved for the firm" in response.get_data(as_text=True)
    assert _approvals(session, world) == []
    assert audit(session, "sso.firm_approval_withdrawn") == []


@pytest.mark.parametrize("role", [Role.MEMBER, Role.BILLING])
def test_members_and_billing_users_can_neither_see_nor_approve(
    client: FlaskClient, session: Session, clock: FrozenClock, role: str
) -> None:
    world = make_world(session, clock)
    user = world.member if role == Role.MEMBER else make_member(world.firm, role=Role.BILLING)
    sign_in(client, user, world.firm)

    page = client.get(_page(world))
    approve = client.post(_approve_url(world))
    withdraw = client.post(_withdraw_url(world))

    assert (page.status_code, approve.status_code, withdraw.status_code) == (403, 403, 403)
    assert _approvals(session, world) == []
    assert audit(session, "sso.firm_approved_app") == []


def test_the_navigation_links_the_page_for_owners_and_admins_only(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in(client, world.owner, world.firm)
    owners = client.get("/firm").get_data(as_text=True)
    sign_in(client, world.member, world.firm)
    members = client.get("/firm").get_data(as_text=True)

    assert f'href="{_page(world)}"' in owners
    assert 'data-testid="nav-firm-apps"' not in members


def test_another_firms_id_is_not_found_and_changes_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world, other = make_world(session, clock), make_world(session, clock)
    sign_in(client, world.owner, world.firm)

    page = client.get(_page(other))
    approve = client.post(_approve_url(other))
    mixed = client.post(f"/orgs/{world.firm.id}/apps/{other.subscription.id}/approve")
    nowhere = client.get("/orgs/2000000000/apps")

    assert [r.status_code for r in (page, approve, mixed, nowhere)] == [404, 404, 404, 404]
    assert other.firm.name not in page.get_data(as_text=True)
    assert _approvals(session, other) == [] and _approvals(session, world) == []


def test_a_vendor_or_park_id_is_not_a_firm(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    park = make_org("park")
    make_member(park, world.owner, Role.OWNER)
    make_member(world.vendor, world.owner, Role.OWNER)
    sign_in(client, world.owner, world.firm)

    assert client.get(f"/orgs/{park.id}/apps").status_code == 404
    assert client.get(f"/orgs/{world.vendor.id}/apps").status_code == 404


def test_an_anonymous_visitor_is_sent_to_sign_in(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)

    page = client.get(_page(world))
    approve = client.post(_approve_url(world))

    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert approve.status_code == 302
    assert _approvals(session, world) == []


def test_a_suspended_firm_shows_its_approvals_but_changes_none(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    world.firm.status = OrgStatus.SUSPENDED
    session.flush()
    sign_in(client, world.owner, world.firm)

    page = client.get(_page(world))
    approve = client.post(_approve_url(world))

    assert page.status_code == 200
    assert 'data-testid="suspended-notice"' in page.get_data(as_text=True)
    assert approve.status_code == 403
    assert _approvals(session, world) == []


@pytest.mark.usefixtures("csrf_on")
def test_an_approval_without_its_csrf_token_is_refused_and_changes_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in(client, world.owner, world.firm)

    refused = client.post(_approve_url(world))
    forged = client.post(_approve_url(world), data={"csrf_token": "forged"})
    withdraw = client.post(_withdraw_url(world))

    assert [r.status_code for r in (refused, forged, withdraw)] == [400, 400, 400]
    assert _approvals(session, world) == []


@pytest.mark.usefixtures("csrf_on")
def test_the_pages_own_token_lets_an_owner_approve(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in(client, world.owner, world.firm)
    token = csrf_token(client.get(_page(world)).get_data(as_text=True))

    response = client.post(_approve_url(world), data={"csrf_token": token})

    assert response.status_code == 302
    assert len(_approvals(session, world)) == 1
