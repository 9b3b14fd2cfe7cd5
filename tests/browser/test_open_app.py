"""A seat holder opens a vendor app from the subscription in Chromium and signs in by SSO.

The app is the demo vendor app in examples/vendor_app, running as its own process: Yunshi
sends the user to its login-initiation URI, the app runs the code flow with PKCE through
Authlib, shows the verified claims, and its sign-out ends the Yunshi session too.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests import backends
from tests.browser.conftest import LiveServer
from tests.browser.journeys import PASSWORD, log_in
from tests.browser.vendor_app import (
    AppListing,
    SeatHolder,
    running_vendor_app,
    seed_app_listing,
    seed_seat_holder,
)

PHONE: ViewportSize = {"width": 390, "height": 844}


class VendorApp:
    """The running demo app and the listing whose client it is."""

    def __init__(self, url: str, listing: AppListing) -> None:
        self.url = url
        self.listing = listing


@pytest.fixture(scope="module")
def vendor_app(live_server: LiveServer) -> Iterator[VendorApp]:
    """Run the demo vendor app for this module, registered as a listing's app client."""
    port = backends.free_port()
    listing = seed_app_listing(live_server, f"http://127.0.0.1:{port}")
    with running_vendor_app(port, live_server.url, listing) as url:
        yield VendorApp(url, listing)


def _claim(page: Page, table: str, name: str) -> str:
    return page.locator(f"#{table} tr[data-claim='{name}'] td").inner_text()


def _open_app_and_consent(page: Page, live_server: LiveServer, holder: SeatHolder) -> None:
    """Sign in, open the subscription, press Open app and allow the consent."""
    log_in(page, live_server, holder.email, PASSWORD)
    expect(page.get_by_test_id("logout")).to_have_count(1)
    page.goto(f"{live_server.url}/subscriptions/{holder.subscription_id}")
    page.get_by_test_id("open-app").click()
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/oauth/authorize\?"))
    page.locator("#consent-allow").click()


def _scrolls_sideways(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))


def test_a_seat_holder_opens_the_app_sees_the_firm_claims_and_signing_out_there_ends_yunshi(
    page: Page, live_server: LiveServer, vendor_app: VendorApp
) -> None:
    holder = seed_seat_holder(live_server, vendor_app.listing)

    _open_app_and_consent(page, live_server, holder)

    expect(page).to_have_url(vendor_app.url + "/")
    expect(page.locator("#signed-in-as")).to_contain_text(holder.email)
    expect(page.locator("#claims tr[data-claim='firm_name'] td")).to_have_text(holder.firm_name)
    assert _claim(page, "claims", "plan") == "team"
    assert _claim(page, "claims", "seat_status") == "assigned"
    assert _claim(page, "claims", "firm_role") == "owner"
    assert _claim(page, "claims", "subscription_id") == str(holder.subscription_id)
    assert _claim(page, "claims", "iss") == live_server.url
    assert _claim(page, "claims", "aud") == vendor_app.listing.client_id
    assert _claim(page, "userinfo", "email") == holder.email
    assert _claim(page, "userinfo", "name") == "林晓华"
    assert _claim(page, "userinfo", "sub") == _claim(page, "claims", "sub")

    page.locator("#logout").click()

    expect(page.locator("#signed-out")).to_be_visible()
    expect(page).to_have_url(re.compile(re.escape(vendor_app.url) + r"/\?state="))
    page.goto(f"{live_server.url}/subscriptions/{holder.subscription_id}")
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/login\b"))


def test_a_second_open_after_consent_goes_straight_into_the_app(
    page: Page, live_server: LiveServer, vendor_app: VendorApp
) -> None:
    holder = seed_seat_holder(live_server, vendor_app.listing)
    _open_app_and_consent(page, live_server, holder)
    expect(page.locator("#signed-in-as")).to_be_visible()

    page.goto(f"{live_server.url}/subscriptions/{holder.subscription_id}")
    page.get_by_test_id("open-app").click()

    expect(page).to_have_url(vendor_app.url + "/")
    expect(page.locator("#claims tr[data-claim='firm_name'] td")).to_have_text(holder.firm_name)


def test_the_app_and_the_subscription_page_fit_a_phone(
    page: Page, live_server: LiveServer, vendor_app: VendorApp
) -> None:
    page.set_viewport_size(PHONE)
    holder = seed_seat_holder(live_server, vendor_app.listing)
    log_in(page, live_server, holder.email, PASSWORD)
    page.goto(f"{live_server.url}/subscriptions/{holder.subscription_id}")
    expect(page.get_by_test_id("open-app")).to_be_visible()
    assert not _scrolls_sideways(page)

    page.get_by_test_id("open-app").click()
    page.locator("#consent-allow").click()

    expect(page.locator("#claims")).to_be_visible()
    assert not _scrolls_sideways(page)


@pytest.mark.parametrize("query", ["?iss=https://id.example.com", "?iss=", ""])
def test_the_app_refuses_a_login_started_for_another_issuer_or_none(
    vendor_app: VendorApp, query: str
) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(vendor_app.url + "/login" + query, timeout=5)

    assert refused.value.code == 400


def _sign_in_at_yunshi(page: Page, live_server: LiveServer, email: str) -> None:
    """Fill Yunshi's sign-in form the app sent the browser to."""
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/login\?"))
    form = page.locator("#login-form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(PASSWORD)
    form.locator("[type=submit]").click()


def test_a_user_starting_at_the_app_signs_in_at_yunshi_and_comes_back_each_time(
    page: Page, live_server: LiveServer, vendor_app: VendorApp
) -> None:
    holder = seed_seat_holder(live_server, vendor_app.listing)
    page.goto(vendor_app.url + "/")
    page.locator("#sign-in").click()
    _sign_in_at_yunshi(page, live_server, holder.email)
    page.locator("#consent-allow").click()
    expect(page.locator("#claims tr[data-claim='firm_name'] td")).to_have_text(holder.firm_name)
    page.locator("#logout").click()
    expect(page.locator("#signed-out")).to_be_visible()

    page.locator("#sign-in").click()
    _sign_in_at_yunshi(page, live_server, holder.email)

    expect(page).to_have_url(vendor_app.url + "/")
    expect(page.locator("#claims tr[data-claim='seat_status'] td")).to_have_text("assigned")
