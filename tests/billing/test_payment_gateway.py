"""The Stripe gateway and the card services, against the run's real localstripe."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal

import pytest
import sqlalchemy as sa
import stripe as stripe_sdk
from flask import Flask
from flask_babel import force_locale
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from billing.payments import services as cards
from billing.payments.card_rules import needs_card
from billing.payments.errors import CardRefused, PaymentServiceUnavailable
from billing.payments.gateway import (
    StripeConnection,
    connection_of,
    stripe_gateway,
    translated_errors,
)
from billing.payments.models import PaymentCustomer, PaymentMethod
from billing.services import subscriptions as subs
from catalog.pricing import (
    Aggregation,
    FlatFee,
    MeteredPrice,
    PlanPrice,
    PriceModel,
    SeatFee,
    Tier,
)
from marketplace import migrate
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.db import make_engine
from marketplace.errors import NotFound, ValidationFailed
from marketplace.orgs.models import Organization, OrgKind
from marketplace.settings import Settings, SettingsError, settings_from_env
from tests import backends
from tests.billing.conftest import ACTOR, TEAM, new_plan
from tests.billing.payment_fixtures import (
    DECLINED,
    confirmed_setup_intent,
    registered_firm,
    saved_card,
    stripe,
)
from tests.localstripe import LocalStripe

__all__ = ["stripe"]  # the fixture, imported for the tests below

FREE = PlanPrice((FlatFee(0), SeatFee(0, 1, 10)))


@pytest.fixture(autouse=True)
def english(app: Flask, session: Session) -> Iterator[None]:
    """Read the services' messages in English (the market's default is Chinese)."""
    with app.test_request_context(), force_locale("en"):
        yield


def _cards(session: Session, org_id: int) -> list[PaymentMethod]:
    stmt = sa.select(PaymentMethod).where(PaymentMethod.organization_id == org_id)
    return list(session.scalars(stmt))


# --- Settings and the Content-Security-Policy -----------------------------------------------


def test_development_points_stripe_and_stripe_js_at_localstripe() -> None:
    settings = settings_from_env({"STRIPE_API_BASE": "http://127.0.0.1:8420"})

    assert settings.stripe_api_url == "http://127.0.0.1:8420"
    assert settings.stripe_js_script_url == "http://127.0.0.1:8420/js.stripe.com/v3/"
    assert settings.stripe_publishable_key == "pk_test_development"
    assert settings.payment_csp_sources == {
        "script-src": ("http://127.0.0.1:8420",),
        "frame-src": ("http://127.0.0.1:8420",),
        "connect-src": ("http://127.0.0.1:8420",),
    }


def test_production_uses_stripes_own_script_and_api_and_needs_a_publishable_key() -> None:
    environ = {
        "YUNSHI_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": "sqlite://",
        "STRIPE_API_KEY": "sk_live_x",
        "STRIPE_WEBHOOK_SECRET": "whsec_x",
    }
    with pytest.raises(SettingsError, match="STRIPE_PUBLISHABLE_KEY"):
        settings_from_env(environ)
    settings = settings_from_env({**environ, "STRIPE_PUBLISHABLE_KEY": "pk_live_x"})

    assert settings.stripe_js_script_url == "https://js.stripe.com/v3/"
    sources = settings.payment_csp_sources
    assert sources["script-src"] == ("https://js.stripe.com",)
    assert sources["frame-src"] == ("https://js.stripe.com", "https://hooks.stripe.com")
    assert "https://api.stripe.com" in sources["connect-src"]
    assert settings.stripe_publishable_key == "pk_live_x"


def test_pages_allow_the_stripe_js_origin_and_nothing_else_new(app: Flask) -> None:
    policy = app.test_client().get("/healthz").headers["Content-Security-Policy"]

    assert "script-src 'self' http://127.0.0.1:8420;" in policy
    assert "connect-src 'self' http://127.0.0.1:8420;" in policy
    assert "style-src 'self';" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy


# --- Whether a plan needs a card (pure) -------------------------------------------------------


def test_a_free_plan_or_a_sandbox_firm_needs_no_card_and_any_real_price_does() -> None:
    metered = MeteredPrice("calls", Aggregation.SUM, PriceModel.PER_UNIT, unit_fen=2)
    tiered = MeteredPrice(
        "gb", Aggregation.MAX, PriceModel.GRADUATED, tiers=(Tier(Decimal(5)), Tier(None, 100))
    )

    assert not needs_card(FREE, sandbox=False)
    assert not needs_card(TEAM, sandbox=True)
    assert needs_card(TEAM, sandbox=False)
    assert needs_card(PlanPrice((FlatFee(0), metered)), sandbox=False)
    assert needs_card(PlanPrice((tiered,)), sandbox=False)


@given(st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=4))
def test_flat_fees_need_a_card_exactly_when_one_is_above_zero(amounts: list[int]) -> None:
    price = PlanPrice(tuple(FlatFee(amount) for amount in amounts))

    assert needs_card(price, sandbox=False) == any(amounts)
    assert not needs_card(price, sandbox=True)


# --- Customers ---------------------------------------------------------------------------------


def test_a_firm_gets_one_stripe_customer_however_often_it_asks(
    session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm, _owner = registered_firm()

    first = cards.ensure_customer(session, clock, firm.id)
    second = cards.ensure_customer(session, clock, firm.id)

    assert first.stripe_customer_id == second.stripe_customer_id
    assert first.stripe_customer_id.startswith("cus_")
    customer = stripe_gateway.client().v1.customers.retrieve(first.stripe_customer_id)
    assert customer.metadata["organization_id"] == str(firm.id)


@pytest.fixture(scope="module")
def own_engine() -> Iterator[sa.Engine]:
    """Give the race its own migrated database: each side commits for real."""
    with backends.scratch_database("payments", has_postgres=True) as url:
        migrate.upgrade(url)
        engine = make_engine(url, pool_size=6)
        yield engine
        engine.dispose()


@pytest.mark.postgres
def test_two_requests_racing_for_a_firms_customer_leave_one_customer(
    app: Flask, own_engine: sa.Engine, stripe: StripeConnection, clock: FrozenClock
) -> None:
    with Session(own_engine) as setup:
        firms = [
            Organization(kind=OrgKind.SME, name=f"race {n}", created_at=clock.now())
            for n in range(4)
        ]
        setup.add_all(firms)
        setup.commit()
        firm_ids = [firm.id for firm in firms]
    barrier = threading.Barrier(2)
    found: dict[int, list[str]] = {firm_id: [] for firm_id in firm_ids}
    failures: list[BaseException] = []

    def ask(firm_id: int) -> None:
        try:
            with app.app_context(), Session(own_engine) as session:
                barrier.wait(timeout=10)
                customer = cards.ensure_customer(session, clock, firm_id)
                found[firm_id].append(customer.stripe_customer_id)
        except BaseException as error:
            failures.append(error)

    for firm_id in firm_ids:
        threads = [threading.Thread(target=ask, args=(firm_id,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert failures == []
    with Session(own_engine) as check:
        for firm_id in firm_ids:
            rows = check.scalars(
                sa.select(PaymentCustomer).where(PaymentCustomer.organization_id == firm_id)
            ).all()
            assert len(rows) == 1
            assert found[firm_id] == [rows[0].stripe_customer_id] * 2


# --- Recording cards -------------------------------------------------------------------------


def test_a_confirmed_setup_intent_saves_the_card_stripe_reports_as_the_default(
    session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm, owner = registered_firm()
    setup_intent_id = confirmed_setup_intent(session, clock, firm.id)

    card = cards.add_card(session, clock, Actor(owner.id, firm.id), firm.id, setup_intent_id)

    assert (card.brand, card.last4, card.exp_month, card.exp_year) == ("visa", "4242", 12, 2030)
    assert card.is_default and card.detached_at is None
    assert card.stripe_payment_method_id.startswith("pm_")
    method = stripe_gateway.client().v1.payment_methods.retrieve(card.stripe_payment_method_id)
    customer = cards.customer_of(session, firm.id)
    assert customer is not None and method.customer == customer.stripe_customer_id
    actions = session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.subject_org_id == firm.id)
    ).all()
    assert "payment_method.added" in actions


def test_saving_the_same_confirmation_twice_keeps_one_card(
    session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm, _owner = registered_firm()
    setup_intent_id = confirmed_setup_intent(session, clock, firm.id)

    first = cards.add_card(session, clock, ACTOR, firm.id, setup_intent_id)
    again = cards.add_card(session, clock, ACTOR, firm.id, setup_intent_id)

    assert first.id == again.id and len(_cards(session, firm.id)) == 1


def test_another_firms_setup_intent_is_refused_and_saves_nothing(
    session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm_a, _a = registered_firm()
    firm_b, _b = registered_firm()
    cards.ensure_customer(session, clock, firm_b.id)
    of_a = confirmed_setup_intent(session, clock, firm_a.id)

    with pytest.raises(ValidationFailed) as refused:
        cards.add_card(session, clock, ACTOR, firm_b.id, of_a)

    assert refused.value.errors == {"card": ["This card confirmation was not made for your firm."]}
    assert _cards(session, firm_b.id) == [] and _cards(session, firm_a.id) == []


@pytest.mark.parametrize(
    ("setup_intent_id", "message"),
    [
        ("", "Enter the card again: its confirmation is missing."),
        ("pm_card_visa", "Enter the card again: its confirmation is missing."),
        ("seti_" + "x" * 300, "Enter the card again: its confirmation is missing."),
        ("seti_NoSuchIntent0", "This card confirmation is unknown. Enter the card again."),
    ],
)
def test_a_missing_malformed_or_unknown_confirmation_is_refused(
    session: Session,
    clock: FrozenClock,
    stripe: StripeConnection,
    setup_intent_id: str,
    message: str,
) -> None:
    firm, _owner = registered_firm()
    cards.ensure_customer(session, clock, firm.id)

    with pytest.raises(ValidationFailed) as refused:
        cards.add_card(session, clock, ACTOR, firm.id, setup_intent_id)

    assert refused.value.errors == {"card": [message]}
    assert _cards(session, firm.id) == []


def test_an_unconfirmed_setup_intent_is_refused(
    session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm, _owner = registered_firm()
    intent = cards.start_card_setup(session, clock, firm.id)

    with pytest.raises(ValidationFailed, match="The card is not confirmed"):
        cards.add_card(session, clock, ACTOR, firm.id, intent.id)

    assert intent.status == "requires_payment_method" and _cards(session, firm.id) == []


def test_a_declined_card_is_refused_in_our_words_and_saves_nothing(
    session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm, _owner = registered_firm()
    intent = cards.start_card_setup(session, clock, firm.id)

    with pytest.raises(CardRefused) as refused, translated_errors():
        stripe_gateway.client().v1.setup_intents.confirm(intent.id, {"payment_method": DECLINED})

    assert refused.value.stripe_code == "card_declined"
    assert refused.value.errors == {
        "card": ["Your card was declined. Use another card or ask your bank."]
    }
    with pytest.raises(ValidationFailed, match="The card is not confirmed"):
        cards.add_card(session, clock, ACTOR, firm.id, intent.id)
    assert _cards(session, firm.id) == []


def test_an_unreachable_stripe_is_reported_as_unavailable(
    app: Flask, session: Session, clock: FrozenClock, localstripe: LocalStripe
) -> None:
    closed = f"http://127.0.0.1:{backends.free_port()}"
    connection = StripeConnection("sk_test_yunshi", closed, "pk_test_yunshi", closed)
    previous = stripe_gateway.connect(app, connection)
    firm, _owner = registered_firm()
    try:
        with pytest.raises(PaymentServiceUnavailable):
            cards.start_card_setup(session, clock, firm.id)
    finally:
        if previous is not None:
            stripe_gateway.connect(app, previous)
    assert cards.customer_of(session, firm.id) is None


def test_a_stripe_error_we_do_not_know_keeps_stripes_message() -> None:
    error = stripe_sdk.CardError("Your card has insufficient funds.", None, "insufficient_funds")

    with pytest.raises(CardRefused) as refused, translated_errors():
        raise error

    assert refused.value.errors == {"card": ["Your card has insufficient funds."]}


# --- Default and removal ---------------------------------------------------------------------


def test_a_second_card_becomes_default_only_when_chosen_and_one_default_remains(
    session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm, _owner = registered_firm()
    first = saved_card(session, clock, firm.id)
    second = saved_card(session, clock, firm.id)

    assert first.is_default and not second.is_default
    cards.set_default_card(session, clock, ACTOR, firm.id, second.id)

    assert [c.id for c in _cards(session, firm.id) if c.is_default] == [second.id]
    customer = cards.customer_of(session, firm.id)
    assert customer is not None
    at_stripe = stripe_gateway.client().v1.customers.retrieve(customer.stripe_customer_id)
    assert at_stripe.invoice_settings.default_payment_method == second.stripe_payment_method_id


def test_the_default_card_of_a_paying_firm_stays_until_another_is_default(
    session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm, _owner = registered_firm()
    first = saved_card(session, clock, firm.id)
    second = saved_card(session, clock, firm.id)
    subs.subscribe(session, clock, ACTOR, firm.id, new_plan(TEAM).id, 1)

    with pytest.raises(cards.DefaultCardNeeded):
        cards.remove_card(session, clock, ACTOR, firm.id, first.id)
    assert first.detached_at is None and first.is_default

    cards.set_default_card(session, clock, ACTOR, firm.id, second.id)
    cards.remove_card(session, clock, ACTOR, firm.id, first.id)

    assert first.detached_at == clock.now() and not first.is_default
    assert cards.cards_of(session, firm.id) == [second]
    method = stripe_gateway.client().v1.payment_methods.retrieve(first.stripe_payment_method_id)
    assert method.customer is None


def test_a_firm_without_paid_subscriptions_may_remove_its_only_card(
    session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm, _owner = registered_firm()
    card = saved_card(session, clock, firm.id)
    subs.subscribe(session, clock, ACTOR, firm.id, new_plan(FREE).id, 1)

    cards.remove_card(session, clock, ACTOR, firm.id, card.id)

    assert cards.cards_of(session, firm.id) == [] and cards.default_card(session, firm.id) is None


def test_another_firms_card_is_not_found(
    session: Session, clock: FrozenClock, stripe: StripeConnection
) -> None:
    firm_a, _a = registered_firm()
    firm_b, _b = registered_firm()
    card_of_a = saved_card(session, clock, firm_a.id)

    for change in (cards.set_default_card, cards.remove_card):
        with pytest.raises(NotFound):
            change(session, clock, ACTOR, firm_b.id, card_of_a.id)
    assert card_of_a.is_default and card_of_a.detached_at is None


def test_settings_without_a_publishable_key_refuse_to_start_the_gateway() -> None:
    with pytest.raises(SettingsError, match="STRIPE_PUBLISHABLE_KEY"):
        connection_of(replace(Settings(), stripe_publishable_key=None))
