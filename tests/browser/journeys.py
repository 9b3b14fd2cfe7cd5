"""Steps a person takes in the browser, shared by the browser tests."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from catalog.models import Category, Listing, ListingVersion
from marketplace.firms.uscc import make_uscc
from marketplace.orgs.models import Organization, OrgKind
from tests.browser.conftest import LiveServer

PASSWORD = "Min-river-tea-2026"
CONFIRM_LINK = re.compile(r"https?://\S+/confirm/\S+")
# Market regulator (9), enterprise (1), Fuzhou (350100): the usual code of a Fuzhou company.
FUZHOU_ENTERPRISE = ("9", "1", "350100")


@dataclass(frozen=True)
class FirmFields:
    """What a person types into the firm form (figures in 万元)."""

    legal_name: str
    uscc: str
    region_code: str = "350100"
    industry_code: str = "software_it"
    staff: str = "80"
    revenue_wan: str = "600"
    assets_wan: str = ""


def unique_email(what: str) -> str:
    """Return an address no earlier test used: the live database lasts the whole run."""
    return f"{what}-{uuid.uuid4().hex[:12]}@example.com"


def unique_uscc() -> str:
    """Return a valid credit code no other firm holds, varying the organization code."""
    return make_uscc(*FUZHOU_ENTERPRISE, uuid.uuid4().hex[:8].upper())


def with_wrong_check_character(code: str) -> str:
    """Return the code with position 18 changed, so only the final check fails."""
    return code[:17] + ("1" if code[17] != "1" else "2")


def a_firm(uscc: str | None = None) -> FirmFields:
    """Return a small software firm in Fuzhou (80 staff, 600 万元 revenue) with a unique name."""
    suffix = uuid.uuid4().hex[:6].upper()
    return FirmFields(legal_name=f"福州闽江云软件有限公司{suffix}", uscc=uscc or unique_uscc())


def sign_up(page: Page, live_server: LiveServer, email: str, password: str = PASSWORD) -> None:
    """Fill in the sign-up form and arrive at the check-your-mail page, signed in."""
    page.goto(live_server.url + "/signup")
    form = page.locator("#signup-form")
    form.locator("input[name=display_name]").fill("林晓华")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("input[name=password_confirm]").fill(password)
    form.locator("[type=submit]").click()
    expect(page).to_have_url(live_server.url + "/signup/check-mail")
    expect(page.get_by_test_id("confirm-banner")).to_be_visible()


def confirm_email(page: Page, live_server: LiveServer, email: str) -> None:
    """Open the confirmation link from the newest confirmation message sent to email."""
    match = CONFIRM_LINK.search(live_server.latest_email(email, "confirm_email"))
    assert match, "the confirmation message carries no link"
    page.goto(match.group(0))
    expect(page.get_by_test_id("confirmed")).to_be_visible()
    expect(page.get_by_test_id("confirm-banner")).to_have_count(0)


def sign_up_and_confirm(page: Page, live_server: LiveServer) -> tuple[str, str]:
    """Create an account through the pages, confirm it, and stay signed in."""
    email = unique_email("buyer")
    sign_up(page, live_server, email)
    confirm_email(page, live_server, email)
    return email, PASSWORD


def log_in(page: Page, live_server: LiveServer, email: str, password: str) -> None:
    """Submit the sign-in form once (the caller checks the outcome)."""
    page.goto(live_server.url + "/login")
    form = page.locator("#login-form")
    form.locator("input[name=email]").fill(email)
    form.locator("input[name=password]").fill(password)
    form.locator("[type=submit]").click()


def log_out(page: Page) -> None:
    """Press the log-out button in the navigation bar."""
    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("logout")).to_have_count(0)


def fill_firm_form(page: Page, firm: FirmFields) -> None:
    """Type a firm's details into the registration form, leaving it unsubmitted."""
    form = page.get_by_test_id("firm-form")
    form.locator("input[name=legal_name]").fill(firm.legal_name)
    form.locator("input[name=uscc]").fill(firm.uscc)
    form.locator("select[name=region_code]").select_option(value=firm.region_code)
    form.locator("select[name=industry_code]").select_option(value=firm.industry_code)
    form.locator("input[name=staff]").fill(firm.staff)
    form.locator("input[name=revenue_wan]").fill(firm.revenue_wan)
    form.locator("input[name=assets_wan]").fill(firm.assets_wan)


def submit_firm_form(page: Page) -> None:
    """Press the firm form's save button."""
    page.get_by_test_id("firm-form").locator("[type=submit]").click()


def register_firm(page: Page, live_server: LiveServer, firm: FirmFields) -> None:
    """Register a firm through the form and arrive at its profile page."""
    page.goto(live_server.url + "/firm/register")
    fill_firm_form(page, firm)
    submit_firm_form(page)
    expect(page).to_have_url(live_server.url + "/firm")
    expect(page.get_by_test_id("legal-name")).to_have_text(firm.legal_name)


def profile_row(live_server: LiveServer, uscc: str) -> sa.RowMapping | None:
    """Return the stored SME profile holding a credit code, if any."""
    with live_server.engine.connect() as connection:
        return (
            connection.execute(
                sa.text("SELECT * FROM sme_profiles WHERE uscc = :uscc"), {"uscc": uscc}
            )
            .mappings()
            .one_or_none()
        )


def publish_saas_listing(
    session: Session, now: datetime, vendor_name: str, name_zh: str, name_en: str = ""
) -> Listing:
    """Add a vendor with an approved, published SaaS listing (no plans), flushed."""
    slug = f"app-{uuid.uuid4().hex[:8]}"
    vendor = Organization(kind=OrgKind.VENDOR, name=f"{vendor_name} {slug}", created_at=now)
    session.add(vendor)
    session.flush()
    listing = Listing(
        vendor_id=vendor.id, slug=slug, status="published", created_at=now, updated_at=now
    )
    session.add(listing)
    session.flush()
    saas = session.scalars(sa.select(Category.id).where(Category.code == "saas")).one()
    session.add(
        ListingVersion(
            listing_id=listing.id,
            version=1,
            name_zh=name_zh,
            name_en=name_en,
            layer_category_id=saas,
            review_status="approved",
            created_at=now,
            submitted_at=now,
            published_at=now,
        )
    )
    session.flush()
    return listing
