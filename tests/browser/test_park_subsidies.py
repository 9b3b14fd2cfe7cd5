"""A park admin runs a subsidy program in Chromium, from its rules form to the XLSX export.

The admin creates and activates a program, a member firm applies and is approved, an
invoice run finalizes the firm's invoice, and the admin reads the burn-down and opens the
downloaded grants and announcement lists. Pages are found by test id, form action and
figures, not by wording, so the journey holds while the translations are written.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from openpyxl import load_workbook
from playwright.sync_api import Locator, Page, ViewportSize, expect
from sqlalchemy.orm import Session

from app import create_app
from billing.models import Invoice, InvoiceStatus
from billing.services import invoices
from billing.services.close import close_due_periods, finalize_due_invoices
from billing.services.subscriptions import subscribe
from billing.subsidies import ledger
from catalog.models import Plan, PlanStatus, PriceComponent
from marketplace.accounts.services import create_confirmed_user
from marketplace.audit.services import Actor
from marketplace.clock import MARKET_TIME_ZONE, FrozenClock, SystemClock, current_clock
from marketplace.extensions import db
from marketplace.firms.services.firm_details import FirmDetails
from marketplace.firms.services.parks import approve_park_request, request_to_join_park
from marketplace.firms.services.profiles import register_firm
from marketplace.orgs.models import OrgKind
from marketplace.orgs.services import create_organization
from tests.browser.conftest import LiveServer
from tests.browser.journeys import (
    PASSWORD,
    a_firm,
    log_in,
    log_out,
    publish_saas_listing,
    unique_email,
)
from tests.conftest import make_test_settings

PHONE: ViewportSize = {"width": 390, "height": 844}
MONTHLY_FEE_FEN = 10_000  # ¥100.00 a month, the firm's only charge
BUDGET_YUAN = "10000"
CAP_PER_INVOICE_YUAN = "30"
GRANT_FEN = 3_000  # 50% of ¥100 is ¥50, capped at ¥30 an invoice
# The firm subscribed this long ago, so its first invoice is past the 48-hour grace now.
SUBSCRIBED_AGO = timedelta(days=3)
APPLICATION_MESSAGE = "我司为园区入驻的小型软件企业，申请上云补贴。"


@dataclass(frozen=True)
class Cast:
    """The park, its admin and the member firm, with their sign-in addresses."""

    park_id: int
    park_name: str
    admin_email: str
    firm_id: int
    owner_email: str
    legal_name: str
    uscc: str


def _saas_listing(session: Session, now: datetime) -> Plan:
    """Publish a vendor's SaaS listing with a ¥100-a-month plan that starts at once."""
    listing = publish_saas_listing(session, now, "榕城软件", "榕城协同办公")
    plan = Plan(
        listing_id=listing.id,
        code="standard",
        name_zh="标准版",
        status=PlanStatus.PUBLISHED,
        auto_activate=True,
        created_at=now,
        published_at=now,
        components=[PriceComponent(position=0, kind="flat", amount_fen=MONTHLY_FEE_FEN)],
    )
    session.add(plan)
    session.commit()
    return plan


def _seed(live_server: LiveServer) -> Cast:
    """Add a park with its admin, and a member SME whose owner subscribed days ago."""
    clock = FrozenClock(SystemClock().now() - SUBSCRIBED_AGO)
    suffix = uuid.uuid4().hex[:6].upper()
    fields = a_firm()
    with Session(live_server.engine) as session:
        admin = create_confirmed_user(
            session, clock, display_name="郑园区", email=unique_email("park"), password=PASSWORD
        )
        park = create_organization(
            session,
            clock,
            kind=OrgKind.PARK,
            name=f"榕江软件园{suffix}",
            owner=admin,
            actor=Actor(None),
        )
        owner = create_confirmed_user(
            session, clock, display_name="林晓华", email=unique_email("owner"), password=PASSWORD
        )
        details = FirmDetails(
            legal_name=fields.legal_name,
            uscc=fields.uscc,
            region_code=fields.region_code,
            industry_code=fields.industry_code,
            staff=fields.staff,
            revenue_wan=fields.revenue_wan,
        )
        firm_id = register_firm(session, clock, Actor(owner.id), details).organization_id
        owner_actor = Actor(owner.id, firm_id)
        request = request_to_join_park(session, clock, owner_actor, firm_id, park.id, "")
        approve_park_request(session, clock, Actor(admin.id, park.id), park.id, request.id)
        plan = _saas_listing(session, clock.now())
        subscribe(session, clock, owner_actor, firm_id, plan.id)
        return Cast(
            park.id, park.name, admin.email, firm_id, owner.email, fields.legal_name, fields.uscc
        )


@pytest.fixture(scope="module")
def billing_app(browser_database_url: str, redis_url: str | None) -> Iterator[Flask]:
    """Build the app over the live server's database, for the jobs it runs off the web."""
    application = create_app(make_test_settings(browser_database_url, redis_url))
    yield application
    application.extensions["db_engine"].dispose()


def _run_the_close(app: Flask, firm_id: int) -> None:
    """Close the firm's due periods and finalize its invoices, as the periodic job does."""
    with app.app_context():
        session, clock = db.session(), current_clock()
        close_due_periods(session, clock, organization_ids=[firm_id])
        finalize_due_invoices(session, clock, organization_ids=[firm_id])


def _pay_open_invoices(app: Flask, firm_id: int) -> None:
    """Record the firm's payment of its open invoices and settle their grants."""
    with app.app_context():
        session, clock = db.session(), current_clock()
        for invoice in session.scalars(
            sa.select(Invoice).where(
                Invoice.organization_id == firm_id, Invoice.status == InvoiceStatus.OPEN
            )
        ).all():
            invoices.mark_paid(session, clock, Actor(None), invoice)
            # What the outbox handler of invoice.paid does; no job worker runs here.
            ledger.confirm_invoice(session, clock, invoice.id)
            session.commit()


def _subsidy_on_invoices(live_server: LiveServer, firm_id: int, program_id: int) -> int:
    """Return the sum of the program's subsidy lines on the firm's finalized invoices."""
    with live_server.engine.connect() as connection:
        return int(
            connection.execute(
                sa.text(
                    "SELECT coalesce(sum(l.amount_fen), 0) FROM invoice_lines l "
                    "JOIN invoices i ON i.id = l.invoice_id "
                    "WHERE i.organization_id = :firm AND i.status <> 'draft' "
                    "AND l.kind = 'subsidy' AND l.subsidy_program_id = :program"
                ),
                {"firm": firm_id, "program": program_id},
            ).scalar_one()
        )


def _enrollment_status(live_server: LiveServer, firm_id: int, program_id: int) -> str | None:
    with live_server.engine.connect() as connection:
        found = connection.execute(
            sa.text(
                "SELECT status FROM subsidy_enrollments "
                "WHERE firm_id = :firm AND program_id = :program"
            ),
            {"firm": firm_id, "program": program_id},
        ).scalar_one_or_none()
        return None if found is None else str(found)


def _sign_in(page: Page, live_server: LiveServer, email: str) -> None:
    log_in(page, live_server, email, PASSWORD)
    expect(page.get_by_test_id("logout")).to_be_visible()


def _local_today() -> date:
    return SystemClock().now().astimezone(MARKET_TIME_ZONE).date()


def _fill_program_form(page: Page, name: str) -> None:
    """Type an application-mode program: budget, window, a 50% rate, a cap, small firms."""
    today = _local_today()
    form = page.get_by_test_id("program-form")
    form.locator("input[name=name]").fill(name)
    form.locator("input[name=budget]").fill(BUDGET_YUAN)
    form.locator("textarea[name=description]").fill("入园中小企业上云，按账单 50% 补贴。")
    form.locator("input[name=enrollment][value=application]").check()
    form.locator("input[name=invoices_from]").fill(today.isoformat())
    form.locator("input[name=invoices_until]").fill((today + timedelta(days=60)).isoformat())
    form.locator("input[name='rate_steps-0-starts_on']").fill(today.isoformat())
    form.locator("input[name='rate_steps-0-default_rate']").fill("50")
    form.locator("input[name=cap_per_invoice]").fill(CAP_PER_INVOICE_YUAN)
    for size, wanted in (("micro", True), ("small", True), ("medium", False), ("large", False)):
        form.locator(f"input[name=size_classes][value={size}]").set_checked(wanted)


def _create_and_activate(page: Page, live_server: LiveServer, name: str) -> int:
    """Create the program through its form, activate it, and return its id."""
    page.get_by_test_id("nav-subsidies").click()
    page.get_by_test_id("new-program").click()
    _fill_program_form(page, name)
    page.get_by_test_id("program-form").locator("[type=submit]").click()
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + r"/park/subsidies/\d+$"))
    program_id = int(page.url.rsplit("/", 1)[1])
    expect(page.locator("h1")).to_have_text(name)
    expect(page.get_by_test_id("budget")).to_have_text("¥10,000.00")
    expect(page.get_by_test_id("rules")).to_contain_text("¥30.00")
    page.locator(f"form[action$='/park/subsidies/{program_id}/activate'] button").click()
    expect(
        page.locator(f"form[action$='/park/subsidies/{program_id}/pause'] button")
    ).to_be_visible()
    expect(page.locator(f"form[action$='/park/subsidies/{program_id}/activate']")).to_have_count(0)
    return program_id


def _apply_as_the_firm(page: Page, program_id: int, name: str) -> None:
    page.get_by_test_id("nav-firm-subsidies").click()
    card = page.get_by_test_id(f"program-{program_id}")
    expect(card).to_contain_text(name)
    card.get_by_test_id("apply").click()
    form = page.locator("form:has(textarea[name=message])")
    form.locator("textarea[name=message]").fill(APPLICATION_MESSAGE)
    form.locator("[type=submit]").click()
    card = page.get_by_test_id(f"program-{program_id}")
    expect(card.get_by_test_id("withdraw")).to_be_visible()
    expect(card.get_by_test_id("apply")).to_have_count(0)


def _approve(page: Page, cast: Cast) -> None:
    page.get_by_test_id("nav-subsidy-applications").click()
    row = page.get_by_test_id("applications").locator("tbody tr", has_text=cast.legal_name)
    expect(row).to_have_count(1)
    expect(row).to_contain_text(cast.uscc)
    expect(row.get_by_test_id("message")).to_have_text(APPLICATION_MESSAGE)
    expect(row.get_by_test_id("size-class")).to_have_text("小型")
    row.locator("form[action$='/approve'] button").click()
    row = page.get_by_test_id("applications").locator("tbody tr", has_text=cast.legal_name)
    expect(row.locator("form[action$='/approve']")).to_have_count(0)


def _download(page: Page, link: Locator) -> list[tuple[Any, ...]]:
    """Click a download link and return the rows of the workbook's sheet."""
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    # openpyxl goes by the file name's extension, which Playwright's own copy lacks.
    sheet = load_workbook(io.BytesIO(download.path().read_bytes()), read_only=True).active
    assert sheet is not None
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def _row_of(rows: list[tuple[Any, ...]], legal_name: str) -> tuple[Any, ...]:
    found = [row for row in rows if legal_name in row]
    assert len(found) == 1, rows
    return found[0]


def _scrolls_sideways(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth > window.innerWidth"))


def test_a_park_admin_runs_a_program_from_its_form_to_the_xlsx_export(
    page: Page, live_server: LiveServer, billing_app: Flask
) -> None:
    cast = _seed(live_server)
    name = f"上云补贴{uuid.uuid4().hex[:6].upper()}"

    _sign_in(page, live_server, cast.admin_email)
    program_id = _create_and_activate(page, live_server, name)
    log_out(page)

    _sign_in(page, live_server, cast.owner_email)
    _apply_as_the_firm(page, program_id, name)
    assert _enrollment_status(live_server, cast.firm_id, program_id) == "applied"
    log_out(page)

    _sign_in(page, live_server, cast.admin_email)
    _approve(page, cast)
    assert _enrollment_status(live_server, cast.firm_id, program_id) == "approved"

    _run_the_close(billing_app, cast.firm_id)
    assert _subsidy_on_invoices(live_server, cast.firm_id, program_id) == -GRANT_FEN

    page.goto(f"{live_server.url}/park/subsidies/{program_id}")
    page.get_by_test_id("burn-down-link").click()
    today = page.get_by_test_id(f"day-{_local_today().isoformat()}")
    expect(today.locator("td")).to_have_text(["¥0.00", "¥30.00", "¥9,970.00"])
    expect(page.get_by_test_id("budget")).to_contain_text("¥9,970.00")
    chart = page.get_by_test_id("burn-down-chart")
    expect(chart).to_be_visible()
    assert (chart.get_attribute("src") or "").startswith("data:image/svg+xml;base64,")
    assert chart.evaluate("image => image.complete && image.naturalWidth > 0")

    grants = _download(page, page.locator("a[href*='/exports/grants.xlsx']"))
    row = _row_of(grants, cast.legal_name)
    assert (row[3], row[5], row[7]) == (cast.uscc, name, Decimal("30.00"))
    assert cast.park_name in str(grants[0][0])

    # Paid, the grant is settled and enters the public announcement list (公示名单).
    _pay_open_invoices(billing_app, cast.firm_id)
    page.reload()
    expect(today.locator("td")).to_have_text(["¥30.00", "¥0.00", "¥9,970.00"])
    announced = _download(page, page.locator("a[href*='/exports/announcement.xlsx']"))
    row = _row_of(announced, cast.legal_name)
    assert row[1:] == (cast.legal_name, cast.uscc, name, Decimal("30.00"))
    assert announced[-1][-1] == Decimal("30.00")

    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/park/subsidies")
    expect(page.get_by_test_id(f"program-{program_id}")).to_contain_text(name)
    assert not _scrolls_sideways(page)
    page.goto(f"{live_server.url}/park/subsidies/{program_id}/burn-down")
    expect(page.get_by_test_id("burn-down-chart")).to_be_visible()
    assert not _scrolls_sideways(page)
