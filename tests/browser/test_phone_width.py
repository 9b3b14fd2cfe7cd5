"""At a phone's width the navigation folds away and the firm form fits the screen."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.journeys import a_firm, fill_firm_form, sign_up_and_confirm, submit_firm_form

PHONE = {"width": 390, "height": 844}


def _scrolls_sideways(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))


def test_the_firm_form_fits_a_phone_and_the_navigation_folds_into_the_menu_button(
    page: Page, live_server: LiveServer
) -> None:
    page.set_viewport_size(PHONE)
    sign_up_and_confirm(page, live_server)
    page.goto(live_server.url + "/firm/register")

    assert not _scrolls_sideways(page)
    toggler = page.locator("button.navbar-toggler")
    register_link = page.get_by_test_id("nav-register-firm")
    expect(toggler).to_be_visible()
    expect(toggler).to_have_attribute("aria-expanded", "false")
    expect(register_link).to_be_hidden()
    expect(page.get_by_test_id("logout")).to_be_hidden()

    toggler.click()
    expect(toggler).to_have_attribute("aria-expanded", "true")
    expect(register_link).to_be_visible()
    expect(page.get_by_test_id("logout")).to_be_visible()
    # Bootstrap ignores a click while the menu is still sliding open.
    expect(page.locator("#nav")).to_have_class(re.compile(r"\bshow\b"))
    toggler.click()
    expect(register_link).to_be_hidden()

    firm = a_firm()
    fill_firm_form(page, firm)
    submit_firm_form(page)
    expect(page).to_have_url(live_server.url + "/firm")
    expect(page.get_by_test_id("legal-name")).to_have_text(firm.legal_name)
    expect(page.get_by_test_id("size-class")).to_be_visible()
    assert not _scrolls_sideways(page)
