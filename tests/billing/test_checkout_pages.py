"""The checkout pages: firm profile → seats → card (Stripe.js) → subscription, on localstripe."""

from __future__ import annotations

import html
import json
import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import Subscription, SubscriptionStatus
from billing.payments.gateway import StripeConnection
from billing.payments.models import PaymentMethod
from catalog.models import PlanStatus
from catalog.pricing import FlatFee, PlanPrice, SeatFee
from marketplace.clock import FrozenClock
from marketplace.firms.models import UsccStatus
from marketplace.orgs.models import Organization, OrgKind, Role
from tests.billing.conftest import BUSINESS, TEAM, add_plan, new_plan
from tests.billing.payment_fixtures import (
    DECLINED,
    PUBLISHABLE_KEY,
    confirmed_setup_intent,
    registered_firm,
    saved_card,
    stripe,
)
from tests.catalog.storefront_data import publish_listing
from tests.factories import make_member, make_org
from tests.sessions import sign_in

__all__ = ["stripe"]  # the fixture, imported for the tests below

FREE = PlanPrice((FlatFee(0), SeatFee(0, 1, 10)))


def _firm(client: FlaskClient, role: str = Role.OWNER, lang: str = "en") -> Organization:
    firm, person = registered_firm(role)
    sign_in(client, person, firm, lang=lang)  # type: ignore[arg-type]
    return firm


def _subscriptions(session: Session, firm: Organization) -> list[Subscription]:
    stmt = sa.select(Subscription).where(Subscription.organization_id == firm.id)
    return list(session.scalars(stmt))


def _cards(session: Session, firm: Organization) -> list[PaymentMethod]:
    stmt = sa.select(PaymentMethod).where(PaymentMethod.organization_id == firm.id)
    return list(session.scalars(stmt))


def _pay(client: FlaskClient, plan_id: int, **data: str) -> tuple[int, str]:
    response = client.post(f"/subscribe/{plan_id}/pay", data=data)
    return response.status_code, response.get_data(as_text=True)


# --- Step 1: the firm profile --------------------------------------------------------------


def test_a_firm_without_a_profile_is_sent_to_complete_it_first(
    client: FlaskClient, session: Session
) -> None:
    firm = make_org(OrgKind.SME)
    sign_in(client, make_member(firm), firm)
    plan = new_plan(TEAM)

    page = client.get(f"/subscribe/{plan.id}")
    posted = client.post(f"/subscribe/{plan.id}", data={"seats": "1"})
    paying = client.post(f"/subscribe/{plan.id}/pay", data={"seats": "1"})

    assert page.status_code == 200 and posted.status_code == 409 and paying.status_code == 409
    html = page.get_data(as_text=True)
    assert 'data-testid="profile-incomplete"' in html and 'href="/firm"' in html
    assert "Register the firm&#39;s details" in html
    assert _subscriptions(session, firm) == []


def test_a_rejected_credit_code_stops_the_checkout(client: FlaskClient, session: Session) -> None:
    firm = _firm(client)
    firm_row = session.get(Organization, firm.id)
    assert firm_row is not None
    from marketplace.firms.models import SmeProfile

    profile = session.get(SmeProfile, firm.id)
    assert profile is not None
    profile.uscc_status = UsccStatus.REJECTED
    session.flush()

    html = client.get(f"/subscribe/{new_plan(TEAM).id}").get_data(as_text=True)

    assert "An operator rejected the firm&#39;s credit code" in html


# --- Step 2: seats ---------------------------------------------------------------------------


def test_the_seats_step_shows_the_price_and_goes_on_to_the_card(
    client: FlaskClient, session: Session
) -> None:
    firm = _firm(client)
    plan = new_plan(TEAM)

    page = client.get(f"/subscribe/{plan.id}").get_data(as_text=True)
    response = client.post(f"/subscribe/{plan.id}", data={"seats": "3"})

    assert "¥30.00 per seat" in page and "1 to 50 seats" in page
    assert 'data-testid="period-price">¥130.00<' in page
    assert 'data-testid="card-step-note"' in page and "Continue to payment" in page
    assert response.status_code == 302
    assert response.headers["Location"] == f"/subscribe/{plan.id}/pay?seats=3"
    assert _subscriptions(session, firm) == []


def test_seats_outside_the_plans_bounds_are_refused_next_to_the_field(
    client: FlaskClient, session: Session
) -> None:
    firm = _firm(client)
    plan = new_plan(TEAM)

    for seats_sent in ("0", "51", "three", ""):
        response = client.post(f"/subscribe/{plan.id}", data={"seats": seats_sent})
        assert response.status_code == 422, seats_sent
        assert "invalid-feedback" in response.get_data(as_text=True)
    for seats_in_query in ("0", "51", "x", ""):
        response = client.get(f"/subscribe/{plan.id}/pay?seats={seats_in_query}")
        assert response.status_code == 302
        assert response.headers["Location"] == f"/subscribe/{plan.id}"
    assert _subscriptions(session, firm) == []


def test_a_free_plan_subscribes_without_a_card(client: FlaskClient, session: Session) -> None:
    firm = _firm(client)
    plan = new_plan(FREE)

    page = client.get(f"/subscribe/{plan.id}").get_data(as_text=True)
    response = client.post(f"/subscribe/{plan.id}", data={"seats": "2"})

    assert 'data-testid="no-payment-note"' in page and "Continue to payment" not in page
    [subscription] = _subscriptions(session, firm)
    assert response.headers["Location"] == f"/subscriptions/{subscription.id}"
    assert subscription.seats == 2 and _cards(session, firm) == []
    assert client.get(f"/subscribe/{plan.id}/pay").status_code == 302


def test_only_owners_and_admins_of_a_firm_check_out(client: FlaskClient, session: Session) -> None:
    plan = new_plan(TEAM)
    for role in (Role.MEMBER, Role.BILLING):
        firm = _firm(client, role)
        for url in (f"/subscribe/{plan.id}", f"/subscribe/{plan.id}/pay?seats=1"):
            response = client.get(url)
            assert response.status_code == 403
            assert "Only the firm&#39;s owner or an admin can subscribe" in response.get_data(
                as_text=True
            )
        assert client.post(f"/subscribe/{plan.id}/pay", data={"seats": "1"}).status_code == 403
        assert _subscriptions(session, firm) == []
    vendor = make_org(OrgKind.VENDOR)
    sign_in(client, make_member(vendor), vendor)
    assert client.get(f"/subscribe/{plan.id}/pay?seats=1").status_code == 403
    assert client.get(f"/subscribe/{plan.id}/pay").status_code == 403


def test_a_plan_not_on_sale_is_not_found_on_either_step(client: FlaskClient) -> None:
    _firm(client)
    listing = publish_listing(price=TEAM)
    draft = add_plan(listing, BUSINESS, code="business", status=PlanStatus.DRAFT, published_at=None)

    for url in (f"/subscribe/{draft.id}", f"/subscribe/{draft.id}/pay", "/subscribe/2000000000"):
        assert client.get(url).status_code == 404
    assert client.post(f"/subscribe/{draft.id}/pay", data={"seats": "1"}).status_code == 404


# --- Step 3: the card ------------------------------------------------------------------------


def test_the_card_step_hands_stripe_js_its_key_and_a_fresh_setup_intent(
    client: FlaskClient, stripe: StripeConnection
) -> None:
    _firm(client)
    plan = new_plan(TEAM)

    response = client.get(f"/subscribe/{plan.id}/pay?seats=2")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'data-stripe-key="{PUBLISHABLE_KEY}"' in html
    assert re.search(r'data-client-secret="seti_\w+_secret_\w+"', html)
    assert f'<script src="{stripe.js_url}"></script>' in html
    assert '<script src="/static/js/checkout.js"></script>' in html
    assert "<script>" not in html and "onclick" not in html
    assert 'data-testid="period-price">¥160.00<' in html  # ¥100 + 2 seats × ¥30
    assert 'data-testid="card-choice"' not in html  # no saved card to offer
    another = client.get(f"/subscribe/{plan.id}/pay?seats=2").get_data(as_text=True)
    secret = re.compile(r'data-client-secret="([^"]+)"')
    assert secret.findall(html) != secret.findall(another)


def test_a_confirmed_card_is_saved_and_the_subscription_created_in_one_go(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm = _firm(client)
    plan = new_plan(TEAM)
    client.get(f"/subscribe/{plan.id}/pay?seats=3")
    setup_intent_id = confirmed_setup_intent(session, clock, firm.id)

    response = client.post(
        f"/subscribe/{plan.id}/pay",
        data={"seats": "3", "card_choice": "new", "setup_intent": setup_intent_id},
    )

    [subscription] = _subscriptions(session, firm)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/subscriptions/{subscription.id}"
    assert subscription.status == SubscriptionStatus.PENDING and subscription.seats == 3
    [card] = _cards(session, firm)
    assert (card.brand, card.last4, card.is_default) == ("visa", "4242", True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Subscribed. The vendor is told and will start the service." in page


def test_a_plan_with_a_trial_that_starts_itself_is_trialing_after_the_card(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm = _firm(client)
    plan = new_plan(TEAM, auto_activate=True, trial_days=14)
    setup_intent_id = confirmed_setup_intent(session, clock, firm.id)

    status, _html = _pay(
        client, plan.id, seats="1", card_choice="new", setup_intent=setup_intent_id
    )

    assert status == 302
    assert [s.status for s in _subscriptions(session, firm)] == [SubscriptionStatus.TRIALING]


def test_a_declined_card_shows_the_reason_by_the_card_and_creates_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm = _firm(client)
    plan = new_plan(TEAM)
    from billing.payments import services as cards
    from billing.payments.errors import CardRefused
    from billing.payments.gateway import stripe_gateway, translated_errors

    intent = cards.start_card_setup(session, clock, firm.id)
    try:
        with translated_errors():
            stripe_gateway.client().v1.setup_intents.confirm(
                intent.id, {"payment_method": DECLINED}
            )
    except CardRefused:
        pass

    status, html = _pay(client, plan.id, seats="1", card_choice="new", setup_intent=intent.id)

    assert status == 422
    card_box = re.search(r'data-testid="card-errors">([^<]*)<', html)
    assert card_box and "The card is not confirmed. Enter it again." in card_box.group(1)
    assert _subscriptions(session, firm) == [] and _cards(session, firm) == []


def test_a_missing_or_foreign_card_confirmation_creates_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    other, _person = registered_firm()
    of_other = confirmed_setup_intent(session, clock, other.id)
    firm = _firm(client)
    plan = new_plan(TEAM)

    for sent, message in (
        ("", "Enter the card again: its confirmation is missing."),
        (of_other, "This card confirmation was not made for your firm."),
    ):
        status, html = _pay(client, plan.id, seats="1", card_choice="new", setup_intent=sent)
        assert status == 422 and message in html
    assert _subscriptions(session, firm) == [] and _cards(session, firm) == []
    assert _cards(session, other) == []


def test_bad_seats_on_the_card_step_are_refused_before_the_card_is_saved(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm = _firm(client)
    plan = new_plan(TEAM)
    setup_intent_id = confirmed_setup_intent(session, clock, firm.id)

    status, html = _pay(
        client, plan.id, seats="99", card_choice="new", setup_intent=setup_intent_id
    )

    assert status == 422 and "at most 50" in html
    assert _subscriptions(session, firm) == [] and _cards(session, firm) == []


def test_a_firm_with_a_saved_card_may_pay_with_it(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm = _firm(client)
    card = saved_card(session, clock, firm.id)
    plan = new_plan(TEAM)

    html = client.get(f"/subscribe/{plan.id}/pay?seats=1").get_data(as_text=True)
    status, _html = _pay(client, plan.id, seats="1", card_choice="saved")

    assert 'data-testid="card-choice-saved"' in html and "ending in 4242" in html
    assert re.search(r'value="saved"[^>]*checked|checked[^>]*value="saved"', html)
    assert status == 302
    assert len(_subscriptions(session, firm)) == 1 and _cards(session, firm) == [card]


def test_choosing_a_saved_card_the_firm_does_not_have_is_refused(
    client: FlaskClient, session: Session, stripe: StripeConnection
) -> None:
    firm = _firm(client)
    plan = new_plan(TEAM)

    status, html = _pay(client, plan.id, seats="1", card_choice="saved")

    assert status == 422 and _subscriptions(session, firm) == []
    assert "Not a valid choice" in html or "no saved card" in html


def test_a_second_subscription_to_the_same_service_is_refused_and_links_the_first(
    client: FlaskClient, session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm = _firm(client)
    saved_card(session, clock, firm.id)
    plan = new_plan(TEAM)
    _pay(client, plan.id, seats="1", card_choice="saved")
    [first] = _subscriptions(session, firm)

    page = client.get(f"/subscribe/{plan.id}").get_data(as_text=True)
    paying = client.get(f"/subscribe/{plan.id}/pay?seats=1")
    status, _html = _pay(client, plan.id, seats="1", card_choice="saved")

    assert 'data-testid="already-subscribed"' in page and f"/subscriptions/{first.id}" in page
    assert paying.status_code == 302 and status == 302
    assert len(_subscriptions(session, firm)) == 1


def test_the_checkout_speaks_chinese(
    client: FlaskClient, session: Session, stripe: StripeConnection
) -> None:
    _firm(client, lang="zh_CN")
    plan = new_plan(TEAM)

    seats = client.get(f"/subscribe/{plan.id}").get_data(as_text=True)
    card = client.get(f"/subscribe/{plan.id}/pay?seats=1").get_data(as_text=True)

    assert "订阅" in seats and "¥130.00" in seats and "继续付款" in seats
    assert "银行卡" in card
    attribute = re.search(r'data-messages="([^"]+)"', card)
    assert attribute is not None
    messages = json.loads(html.unescape(attribute.group(1)))
    assert messages["card_declined"] == "您的银行卡被拒绝。请使用其他银行卡或联系您的银行。"
