"""A firm owner subscribes in Chromium, then gives a seat, adds seats, upgrades and cancels."""

from __future__ import annotations

import uuid
from decimal import Decimal

import sqlalchemy as sa
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from billing.models import Subscription, UsageEvent
from billing.services import subscriptions as subs
from catalog.models import Category, Listing, ListingVersion, Plan, PlanStatus, PriceComponent
from marketplace.audit.services import Actor
from marketplace.clock import SystemClock
from marketplace.orgs.models import Membership, Organization, OrgKind, Role
from tests.browser.conftest import LiveServer
from tests.browser.journeys import a_firm, register_firm, sign_up_and_confirm, unique_email
from tests.factories import PASSWORD_HASH

PHONE = {"width": 390, "height": 844}


def _plan(listing: Listing, code: str, name: str, flat_fen: int, now: object) -> Plan:
    return Plan(
        listing_id=listing.id,
        code=code,
        name_zh=name,
        status=PlanStatus.PUBLISHED,
        created_at=now,
        published_at=now,
        components=[
            PriceComponent(position=0, kind="flat", amount_fen=flat_fen),
            PriceComponent(
                position=1, kind="seat", unit_amount_fen=3000, min_seats=1, max_seats=50
            ),
            PriceComponent(
                position=2,
                kind="metered",
                dimension="api_calls",
                unit_name_zh="次调用",
                unit_name_en="calls",
                aggregation="sum",
                model="per_unit",
                unit_amount_fen=2,
                included_quantity=Decimal(0),
            ),
        ],
    )


def _publish_listing(live_server: LiveServer) -> tuple[int, str]:
    """Publish a service with a team plan (¥100) and a business plan (¥300), ¥30 a seat."""
    now = SystemClock().now()
    slug = f"crm-{uuid.uuid4().hex[:8]}"
    with Session(live_server.engine) as session:
        vendor = Organization(kind=OrgKind.VENDOR, name=f"闽江软件 {slug}", created_at=now)
        session.add(vendor)
        session.flush()
        listing = Listing(
            vendor_id=vendor.id, slug=slug, status="published", created_at=now, updated_at=now
        )
        session.add(listing)
        session.flush()
        session.add(
            ListingVersion(
                listing_id=listing.id,
                version=1,
                name_zh="闽江客户管理",
                layer_category_id=session.scalars(
                    sa.select(Category.id).where(Category.code == "saas")
                ).one(),
                review_status="approved",
                created_at=now,
                submitted_at=now,
                published_at=now,
            )
        )
        session.add(_plan(listing, "team", "团队版", 10000, now))
        session.add(_plan(listing, "business", "企业版", 30000, now))
        session.commit()
        return vendor.id, slug


def _firm_of(live_server: LiveServer, legal_name: str) -> int:
    with live_server.engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT organization_id FROM sme_profiles WHERE legal_name = :n"),
                {"n": legal_name},
            ).scalar_one()
        )


def _add_colleague(live_server: LiveServer, firm_id: int) -> int:
    from marketplace.accounts.models import User

    now = SystemClock().now()
    with Session(live_server.engine) as session:
        user = User(
            email=unique_email("colleague"),
            display_name="陈美玲",
            password_hash=PASSWORD_HASH,
            email_confirmed_at=now,
            created_at=now,
        )
        session.add(user)
        session.flush()
        session.add(
            Membership(user_id=user.id, organization_id=firm_id, role=Role.MEMBER, created_at=now)
        )
        session.commit()
        return user.id


def _activate_as_the_vendor(live_server: LiveServer, firm_id: int) -> None:
    with Session(live_server.engine) as session:
        subscription = session.scalars(
            sa.select(Subscription).where(Subscription.organization_id == firm_id)
        ).one()
        subs.activate(
            session,
            SystemClock(),
            Actor(None),
            subscription.vendor_id,
            subscription.id,
            sandbox=False,
        )
        now = SystemClock().now()
        session.add(
            UsageEvent(
                vendor_id=subscription.vendor_id,
                subscription_id=subscription.id,
                dimension="api_calls",
                quantity=Decimal(1200),
                occurred_at=now,
                idempotency_key=uuid.uuid4().hex,
                received_at=now,
            )
        )
        session.commit()


def test_a_firm_owner_subscribes_gives_a_seat_adds_seats_upgrades_and_cancels(
    page: Page, live_server: LiveServer
) -> None:
    sign_up_and_confirm(page, live_server)
    firm = a_firm()
    register_firm(page, live_server, firm)
    firm_id = _firm_of(live_server, firm.legal_name)
    vendor_id, slug = _publish_listing(live_server)

    page.goto(f"{live_server.url}/services/{vendor_id}/{slug}")
    page.get_by_test_id("subscribe-team").click()
    expect(page.get_by_test_id("period-price")).to_have_text("¥130.00")
    expect(page.get_by_test_id("card-step-note")).to_be_visible()
    page.locator("input[name=seats]").fill("0")
    page.get_by_test_id("subscribe-form").locator("[type=submit]").click()
    expect(page.locator(".invalid-feedback")).to_contain_text("请选择 1 至 50 个席位")
    page.locator("input[name=seats]").fill("1")
    page.get_by_test_id("subscribe-form").locator("[type=submit]").click()
    # The card step: a test card typed into the Stripe.js localstripe serves.
    card = page.get_by_test_id("card-element")
    card.locator("input[placeholder=number]").fill("4242424242424242")
    card.locator("input[placeholder=exp_month]").fill("12")
    card.locator("input[placeholder=exp_year]").fill("30")
    card.locator("input[placeholder=cvc]").fill("123")
    page.get_by_test_id("pay-submit").click()

    expect(page.get_by_test_id("service-name")).to_have_text("闽江客户管理")
    expect(page.get_by_test_id("status")).to_have_text("等待服务商开通")
    expect(page.get_by_test_id("pending-notice")).to_be_visible()

    _activate_as_the_vendor(live_server, firm_id)
    colleague_id = _add_colleague(live_server, firm_id)
    page.reload()
    expect(page.get_by_test_id("status")).to_have_text("正常")
    expect(page.get_by_test_id("usage-total-api_calls")).to_have_text("1,200")
    chart = page.get_by_test_id("usage-chart-api_calls")
    expect(chart).to_be_visible()
    assert chart.evaluate("image => image.complete && image.naturalWidth > 0")

    row = page.get_by_test_id(f"seat-member-{colleague_id}")
    row.get_by_test_id("assign").click()
    expect(row.get_by_test_id("holds-seat")).to_be_visible()
    expect(page.get_by_test_id("seats-used")).to_have_text("1 / 1")

    page.locator("#seats-seats").fill("3")
    page.get_by_test_id("seats-form").locator("[type=submit]").click()
    expect(page.get_by_test_id("seats-used")).to_have_text("1 / 3")
    expect(page.get_by_test_id("estimate")).to_contain_text("本周期剩余时间新增 2 个席位")

    page.get_by_test_id("plan-choice-business").check()
    page.get_by_test_id("plan-form").locator("[type=submit]").click()
    expect(page.get_by_test_id("plan-name")).to_have_text("企业版")

    page.get_by_test_id("cancel-link").click()
    page.get_by_test_id("cancel-form").locator("[type=submit]").click()
    expect(page.get_by_test_id("ending-notice")).to_be_visible()
    expect(page.get_by_test_id("ends-at-period-end")).to_be_visible()

    page.set_viewport_size(PHONE)
    page.reload()
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    page.goto(f"{live_server.url}/subscriptions")
    expect(page.get_by_test_id("subscriptions")).to_contain_text("闽江客户管理")
    assert not page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
