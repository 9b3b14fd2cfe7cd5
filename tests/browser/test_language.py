"""The interface speaks Chinese first and switches to English and back."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer


def test_the_home_page_is_in_chinese_and_switches_to_english_and_back(
    page: Page, live_server: LiveServer
) -> None:
    page.goto(live_server.url + "/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("lang-en")).to_be_visible()

    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Cloud services")

    page.get_by_test_id("lang-zh_CN").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
