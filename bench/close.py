"""Measure the period close: subscriptions closed and finalized per second, with usage.

Run with `make bench-close` (or `.venv/bin/python bench/close.py --subscriptions 20000`). It
builds a scratch database (PostgreSQL when 127.0.0.1:5432 answers, else SQLite), migrates
it, bulk-loads firms, plans, active subscriptions whose first month has ended and their
usage records with multi-row inserts (setup, not timed), puts the clock past the period
end and the grace window, and times close_due_periods then finalize_due_invoices. The last
line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

# Run as a script from anywhere: the project root (for `tests.backends`) goes on the path.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from bench.harness import print_figures  # noqa: E402
from tests.backends import probe, scratch_database  # noqa: E402

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
PERIOD_END = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)
AFTER_GRACE = PERIOD_END + timedelta(hours=48, minutes=1)
LISTINGS = 10  # each firm subscribes to every listing: firms = subscriptions / LISTINGS
BATCH = 5000


def batches(rows: Iterator[dict[str, Any]], size: int = BATCH) -> Iterator[list[dict[str, Any]]]:
    """Cut a stream of rows into lists of at most size."""
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_all(session: Session, table: sa.Table, rows: Iterator[dict[str, Any]]) -> None:
    """Insert rows as multi-row INSERTs, a batch at a time."""
    for batch in batches(rows):
        session.execute(sa.insert(table), batch)


def load_catalog(session: Session) -> tuple[int, list[tuple[int, int]]]:
    """Add a vendor and LISTINGS listings with one metered plan each; return their ids."""
    from catalog.models import Listing, Plan, PriceComponent, PriceTier
    from marketplace.orgs.models import Organization, OrgKind

    vendor = Organization(kind=OrgKind.VENDOR, name="bench vendor", created_at=START)
    session.add(vendor)
    session.flush()
    offers = []
    for n in range(LISTINGS):
        listing = Listing(
            vendor_id=vendor.id,
            slug=f"bench-{n}",
            status="published",
            created_at=START,
            updated_at=START,
        )
        tiers = [
            PriceTier(position=0, up_to=Decimal(1000), unit_amount_fen=2),
            PriceTier(position=1, up_to=None, unit_amount_fen=1, flat_amount_fen=500),
        ]
        plan = Plan(
            listing=listing,
            code="standard",
            name_zh="标准版",
            status="published",
            published_at=START,
            created_at=START,
            components=[
                PriceComponent(position=0, kind="flat", amount_fen=9900),
                PriceComponent(position=1, kind="seat", unit_amount_fen=3000, min_seats=1),
                PriceComponent(
                    position=2,
                    kind="metered",
                    dimension="api_calls",
                    aggregation="sum",
                    model="graduated",
                    included_quantity=Decimal(100),
                    tiers=tiers,
                ),
                PriceComponent(
                    position=3,
                    kind="metered",
                    dimension="active_users",
                    aggregation="unique",
                    model="per_unit",
                    unit_amount_fen=500,
                    included_quantity=Decimal(0),
                ),
            ],
        )
        session.add_all([listing, plan])
        session.flush()
        offers.append((listing.id, plan.id))
    return vendor.id, offers


def load_subscriptions(
    session: Session, count: int, vendor_id: int, offers: Sequence[tuple[int, int]]
) -> None:
    """Add count / LISTINGS firms, each subscribed to every listing, and their usage."""
    from billing.models import Subscription, UsageEvent
    from billing.services.bulk import table_of
    from marketplace.orgs.models import Organization

    firms = count // LISTINGS
    orgs = table_of(Organization)
    insert_all(
        session,
        orgs,
        (
            {"kind": "sme", "name": f"企业 {n}", "status": "active", "created_at": START}
            for n in range(firms)
        ),
    )
    firm_ids = list(
        session.scalars(sa.select(orgs.c.id).where(orgs.c.kind == "sme").order_by(orgs.c.id))
    )
    insert_all(session, table_of(Subscription), subscription_rows(firm_ids, vendor_id, offers))
    subs = table_of(Subscription)
    ids = list(session.scalars(sa.select(subs.c.id).order_by(subs.c.id)))
    insert_all(session, table_of(UsageEvent), usage_rows(ids, vendor_id))


def subscription_rows(
    firm_ids: Sequence[int], vendor_id: int, offers: Sequence[tuple[int, int]]
) -> Iterator[dict[str, Any]]:
    """Yield one active subscription per firm and listing, its first month just ended."""
    for firm_id in firm_ids:
        for listing_id, plan_id in offers:
            yield {
                "organization_id": firm_id,
                "vendor_id": vendor_id,
                "listing_id": listing_id,
                "plan_id": plan_id,
                "status": "active",
                "sandbox": False,
                "seats": 2,
                "time_zone": "Asia/Shanghai",
                "anchor_at": START,
                "current_period_start": START,
                "current_period_end": PERIOD_END,
                "period_open": True,
                "billed_boundary_at": START,
                "cancel_at_period_end": False,
                "created_at": START,
                "activated_at": START,
                "version": 1,
            }


def usage_rows(subscription_ids: Sequence[int], vendor_id: int) -> Iterator[dict[str, Any]]:
    """Yield three usage records per subscription: two of calls, one of an active user."""
    for n, subscription_id in enumerate(subscription_ids):
        at = START + timedelta(days=n % 28, minutes=n % 1440)
        for k, (dimension, quantity, unique) in enumerate(
            [
                ("api_calls", 700 + n % 900, None),
                ("api_calls", 150, None),
                ("active_users", 1, f"u{n % 7}"),
            ]
        ):
            yield {
                "vendor_id": vendor_id,
                "subscription_id": subscription_id,
                "dimension": dimension,
                "quantity": Decimal(quantity),
                "unique_value": unique,
                "occurred_at": at + timedelta(hours=k),
                "idempotency_key": f"bench-{subscription_id}-{k}",
                "attributes": {},
                "received_at": at,
                "duplicates": 0,
            }


def prepare(url: str, count: int) -> float:
    """Migrate and load the scratch database; return the seconds it took."""
    from marketplace import migrate
    from marketplace.db import make_engine

    began = time.perf_counter()
    migrate.upgrade(url)
    engine = make_engine(url)
    with Session(engine) as session:
        vendor_id, offers = load_catalog(session)
        load_subscriptions(session, count, vendor_id, offers)
        session.commit()
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("ANALYZE"))
        connection.commit()
    engine.dispose()
    return time.perf_counter() - began


def measure(url: str, chunk_size: int) -> dict[str, Any]:
    """Time the close and the finalization on a clock past the period end and grace."""
    from billing.services.close import close_due_periods, finalize_due_invoices
    from marketplace.clock import FrozenClock
    from marketplace.db import make_engine

    engine = make_engine(url)
    clock = FrozenClock(AFTER_GRACE)
    with Session(engine) as session:
        began = time.perf_counter()
        closed = close_due_periods(session, clock, chunk_size=chunk_size)
        closed_at = time.perf_counter()
        finalized = finalize_due_invoices(session, clock, chunk_size=chunk_size)
        ended = time.perf_counter()
    engine.dispose()
    return {
        "closed": closed.subscriptions,
        "invoices": closed.invoices,
        "finalized": finalized.invoices,
        "close_seconds": closed_at - began,
        "finalize_seconds": ended - closed_at,
        "seconds": ended - began,
    }


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--chunk-size", type=int, default=500)
    return parser.parse_args()


def main() -> None:
    """Build the scratch database, run the close once, print the figures."""
    args = parse_args()
    backends = probe()
    database = "PostgreSQL" if backends.has_postgres else "SQLite"
    with scratch_database("bench_close", has_postgres=backends.has_postgres) as url:
        setup = prepare(url, args.subscriptions)
        print(f"{database}: loaded {args.subscriptions} subscriptions with usage in {setup:.1f} s")
        figures = measure(url, args.chunk_size)
    rate = figures["closed"] / figures["seconds"] if figures["seconds"] else 0.0
    print(
        f"close {figures['close_seconds']:.1f} s ({figures['invoices']} invoices), "
        f"finalize {figures['finalize_seconds']:.1f} s ({figures['finalized']} invoices): "
        f"{rate:.0f} subscriptions/s"
    )
    print_figures(
        {
            "bench": "close",
            "subscriptions": figures["closed"],
            "seconds": round(figures["seconds"], 2),
            "subscriptions_per_second": round(rate, 1),
            "close_seconds": round(figures["close_seconds"], 2),
            "finalize_seconds": round(figures["finalize_seconds"], 2),
            "invoices": figures["finalized"],
            "database": database,
        }
    )


if __name__ == "__main__":
    main()
