"""From subscribing to a finalized invoice, on PostgreSQL, Redis and a real RQ worker process.

A vendor's sandbox client publishes a metered plan, makes a test firm, subscribes and
activates it; the operator gives the firm a test clock; the vendor reports usage, with
duplicates, rejected records and a late record inside the grace window; the operator
moves the test clock past the period's end and past the grace window, and a worker
process runs each close. What comes out is exactly one finalized invoice whose lines are
the amounts worked out by hand below.

The test owns a database of its own (committed rows, which a worker in another process
must see, never meet the other tests) and RQ queues under a prefix of its own.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue

from app import create_app
from billing.models import Invoice, InvoiceStatus, TestClock
from billing.services import test_clocks
from marketplace import migrate
from marketplace.clock import MARKET_TIME_ZONE, FrozenClock
from marketplace.extensions import db
from tests import backends
from tests.billing.test_jobs import run_worker
from tests.catalog.workflow import content, make_operator, plan_terms
from tests.conftest import BACKENDS, RUN_PREFIX, make_test_settings
from tests.sso.conftest import access_token, bearer, make_client, make_vendor

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# 09:30 on 2 March 2026 in Beijing: the subscription starts here, so its first monthly
# period is [2 March 09:30, 2 April 09:30) Beijing time.
T0 = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
PERIOD_END = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)
GRACE = timedelta(hours=48)
SCOPES = (
    "catalog:read",
    "catalog:write",
    "usage:write",
    "subscriptions:read",
    "subscriptions:write",
)
# A plan billed on usage alone, so the period's one invoice holds exactly the usage lines.
METERED = [
    {
        # Graduated: after 1,000 free calls, 2 fen a call up to 10,000 more, then 1 fen.
        "kind": "metered",
        "dimension": "api_calls",
        "unit_name_zh": "次",
        "unit_name_en": "call",
        "aggregation": "sum",
        "model": "graduated",
        "included_quantity": "1000",
        "tiers": [
            {"up_to": "10000", "unit_amount_fen": 2},
            {"up_to": None, "unit_amount_fen": 1},
        ],
    },
    {
        # Per active user beyond the first 2: ¥5.00 each.
        "kind": "metered",
        "dimension": "active_users",
        "unit_name_zh": "人",
        "unit_name_en": "user",
        "aggregation": "unique",
        "model": "per_unit",
        "unit_amount_fen": 500,
        "included_quantity": "2",
    },
    {
        # The peak storage beyond 5 GB, in started packages of 10 GB at ¥15.00.
        "kind": "metered",
        "dimension": "storage_gb",
        "unit_name_zh": "GB",
        "unit_name_en": "GB",
        "aggregation": "max",
        "model": "package",
        "package_size": 10,
        "package_amount_fen": 1500,
        "included_quantity": "5",
    },
]


@dataclass
class World:
    """The app under test, its browser-like client and the ids the steps share."""

    app: Flask
    client: FlaskClient
    database_url: str
    prefix: str
    vendor_headers: dict[str, str]
    operator_login: str
    operator_org_id: int


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """Make a database, an app on RQ queues of its own, a vendor's sandbox client, the operator."""
    if not (BACKENDS.has_postgres and BACKENDS.has_redis):
        pytest.skip("the end-to-end run needs PostgreSQL and Redis")
    prefix = f"{RUN_PREFIX}-e2e-{uuid.uuid4().hex[:6]}:"
    with backends.scratch_database("e2e", has_postgres=True) as url:
        migrate.upgrade(url)
        settings = make_test_settings(url, backends.REDIS_URL)
        app = create_app(dataclasses.replace(settings, job_queue_prefix=prefix))
        # The marketplace's own clock stands at T0: the subscription starts then.
        app.extensions["clock"] = FrozenClock(T0)
        client = app.test_client()
        with app.app_context():
            vendor = make_vendor("Cloud Ledger Co.")
            issued = make_client(vendor, SCOPES, name="Sandbox", sandbox=True)
            operator = make_operator()
            db.session.commit()
            ids = (operator.user.get_id(), operator.org.id)
        headers = bearer(access_token(client, issued))
        yield World(app, client, url, prefix, headers, *ids)
        connection = redis.Redis.from_url(backends.REDIS_URL)
        for name in ("default", "billing"):
            Queue(f"{prefix}{name}", connection=connection).delete(delete_jobs=True)
        app.extensions["db_engine"].dispose()


def api(world: World, path: str, body: Any, status: int = 200) -> Any:
    """POST to the vendor API with the sandbox client; check the status; return the JSON."""
    response = world.client.post(f"/api/v1{path}", json=body, headers=world.vendor_headers)
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def as_operator(world: World, path: str, data: dict[str, str]) -> None:
    """Post an operator console form (signed in as the operator's owner)."""
    with world.client.session_transaction() as browser:
        browser.clear()
        browser["_user_id"] = world.operator_login
        browser["_fresh"] = True
        browser["lang"] = "en"
        browser["org_id"] = world.operator_org_id
    response = world.client.post(path, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


def advance_to(world: World, firm_id: int, to: datetime) -> dict[str, Any]:
    """Move the firm's test clock on the console, let a worker run the close; give its report."""
    local = to.astimezone(MARKET_TIME_ZONE).strftime("%Y-%m-%dT%H:%M")
    prefix = f"adv{firm_id}-"
    as_operator(
        world,
        f"/console/billing/test-clocks/{firm_id}/advance",
        {f"{prefix}step": "to", f"{prefix}to": local},
    )
    billing = Queue(f"{world.prefix}billing", connection=redis.Redis.from_url(backends.REDIS_URL))
    assert billing.count == 1  # queued for the worker, not run in the request
    run_worker(world.database_url, world.prefix, "billing")
    assert billing.count == 0
    with world.app.app_context():
        report = test_clocks.last_close_report(str(firm_id))
    assert report is not None and datetime.fromisoformat(report["clock_at"]) == to
    return report


def usage(subscription_id: int, key: str, dimension: str, quantity: Any, at: datetime, **more: Any):
    """Return one usage record as the vendor sends it."""
    return {
        "subscription_id": subscription_id,
        "dimension": dimension,
        "quantity": quantity,
        "timestamp": at.isoformat(),
        "idempotency_key": key,
        **more,
    }


def statuses(body: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Return each record's (status, code) of a usage answer, in order."""
    return [(r["status"], r["code"]) for r in body["results"]]


def test_a_sandbox_period_closes_into_one_invoice_of_hand_computed_lines(world: World) -> None:
    # The vendor publishes a sandbox listing with the metered plan (no review in a sandbox).
    listing = api(world, "/listings", content(slug="metered-ledger"), 201)
    terms = plan_terms("metered", trial_days=0, components=METERED)
    api(world, f"/listings/{listing['id']}/plans", terms, 201)
    api(world, f"/listings/{listing['id']}/submit", None)

    # A test firm, given a test clock at T0 by the operator, subscribes; the vendor activates.
    firm = api(world, "/sandbox/firms", {"name": "Minhou Test Trading"}, 201)
    firm_id = firm["id"]
    as_operator(
        world,
        f"/console/billing/test-clocks/{firm_id}",
        {f"new{firm_id}-start_at": "2026-03-02T09:30"},
    )
    wanted = {"firm_id": firm_id, "listing_id": listing["id"], "plan_code": "metered"}
    subscription = api(world, "/sandbox/subscriptions", wanted, 201)
    sub_id = subscription["id"]
    active = api(world, f"/subscriptions/{sub_id}/activate", None)
    assert active["status"] == "active"
    assert datetime.fromisoformat(active["current_period_end"]) == PERIOD_END

    # Twenty days on, in the firm's time; nothing is due yet, so the close bills nothing.
    day20 = T0 + timedelta(days=20)
    report = advance_to(world, firm_id, day20)
    assert report["close"]["invoices"] == 0 and report["finalize"]["invoices"] == 0

    on = lambda days: T0 + timedelta(days=days)  # noqa: E731
    first = api(
        world,
        "/usage",
        {
            "records": [
                usage(sub_id, "calls-1", "api_calls", 4000, on(1)),
                usage(sub_id, "calls-2", "api_calls", "6500", on(10)),
                usage(sub_id, "user-1", "active_users", 1, on(2), unique_value="u-1"),
                usage(sub_id, "user-2", "active_users", 1, on(3), unique_value="u-2"),
                usage(sub_id, "user-3", "active_users", 1, on(4), unique_value="u-3"),
                usage(sub_id, "user-1-again", "active_users", 1, on(5), unique_value="u-1"),
                usage(sub_id, "user-4", "active_users", 1, on(6), unique_value="u-4"),
                usage(sub_id, "disk-1", "storage_gb", 12, on(1)),
                usage(sub_id, "disk-2", "storage_gb", "37.5", on(8)),
                usage(sub_id, "disk-3", "storage_gb", 20, on(15)),
                # Rejected: unknown dimension, a day ahead of the firm's clock, a negative
                # quantity, another subscription, a unique count without its value.
                usage(sub_id, "bad-1", "gpu_hours", 3, on(2)),
                usage(sub_id, "bad-2", "api_calls", 100, day20 + timedelta(days=1)),
                usage(sub_id, "bad-3", "api_calls", -5, on(2)),
                usage(2_000_000_000, "bad-4", "api_calls", 100, on(2)),
                usage(sub_id, "bad-5", "active_users", 1, on(2)),
            ]
        },
    )
    assert (first["accepted"], first["duplicates"], first["rejected"]) == (10, 0, 5)
    assert [code for status, code in statuses(first) if status == "rejected"] == [
        "unknown_dimension",
        "timestamp_in_future",
        "bad_quantity",
        "unknown_subscription",
        "missing_value",
    ]

    # Sent again: duplicates, stored once; the original quantity stays even if this one differs.
    again = api(
        world,
        "/usage",
        {
            "records": [
                usage(sub_id, "calls-1", "api_calls", 4000, on(1)),
                usage(sub_id, "calls-2", "api_calls", 9999, on(10)),
            ]
        },
    )
    assert statuses(again) == [("duplicate", None), ("duplicate", None)]
    assert [r["quantity_differs"] for r in again["results"]] == [False, True]

    # An hour past the period's end: the close makes the boundary's draft, usage still open.
    report = advance_to(world, firm_id, PERIOD_END + timedelta(hours=1))
    assert report["close"]["invoices"] == 1 and report["finalize"]["invoices"] == 0
    late = api(
        world,
        "/usage",
        {
            "records": [
                # Late but inside the 48-hour grace window: it counts for the ended period.
                usage(sub_id, "calls-late", "api_calls", 1500, PERIOD_END - timedelta(hours=1)),
                # Already in the next period: not on this invoice.
                usage(sub_id, "calls-next", "api_calls", 777, PERIOD_END + timedelta(minutes=30)),
            ]
        },
    )
    assert statuses(late) == [("accepted", None), ("accepted", None)]

    # Past the grace window: the draft is rated and finalized.
    report = advance_to(world, firm_id, PERIOD_END + GRACE + timedelta(hours=1))
    assert report["close"]["invoices"] == 0 and report["finalize"]["invoices"] == 1
    too_late = api(
        world,
        "/usage",
        {"records": [usage(sub_id, "calls-too-late", "api_calls", 50, on(29))]},
    )
    assert statuses(too_late) == [("rejected", "outside_open_window")]

    # The close run again (a day on, and the periodic close) changes nothing.
    report = advance_to(world, firm_id, PERIOD_END + GRACE + timedelta(days=1))
    assert report["close"]["invoices"] == 0 and report["finalize"]["invoices"] == 0
    as_operator(world, "/console/billing/close", {})
    run_worker(world.database_url, world.prefix, "billing")

    with world.app.app_context():
        invoices = list(
            db.session.scalars(sa.select(Invoice).where(Invoice.organization_id == firm_id))
        )
        assert len(invoices) == 1
        [invoice] = invoices
        lines = {
            line.dimension: (line.kind, line.quantity, line.amount_fen, line.tax_fen)
            for line in invoice.lines
        }
        clock_row = db.session.get(TestClock, firm_id)
        assert clock_row is not None

    assert invoice.status == InvoiceStatus.OPEN and invoice.finalized_at is not None
    assert invoice.sandbox and invoice.number is None  # a sandbox invoice charges no one
    assert invoice.period_start == PERIOD_END
    assert (invoice.usage_period_start, invoice.usage_period_end) == (T0, PERIOD_END)
    assert invoice.finalized_at == PERIOD_END + GRACE + timedelta(hours=1)
    # Every amount includes 6 % VAT; a line's VAT is amount × 0.06 / 1.06, rounded half-up.
    assert lines == {
        # api_calls: 4,000 + 6,500 + 1,500 (late) = 12,000 (the duplicate's 9,999 and the
        # next period's 777 do not count); 12,000 − 1,000 free = 11,000 billable;
        # 10,000 × 2 fen + 1,000 × 1 fen = 21,000 fen; VAT 21,000 × 0.06 / 1.06 = 1,188.68 → 1,189.
        "api_calls": ("usage", Decimal(12000), 21000, 1189),
        # active_users: u-1, u-2, u-3, u-4 = 4 distinct (u-1 twice); 4 − 2 free = 2 × 500 fen
        # = 1,000 fen; VAT 1,000 × 0.06 / 1.06 = 56.60 → 57.
        "active_users": ("usage", Decimal(4), 1000, 57),
        # storage_gb: the peak of 12, 37.5, 20 = 37.5; 37.5 − 5 free = 32.5 → 4 started
        # packages of 10 × 1,500 fen = 6,000 fen; VAT 6,000 × 0.06 / 1.06 = 339.62 → 340.
        "storage_gb": ("usage", Decimal("37.5"), 6000, 340),
    }
    # 21,000 + 1,000 + 6,000 = 28,000 fen (¥280.00) with 1,189 + 57 + 340 = 1,586 fen VAT.
    assert (invoice.subtotal_fen, invoice.total_fen, invoice.amount_due_fen) == (
        28000,
        28000,
        28000,
    )
    assert invoice.tax_fen == 1586
    assert clock_row.frozen_at == PERIOD_END + GRACE + timedelta(days=1)
