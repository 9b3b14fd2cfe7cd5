"""The single sign-on demo `make run` loads: the demo vendor app and a firm that opens it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.lifecycle import SERVING
from billing.models import SeatAssignment, Subscription
from marketplace.accounts.models import User
from marketplace.clock import FrozenClock
from marketplace.demo import EXTRA_LOADERS, FIRMS, load_demo
from sso.credentials import secret_matches
from sso.provider.demo import (
    DEMO_APP_URL,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    load_sso_demo,
)
from sso.provider.models import AppClient
from tests.sessions import sign_in


def _demo_owner(session: Session) -> User:
    return session.scalars(sa.select(User).where(User.email == FIRMS[0].owner_email)).one()


def test_the_app_registers_the_sso_demo_with_the_demo_command(app: Flask) -> None:
    assert load_sso_demo in EXTRA_LOADERS


def test_the_demo_app_client_has_the_fixed_id_secret_and_local_addresses(
    session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)

    client = session.scalars(sa.select(AppClient)).one()
    assert client.client_id == DEMO_CLIENT_ID
    assert secret_matches(DEMO_CLIENT_SECRET, client.client_secret_hash)
    assert client.redirect_uris == [DEMO_APP_URL + "/callback"]
    assert client.post_logout_redirect_uris == [DEMO_APP_URL + "/"]
    assert client.initiate_login_uri == DEMO_APP_URL + "/login"
    assert client.listing.slug == "crm"


def test_the_first_demo_firm_serves_the_app_and_its_owner_holds_a_seat(
    session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)

    client = session.scalars(sa.select(AppClient)).one()
    owner = _demo_owner(session)
    subscription = session.scalars(
        sa.select(Subscription).where(Subscription.listing_id == client.listing_id)
    ).one()
    assert subscription.status in SERVING
    assert subscription.plan.code == "team"
    holders = session.scalars(
        sa.select(SeatAssignment.user_id).where(
            SeatAssignment.subscription_id == subscription.id,
            SeatAssignment.unassigned_at.is_(None),
        )
    ).all()
    assert holders == [owner.id]


def test_the_demo_owner_sees_open_app_on_the_subscription(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)
    owner = _demo_owner(session)
    subscription = session.scalars(
        sa.select(Subscription).join(AppClient, AppClient.listing_id == Subscription.listing_id)
    ).one()
    sign_in(client, owner, subscription.organization)

    page = client.get(f"/subscriptions/{subscription.id}").get_data(as_text=True)
    opened = client.get(f"/subscriptions/{subscription.id}/open")

    assert 'data-testid="open-app"' in page
    assert opened.status_code == 302
    assert opened.headers["Location"].startswith(DEMO_APP_URL + "/login?iss=")


def test_the_sso_demo_skips_a_database_without_the_demo_catalog(
    session: Session, clock: FrozenClock
) -> None:
    load_sso_demo(session, clock)

    assert session.scalar(sa.select(sa.func.count()).select_from(AppClient)) == 0
