"""Checkout in Chromium: a card typed into the Stripe.js that localstripe serves.

The card goes from the page to localstripe (the fake Stripe); our server only gets the
SetupIntent's id and asks localstripe what was saved.
"""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.journeys import a_firm, register_firm, sign_up_and_confirm
from tests.browser.test_subscriptions import _firm_of, _publish_listing

# localstripe's test cards: one it accepts, and the one it declines when a card is saved.
GOOD_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"


def _count(live_server: LiveServer, table: str, firm_id: int) -> int:
    with live_server.engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(f"SELECT count(*) FROM {table} WHERE organization_id = :firm"),
                {"firm": firm_id},
            ).scalar_one()
        )


def _to_card_step(page: Page, live_server: LiveServer, seats: str) -> int:
    """Sign up, register a firm, pick the team plan and seats; return the firm's id."""
    sign_up_and_confirm(page, live_server)
    firm = a_firm()
    register_firm(page, live_server, firm)
    vendor_id, slug = _publish_listing(live_server)
    page.goto(f"{live_server.url}/services/{vendor_id}/{slug}")
    page.get_by_test_id("subscribe-team").click()
    expect(page.get_by_test_id("card-step-note")).to_be_visible()
    page.locator("input[name=seats]").fill(seats)
    page.get_by_test_id("subscribe-form").locator("[type=submit]").click()
    expect(page.get_by_test_id("pay-form")).to_be_visible()
    return _firm_of(live_server, firm.legal_name)


def _type_card(page: Page, number: str) -> None:
    """Type a card into the field Stripe.js (here localstripe's) mounted in the page."""
    field = page.get_by_test_id("card-element")
    field.locator("input[placeholder=number]").fill(number)
    field.locator("input[placeholder=exp_month]").fill("12")
    field.locator("input[placeholder=exp_year]").fill("30")
    field.locator("input[placeholder=cvc]").fill("123")


def test_a_firm_subscribes_to_a_paid_plan_with_a_card_entered_through_stripe_js(
    page: Page, live_server: LiveServer
) -> None:
    firm_id = _to_card_step(page, live_server, "2")
    expect(page.get_by_test_id("period-price")).to_have_text("¥160.00")

    _type_card(page, GOOD_CARD)
    page.get_by_test_id("pay-submit").click()

    expect(page.get_by_test_id("service-name")).to_have_text("闽江客户管理")
    expect(page.get_by_test_id("status")).to_have_text("等待服务商开通")
    assert _count(live_server, "subscriptions", firm_id) == 1
    assert _count(live_server, "payment_methods", firm_id) == 1

    page.get_by_test_id("nav-cards").click()
    expect(page.get_by_test_id("card-4242")).to_contain_text("Visa •••• 4242")
    expect(page.get_by_test_id("default-badge")).to_be_visible()


def test_a_declined_card_says_so_by_the_card_field_and_creates_nothing(
    page: Page, live_server: LiveServer
) -> None:
    firm_id = _to_card_step(page, live_server, "1")

    _type_card(page, DECLINED_CARD)
    page.get_by_test_id("pay-submit").click()

    expect(page.get_by_test_id("card-errors")).to_have_text(
        "您的银行卡被拒绝。请使用其他银行卡或联系您的银行。"
    )
    expect(page.get_by_test_id("pay-form")).to_be_visible()
    assert _count(live_server, "subscriptions", firm_id) == 0
    assert _count(live_server, "payment_methods", firm_id) == 0
