"""The firm's cards page: list, add through Stripe.js, make default, remove; who may."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.payments import services as cards
from billing.payments.gateway import StripeConnection
from billing.services import subscriptions as subs
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Organization, Role
from tests.billing.conftest import ACTOR, TEAM, new_plan
from tests.billing.payment_fixtures import (
    PUBLISHABLE_KEY,
    confirmed_setup_intent,
    registered_firm,
    saved_card,
    stripe,
)
from tests.sessions import sign_in

__all__ = ["stripe"]  # the fixture, imported for the tests below


def _firm(client: FlaskClient, role: str = Role.OWNER) -> Organization:
    firm, person = registered_firm(role)
    sign_in(client, person, firm)  # type: ignore[arg-type]
    return firm


def test_owners_admins_and_billing_see_the_cards_with_the_default_marked(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    for role in (Role.OWNER, Role.ADMIN, Role.BILLING):
        firm = _firm(client, role)
        saved_card(session, clock, firm.id)
        saved_card(session, clock, firm.id)

        html = client.get("/billing/cards").get_data(as_text=True)

        assert html.count("Visa •••• 4242") == 2 and "12/2030" in html
        assert html.count('data-testid="default-badge"') == 1
        assert html.count('data-testid="make-default"') == 1
        assert 'data-testid="nav-cards"' in html


def test_a_plain_member_neither_sees_the_cards_nor_the_link(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm = _firm(client, Role.MEMBER)
    card = saved_card(session, clock, firm.id)

    assert client.get("/billing/cards").status_code == 403
    assert client.get("/billing/cards/new").status_code == 403
    assert client.post(f"/billing/cards/{card.id}/default").status_code == 403
    assert client.post(f"/billing/cards/{card.id}/remove").status_code == 403
    assert 'data-testid="nav-cards"' not in client.get("/subscriptions").get_data(as_text=True)
    assert card.detached_at is None


def test_adding_a_card_hands_stripe_js_a_setup_intent_and_saves_what_stripe_reports(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm = _firm(client, Role.BILLING)

    page = client.get("/billing/cards/new").get_data(as_text=True)
    setup_intent_id = confirmed_setup_intent(session, clock, firm.id)
    response = client.post("/billing/cards/new", data={"setup_intent": setup_intent_id})

    assert f'data-stripe-key="{PUBLISHABLE_KEY}"' in page
    assert re.search(r'data-client-secret="seti_\w+_secret_\w+"', page)
    assert '<script src="/static/js/checkout.js"></script>' in page
    assert response.status_code == 302 and response.headers["Location"] == "/billing/cards"
    [card] = cards.cards_of(session, firm.id)
    assert (card.last4, card.is_default) == ("4242", True)


def test_a_bad_card_confirmation_is_refused_by_the_card_field(
    client: FlaskClient, session: Session, stripe: StripeConnection
) -> None:
    firm = _firm(client)

    for sent in ("", "seti_NoSuchIntent0", "<script>"):
        response = client.post("/billing/cards/new", data={"setup_intent": sent})
        assert response.status_code == 422
        box = re.search(r'data-testid="card-errors">([^<]+)<', response.get_data(as_text=True))
        assert box, sent
    assert cards.cards_of(session, firm.id) == []


def test_make_another_card_the_default_then_remove_the_old_one(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm = _firm(client)
    first = saved_card(session, clock, firm.id)
    second = saved_card(session, clock, firm.id)
    subs.subscribe(session, clock, ACTOR, firm.id, new_plan(TEAM).id, 1)

    refused = client.post(f"/billing/cards/{first.id}/remove", follow_redirects=True)
    assert "Make another card the default first" in refused.get_data(as_text=True)
    assert first.detached_at is None

    assert client.post(f"/billing/cards/{second.id}/default").status_code == 302
    confirm = client.get(f"/billing/cards/{first.id}/remove").get_data(as_text=True)
    removed = client.post(f"/billing/cards/{first.id}/remove")

    assert "Remove the card ending in 4242?" in confirm
    assert removed.status_code == 302
    assert cards.cards_of(session, firm.id) == [second] and second.is_default
    assert client.get(f"/billing/cards/{first.id}/remove").status_code == 404


def test_another_firms_card_is_not_found(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    other, _person = registered_firm()
    theirs = saved_card(session, clock, other.id)
    _firm(client)

    assert client.post(f"/billing/cards/{theirs.id}/default").status_code == 404
    assert client.get(f"/billing/cards/{theirs.id}/remove").status_code == 404
    assert client.post(f"/billing/cards/{theirs.id}/remove").status_code == 404
    assert theirs.detached_at is None and theirs.is_default
