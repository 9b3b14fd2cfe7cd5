"""The firm's page, the vendor's period usage and the invoice agree on the same usage."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus, Subscription
from billing.services import subscriptions as subs
from billing.services.close import close_due_periods, finalize_due_invoices
from marketplace.clock import FrozenClock
from marketplace.orgs.models import OrgKind, Role
from tests.api.billing_helpers import (
    ACTOR,
    billing_vendor,
    fresh_headers,
    metered_plan,
    usage_record,
)
from tests.factories import make_member, make_org
from tests.sessions import sign_in

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)  # the period starts at 09:30 in Beijing
END = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)
BEIJING_MIDNIGHT = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # 3 March begins in Beijing
DIMENSIONS = ("api_calls", "active_users", "storage_gb")


def _records(sub_id: int) -> list[dict[str, Any]]:
    """Return records over several days, two of them on either side of a Beijing midnight."""
    users = {"dimension": "active_users"}
    storage = {"dimension": "storage_gb"}
    return [
        usage_record(sub_id, "c1", START, 120),
        usage_record(sub_id, "c2", BEIJING_MIDNIGHT - timedelta(microseconds=1), "0.25"),
        usage_record(sub_id, "c3", BEIJING_MIDNIGHT, "30.5"),
        usage_record(sub_id, "c4", START + timedelta(days=9), 1000),
        usage_record(sub_id, "u1", START, 1, unique_value="ann", **users),
        usage_record(sub_id, "u2", START + timedelta(days=3), 1, unique_value="ann", **users),
        usage_record(sub_id, "u3", START + timedelta(days=5), 1, unique_value="bo", **users),
        usage_record(sub_id, "s1", START, 3, **storage),
        usage_record(sub_id, "s2", BEIJING_MIDNIGHT, "7.5", **storage),
        usage_record(sub_id, "s3", START + timedelta(days=9), 5, **storage),
    ]


def _page_usage(client: FlaskClient, subscription: Subscription) -> dict[str, Decimal]:
    page = client.get(f"/subscriptions/{subscription.id}").get_data(as_text=True)
    found = {}
    for dimension in DIMENSIONS:
        match = re.search(rf'data-testid="usage-total-{dimension}">([^<]*)<', page)
        assert match is not None, dimension
        found[dimension] = Decimal(match.group(1).replace(",", ""))
    return found


def _page_days(client: FlaskClient, subscription: Subscription) -> list[tuple[str, Decimal]]:
    page = client.get(f"/subscriptions/{subscription.id}").get_data(as_text=True)
    # The first table is the first metered dimension's (API calls) usage per day.
    table = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r'<td>([0-9-]+)</td><td class="text-end">([^<]*)</td>', table)
    return [(day, Decimal(quantity.replace(",", ""))) for day, quantity in rows]


def _api_usage(client: FlaskClient, headers: dict[str, str], sub_id: int) -> dict[str, Any]:
    response = client.get(f"/api/v1/subscriptions/{sub_id}/usage", headers=headers)
    assert response.status_code == 200, response.get_json()
    return {d["dimension"]: d for d in response.get_json()["dimensions"]}


def _invoice_usage(session: Session, subscription: Subscription) -> dict[str, tuple[Decimal, int]]:
    stmt = sa.select(Invoice).where(
        Invoice.subscription_id == subscription.id, Invoice.period_start == END
    )
    invoice = session.scalars(stmt).one()
    assert invoice.status != InvoiceStatus.DRAFT
    return {
        line.dimension: (line.quantity, line.amount_fen)
        for line in invoice.lines
        if line.kind == "usage" and line.dimension
    }


@pytest.fixture
def subscribed(session: Session, client: FlaskClient, clock: FrozenClock) -> Any:
    """A vendor's metered plan, a firm's active subscription to it and the firm's owner."""
    caller = billing_vendor(client)
    firm = make_org(OrgKind.SME)
    owner = make_member(firm, role=Role.OWNER)
    subscription = subs.subscribe(session, clock, ACTOR, firm.id, metered_plan(caller).id)
    subs.activate(session, clock, ACTOR, caller.vendor.org.id, subscription.id, sandbox=False)
    close_due_periods(session, clock)  # the first invoice: the first month's fee in advance
    return caller, firm, owner, subscription


def _report(
    client: FlaskClient, clock: FrozenClock, subscribed: Any, records: list[dict[str, Any]]
) -> tuple[dict[str, str], Any]:
    """Have the vendor post records ten days into the period; sign the firm's owner in."""
    caller, firm, owner, _subscription = subscribed
    clock.set(START + timedelta(days=10))
    headers = fresh_headers(client, caller)
    body = client.post("/api/v1/usage", json={"records": records}, headers=headers).get_json()
    sign_in(client, owner, firm)
    return headers, body


def test_the_page_the_api_and_the_invoice_show_the_same_usage(
    client: FlaskClient, session: Session, clock: FrozenClock, subscribed: Any
) -> None:
    subscription = subscribed[-1]
    headers, body = _report(client, clock, subscribed, _records(subscription.id))
    assert body["accepted"] == 10, body

    page = _page_usage(client, subscription)
    api = _api_usage(client, headers, subscription.id)
    clock.set(END + timedelta(hours=48, minutes=1))  # past the period and its grace window
    close_due_periods(session, clock)
    finalize_due_invoices(session, clock)
    invoice = _invoice_usage(session, subscription)

    expected = {
        "api_calls": Decimal("1150.75"),
        "active_users": Decimal(2),
        "storage_gb": Decimal("7.5"),
    }
    assert page == expected
    assert {key: Decimal(d["quantity"]) for key, d in api.items()} == expected
    assert {key: quantity for key, (quantity, _fen) in invoice.items()} == expected
    assert {key: d["amount_fen"] for key, d in api.items()} == {
        key: fen for key, (_quantity, fen) in invoice.items()
    }


def test_the_chart_counts_each_record_on_its_beijing_day(
    client: FlaskClient, session: Session, clock: FrozenClock, subscribed: Any
) -> None:
    subscription = subscribed[-1]
    _report(client, clock, subscribed, _records(subscription.id))

    days = _page_days(client, subscription)

    assert days[:3] == [
        ("2026-03-02", Decimal("120.25")),
        ("2026-03-03", Decimal("30.5")),
        ("2026-03-04", Decimal(0)),
    ]
    assert ("2026-03-11", Decimal(1000)) in days
    assert len(days) == 11  # 2 to 12 March, Beijing time
    assert sum(quantity for _day, quantity in days) == Decimal("1150.75")


def test_usage_outside_the_period_counts_nowhere(
    client: FlaskClient, session: Session, clock: FrozenClock, subscribed: Any
) -> None:
    caller, subscription = subscribed[0], subscribed[-1]
    other = subs.subscribe(session, clock, ACTOR, make_org(OrgKind.SME).id, subscription.plan_id)
    subs.activate(session, clock, ACTOR, caller.vendor.org.id, other.id, sandbox=False)
    early = usage_record(subscription.id, "early", START - timedelta(seconds=1), 99)
    theirs = usage_record(other.id, "theirs", START + timedelta(days=10), 99)
    headers, body = _report(client, clock, subscribed, [early, theirs])
    assert [r["status"] for r in body["results"]] == ["rejected", "accepted"]

    page = _page_usage(client, subscription)
    api = _api_usage(client, headers, subscription.id)

    assert page == dict.fromkeys(DIMENSIONS, Decimal(0))
    assert {Decimal(d["quantity"]) for d in api.values()} == {Decimal(0)}
