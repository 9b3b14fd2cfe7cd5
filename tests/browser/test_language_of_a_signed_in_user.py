"""A signed-in user's language choice follows them from page to page and session to session."""

from __future__ import annotations

import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.journeys import log_in, log_out, sign_up_and_confirm


def _saved_locale(live_server: LiveServer, email: str) -> str | None:
    with live_server.engine.connect() as connection:
        locale = connection.execute(
            sa.text("SELECT locale FROM users WHERE email = :email"), {"email": email}
        ).scalar_one()
    return None if locale is None else str(locale)


def test_english_chosen_on_a_signed_in_page_stays_across_pages_and_the_next_login(
    page: Page, live_server: LiveServer
) -> None:
    email, password = sign_up_and_confirm(page, live_server)
    page.goto(live_server.url + "/settings")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    page.get_by_test_id("lang-en").click()
    expect(page).to_have_url(live_server.url + "/settings")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("select[name=locale]")).to_have_value("en")
    assert _saved_locale(live_server, email) == "en"

    page.goto(live_server.url + "/firm/register")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_test_id("nav-register-firm")).to_have_text("Register your firm")

    log_out(page)
    # A new browser has no session: only the saved choice can bring English back.
    page.context.clear_cookies()
    page.goto(live_server.url + "/login")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")

    log_in(page, live_server, email, password)
    expect(page.get_by_test_id("logout")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(live_server.url + "/settings")
    expect(page.locator("html")).to_have_attribute("lang", "en")
