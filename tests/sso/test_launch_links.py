"""The "Open app" button on a firm's subscription page, offered by sso to billing's template."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import SubscriptionStatus
from billing.services.subscriptions import subscribe
from marketplace.clock import FrozenClock
from sso.provider.apps import create_app_client
from tests.billing.conftest import TEAM, add_plan
from tests.catalog.storefront_data import publish_listing
from tests.sso.provider_world import ACTOR, AppWorld, make_world, sign_in_now

BUTTON = 'data-testid="open-app"'


def _page(client: FlaskClient, world: AppWorld) -> str:
    response = client.get(f"/subscriptions/{world.subscription.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_serving_subscription_whose_app_starts_sign_in_shows_open_app(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    assert world.subscription.status == SubscriptionStatus.ACTIVE
    sign_in_now(client, world.owner, clock)

    html = _page(client, world)

    assert BUTTON in html
    assert f'href="/subscriptions/{world.subscription.id}/open"' in html


def test_a_member_without_a_seat_sees_it_too_as_the_seat_is_checked_at_sign_in(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in_now(client, world.member, clock)

    assert BUTTON in _page(client, world)


def test_the_button_leads_to_the_apps_login_initiation_with_our_issuer(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    sign_in_now(client, world.owner, clock)

    response = client.get(f"/subscriptions/{world.subscription.id}/open")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("https://app.example/login?iss=http")


def test_an_app_without_a_login_initiation_uri_shows_no_button(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    world.app_client.initiate_login_uri = None
    session.commit()
    sign_in_now(client, world.owner, clock)

    assert BUTTON not in _page(client, world)


def test_a_listing_without_an_app_client_shows_no_button(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    session.delete(world.app_client)
    session.commit()
    sign_in_now(client, world.owner, clock)

    assert BUTTON not in _page(client, world)


def test_a_subscription_that_does_not_serve_shows_no_button(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    world = make_world(session, clock)
    listing = publish_listing(world.vendor, price=TEAM)
    plan = add_plan(listing, TEAM, code="team")
    create_app_client(
        session,
        clock,
        listing,
        redirect_uris=["https://other.example/callback"],
        initiate_login_uri="https://other.example/login",
    )
    pending = subscribe(session, clock, ACTOR, world.firm.id, plan.id, seats=1)
    assert pending.status == SubscriptionStatus.PENDING
    sign_in_now(client, world.owner, clock)

    response = client.get(f"/subscriptions/{pending.id}")

    assert response.status_code == 200
    assert BUTTON not in response.get_data(as_text=True)
