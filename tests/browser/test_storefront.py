"""Browse the storefront in Chromium: a category, a search in Chinese, a listing, a quote."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from catalog.demo import load_catalog_demo
from catalog.demo_listings import HAILU, YUNFAN, ZHIZAO
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Organization, OrgKind
from tests.browser.conftest import LiveServer

PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def catalog(live_server: LiveServer) -> LiveServer:
    """Publish the demo catalog on the live server, under demo vendors of its own."""
    clock = FrozenClock(datetime(2026, 3, 2, 1, 30, tzinfo=UTC))
    with Session(live_server.engine) as session:
        known = set(session.scalars(sa.select(Organization.name)))
        for name in (YUNFAN, HAILU, ZHIZAO):
            if name not in known:
                session.add(Organization(kind=OrgKind.VENDOR, name=name, created_at=clock.now()))
        session.flush()
        load_catalog_demo(session, clock)
    return live_server


def test_a_visitor_browses_searches_compares_plans_and_prices_one(
    page: Page, catalog: LiveServer
) -> None:
    page.goto(catalog.url + "/")
    page.get_by_test_id("nav-services").click()
    expect(page.get_by_test_id("listing-card").first).to_be_visible()

    page.get_by_test_id("category-manufacturing").click()
    cards = page.get_by_test_id("listing-card")
    expect(cards.filter(has_text="智造 MES 生产管理")).to_be_visible()
    expect(cards.filter(has_text="海鹭财务云")).to_have_count(0)

    page.get_by_test_id("category-finance").click()
    page.get_by_test_id("search-box").fill("财务")
    page.get_by_test_id("search-submit").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("¥900.00")

    cards.first.get_by_role("link", name="海鹭财务云").click()
    expect(page.get_by_test_id("listing-name")).to_have_text("海鹭财务云")
    comparison = page.get_by_test_id("plan-comparison")
    expect(comparison.get_by_test_id("plan-standard")).to_have_text("标准版")
    expect(comparison.get_by_test_id("plan-yearly")).to_have_text("标准版（年付）")
    expect(comparison).to_contain_text("¥300.00")

    page.locator("#plan").select_option("standard")
    page.locator("#seats").fill("2")
    page.get_by_test_id("calculate").click()
    expect(page.get_by_test_id("error-seats")).to_be_visible()
    expect(page.get_by_test_id("quote-total")).to_have_count(0)

    page.locator("#seats").fill("5")
    page.get_by_test_id("calculate").click()
    expect(page.get_by_test_id("quote-total")).to_have_text("¥150.00")


def test_the_api_gateway_quote_rounds_calls_up_to_whole_packages_at_phone_width(
    page: Page, catalog: LiveServer
) -> None:
    page.set_viewport_size(PHONE)
    page.goto(catalog.url + "/services?q=" + "网关")
    page.get_by_role("link", name="API 网关").click()

    page.locator("#usage-api_calls").fill("12001")
    page.get_by_test_id("calculate").click()

    # 10,000 calls are free; 2,001 more are three packages of 1,000 at ¥1.50.
    expect(page.get_by_test_id("quote-total")).to_have_text("¥4.50")
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
