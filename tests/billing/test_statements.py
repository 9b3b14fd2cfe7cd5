"""Vendor statements: the month's figures, the pages, the CSV, and who may see them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from billing.models import CreditNote, Invoice, Subscription, UsageEvent
from billing.services import subscriptions as subs
from billing.statements import Month, StatementEntry, build_statement, month_of, parse_month
from catalog.pricing import Aggregation, MeteredPrice, PlanPrice, PriceModel
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Organization, OrgKind
from tests.billing.conftest import ACTOR, TEAM, add_plan, firm, new_plan
from tests.catalog.storefront_data import publish_listing
from tests.factories import make_member, make_org
from tests.sessions import sign_in

MARCH = Month(2026, 3)


def _entry(amount: int, day: int = 5) -> StatementEntry:
    return StatementEntry(
        "invoice",
        f"YS-2026-{day:06d}",
        "福州某某科技有限公司",
        datetime(2026, 3, day, tzinfo=UTC),
        amount,
    )


def test_the_commission_is_rounded_once_half_up_and_net_is_what_is_left() -> None:
    statement = build_statement(MARCH, [_entry(10005), _entry(20000, 6)], Decimal("0.10"))

    assert statement.gross_fen == 30005
    assert statement.commission_fen == 3001  # 3000.5 rounds up
    assert statement.net_fen == 27004


@given(
    st.lists(st.integers(min_value=-(10**9), max_value=10**9), max_size=30),
    st.decimals(min_value=0, max_value=Decimal("0.99"), places=4),
)
def test_commission_and_net_always_add_up_to_gross(amounts: list[int], rate: Decimal) -> None:
    statement = build_statement(MARCH, [_entry(a) for a in amounts], rate)

    assert statement.commission_fen + statement.net_fen == statement.gross_fen == sum(amounts)
    assert abs(statement.commission_fen - Decimal(sum(amounts)) * rate) <= Decimal("0.5")


@pytest.mark.parametrize("rate", [Decimal(-1), Decimal(1), Decimal("NaN")])
def test_a_commission_rate_outside_zero_to_one_is_refused(rate: Decimal) -> None:
    with pytest.raises(ValueError):
        build_statement(MARCH, [], rate)


def test_a_month_in_beijing_starts_at_sixteen_hundred_utc_the_day_before() -> None:
    assert MARCH.bounds("Asia/Shanghai") == (
        datetime(2026, 2, 28, 16, tzinfo=UTC),
        datetime(2026, 3, 31, 16, tzinfo=UTC),
    )
    assert month_of(datetime(2026, 3, 31, 16, tzinfo=UTC), "Asia/Shanghai") == Month(2026, 4)
    assert Month(2026, 1).previous() == Month(2025, 12)


@pytest.mark.parametrize(
    "text", ["2026-3", "2026-13", "2026-00", "26-03", "2026-03-01", "２０２６-03"]
)
def test_a_badly_written_month_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_month(text)


def _invoice(
    session: Session,
    subscription: Subscription,
    number: str,
    at: datetime,
    amount: int,
    **fields: object,
) -> Invoice:
    invoice = Invoice(
        organization_id=subscription.organization_id,
        vendor_id=subscription.vendor_id,
        subscription_id=subscription.id,
        number=number,
        status=fields.pop("status", "open"),
        period_start=fields.pop("period_start", at),
        subtotal_fen=amount,
        total_fen=amount,
        amount_due_fen=amount,
        vat_rate=Decimal("0.06"),
        created_at=at,
        grace_until=at,
        finalized_at=at,
        **fields,
    )
    session.add(invoice)
    session.flush()
    return invoice


def _vendor_with_billing(session: Session, clock: FrozenClock) -> tuple[Organization, Subscription]:
    plan = new_plan()
    subscription = subs.subscribe(session, clock, ACTOR, firm().id, plan.id)
    return subscription.vendor, subscription


def test_the_statement_counts_the_months_finalized_invoices_and_credit_notes(
    session: Session, clock: FrozenClock, client: FlaskClient
) -> None:
    vendor, subscription = _vendor_with_billing(session, clock)
    march_first = _invoice(
        session, subscription, "YS-2026-000001", datetime(2026, 3, 2, tzinfo=UTC), 13000
    )
    _invoice(
        session,
        subscription,
        "YS-2026-000002",
        datetime(2026, 3, 20, tzinfo=UTC),
        9900,
        period_start=datetime(2026, 3, 20, tzinfo=UTC),
    )
    _invoice(
        session,
        subscription,
        "YS-2026-000003",
        datetime(2026, 3, 21, tzinfo=UTC),
        5000,
        status="void",
        period_start=datetime(2026, 3, 21, tzinfo=UTC),
    )
    _invoice(
        session,
        subscription,
        "YS-2026-000004",
        datetime(2026, 2, 28, 15, 59, tzinfo=UTC),
        7000,
        period_start=datetime(2026, 2, 28, tzinfo=UTC),
    )
    session.add(
        CreditNote(
            invoice_id=march_first.id,
            amount_fen=1000,
            reason="outage",
            created_at=datetime(2026, 3, 25, tzinfo=UTC),
        )
    )
    session.flush()
    sign_in(client, make_member(vendor), vendor)

    page = client.get("/vendor/statement?month=2026-03")
    exported = client.get("/vendor/statement.csv?month=2026-03")

    assert page.status_code == 200
    # 130.00 + 99.00 − 10.00 = 219.00; 10% commission 21.90; net 197.10. The void one and
    # the one finalized at 23:59 on 28 February in Beijing are not March's.
    assert "¥219.00" in page.text and "¥21.90" in page.text and "¥197.10" in page.text
    rows = list(csv.reader(io.StringIO(exported.data.decode("utf-8-sig"))))
    assert rows[-3:] == [
        ["gross", "", "", "", "219.00"],
        ["commission@0.10", "", "", "", "-21.90"],
        ["net", "", "", "", "197.10"],
    ]
    assert [row[1] for row in rows[1:4]] == ["YS-2026-000001", "YS-2026-000002", "YS-2026-000001"]
    assert exported.headers["Content-Disposition"] == "attachment; filename=statement-2026-03.csv"


def test_a_firm_name_that_looks_like_a_formula_is_defused_in_the_csv(
    session: Session, clock: FrozenClock, client: FlaskClient
) -> None:
    vendor, subscription = _vendor_with_billing(session, clock)
    subscription.organization.name = '=HYPERLINK("http://evil")'
    _invoice(session, subscription, "YS-2026-000001", datetime(2026, 3, 2, tzinfo=UTC), 100)
    sign_in(client, make_member(vendor), vendor)

    rows = list(
        csv.reader(
            io.StringIO(client.get("/vendor/statement.csv?month=2026-03").data.decode("utf-8-sig"))
        )
    )

    assert rows[1][2].startswith("'=")


def test_the_overview_lists_twelve_months_this_month_first(
    session: Session, clock: FrozenClock, client: FlaskClient
) -> None:
    vendor, subscription = _vendor_with_billing(session, clock)
    _invoice(session, subscription, "YS-2026-000001", datetime(2026, 3, 2, tzinfo=UTC), 13000)
    sign_in(client, make_member(vendor), vendor)

    page = client.get("/vendor/statements")

    assert page.status_code == 200
    assert page.text.index("2026-03") < page.text.index("2026-02") < page.text.index("2025-04")
    assert "2025-03" not in page.text and "¥117.00" in page.text


def test_another_vendors_invoices_and_sandbox_invoices_are_not_on_the_statement(
    session: Session, clock: FrozenClock, client: FlaskClient
) -> None:
    vendor, subscription = _vendor_with_billing(session, clock)
    _, theirs = _vendor_with_billing(session, clock)
    _invoice(session, theirs, "YS-2026-000001", datetime(2026, 3, 2, tzinfo=UTC), 13000)
    _invoice(
        session, subscription, "YS-2026-000002", datetime(2026, 3, 2, tzinfo=UTC), 500, sandbox=True
    )
    sign_in(client, make_member(vendor), vendor)

    page = client.get("/vendor/statement?month=2026-03")

    assert "YS-2026-000001" not in page.text and "YS-2026-000002" not in page.text
    assert "¥0.00" in page.text


@pytest.mark.parametrize("month", ["2026-13", "march", "2026-3", "", "9999-12", "0000-01"])
def test_a_month_that_is_not_one_is_not_found(
    session: Session, clock: FrozenClock, client: FlaskClient, month: str
) -> None:
    vendor = make_org(OrgKind.VENDOR)
    sign_in(client, make_member(vendor), vendor)

    assert client.get(f"/vendor/statement?month={month}").status_code == 404


@pytest.mark.parametrize(
    "role,status", [("owner", 200), ("admin", 200), ("billing", 200), ("member", 403)]
)
def test_statements_are_for_the_vendors_finance_roles(
    session: Session, clock: FrozenClock, client: FlaskClient, role: str, status: int
) -> None:
    vendor = make_org(OrgKind.VENDOR)
    sign_in(client, make_member(vendor, role=role), vendor)

    assert client.get("/vendor/statements").status_code == status
    assert client.get("/vendor/subscribers").status_code == 200


def test_a_firm_cannot_open_the_vendor_pages(
    session: Session, clock: FrozenClock, client: FlaskClient
) -> None:
    org = firm()
    sign_in(client, make_member(org), org)

    assert client.get("/vendor/statements").status_code == 404
    assert client.get("/vendor/subscribers").status_code == 404


def test_subscribers_are_the_vendors_own_live_or_sandbox_ones(
    session: Session, clock: FrozenClock, client: FlaskClient
) -> None:
    vendor, subscription = _vendor_with_billing(session, clock)
    _, theirs = _vendor_with_billing(session, clock)
    sign_in(client, make_member(vendor), vendor)

    live = client.get("/vendor/subscribers")
    sandbox = client.get("/vendor/subscribers?mode=sandbox")

    assert subscription.organization.name in live.text
    assert theirs.organization.name not in live.text
    assert subscription.organization.name not in sandbox.text


def test_a_vendor_sees_a_subscribers_usage_so_far(
    session: Session, clock: FrozenClock, client: FlaskClient
) -> None:
    price = PlanPrice(
        (MeteredPrice("api_calls", Aggregation.SUM, PriceModel.PER_UNIT, unit_fen=2),)
    )
    plan = new_plan(price, auto_activate=True)
    subscription = subs.subscribe(session, clock, ACTOR, firm().id, plan.id)
    for n, quantity in enumerate((Decimal(300), Decimal("200.5"))):
        session.add(
            UsageEvent(
                vendor_id=subscription.vendor_id,
                subscription_id=subscription.id,
                dimension="api_calls",
                quantity=quantity,
                occurred_at=clock.now(),
                idempotency_key=f"k{n}",
                attributes={},
                received_at=clock.now(),
            )
        )
    session.flush()
    vendor = subscription.vendor
    sign_in(client, make_member(vendor, role="member"), vendor)

    page = client.get(f"/vendor/subscribers/{subscription.id}")

    assert page.status_code == 200
    assert subscription.organization.name in page.text
    assert "500.5" in page.text and "¥10.01" in page.text  # 500.5 calls at 2 fen = 1001 fen


def test_another_vendors_subscriber_or_the_other_mode_is_not_found(
    session: Session, clock: FrozenClock, client: FlaskClient
) -> None:
    vendor, _ = _vendor_with_billing(session, clock)
    _, theirs = _vendor_with_billing(session, clock)
    mine = _vendor_subscription(session, clock, vendor)
    sign_in(client, make_member(vendor), vendor)

    assert client.get(f"/vendor/subscribers/{theirs.id}").status_code == 404
    assert client.get(f"/vendor/subscribers/{mine.id}?mode=sandbox").status_code == 404
    assert client.get(f"/vendor/subscribers/{mine.id}").status_code == 200


def _vendor_subscription(
    session: Session, clock: FrozenClock, vendor: Organization
) -> Subscription:
    listing = publish_listing(vendor, price=TEAM)
    plan = add_plan(listing)
    return subs.subscribe(session, clock, ACTOR, firm().id, plan.id)
