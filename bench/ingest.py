"""Measure usage ingestion through the HTTP API under gunicorn, next to a plain bulk insert.

Run with `make bench-ingest` (or `.venv/bin/python bench/ingest.py --seconds 5`). It needs
PostgreSQL at 127.0.0.1:5432: it builds a scratch database, a vendor with an API client and
active subscriptions to a metered plan, then

1. baseline: inserts batches of 1,000 rows of the same shape into usage_events from one
   psycopg connection, one multi-row INSERT and one commit per batch;
2. API: starts gunicorn on a free loopback port and posts batches of 1,000 fresh records to
   POST /api/v1/usage from several keep-alive connections, counting accepted records.

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import http.client
import json
import random
import sys
import tempfile
import time
import urllib.parse
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

# Run as a script from anywhere: the project root (for `tests.backends`) goes on the path.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.harness import (  # noqa: E402
    HOST,
    Tally,
    gunicorn,
    migrated_app,
    print_figures,
    require_postgres,
    run_connections,
)
from tests.backends import scratch_database  # noqa: E402

BATCH = 1000
SUBSCRIPTIONS = 50
DIMENSION = "api_calls"


@dataclasses.dataclass(frozen=True)
class Fixture:
    """What the scratch database holds for the run."""

    vendor_id: int
    subscription_ids: list[int]
    client_id: str
    secret: str


def prepare_database(url: str) -> Fixture:
    """Migrate, then add a vendor, its API client and active metered subscriptions."""
    from billing.services import subscriptions as subs
    from catalog.models import Listing, ListingStatus, Plan, PlanStatus, PriceComponent
    from marketplace.accounts.models import User
    from marketplace.audit.services import Actor
    from marketplace.clock import SystemClock
    from marketplace.extensions import db
    from marketplace.orgs.models import Membership, Organization, OrgKind
    from sso.services import create_api_client

    app = migrated_app(url)
    clock = SystemClock()
    now = clock.now()
    with app.app_context():
        session = db.session()
        vendor = Organization(kind=OrgKind.VENDOR, name="Bench Vendor", created_at=now)
        owner = User(
            email="bench@example.com", display_name="Bench", password_hash="-", created_at=now
        )
        session.add_all([vendor, owner])
        session.flush()
        membership = Membership(
            user_id=owner.id, organization_id=vendor.id, role="owner", created_at=now
        )
        listing = Listing(
            vendor_id=vendor.id,
            slug="bench-meter",
            status=ListingStatus.PUBLISHED,
            created_at=now,
            updated_at=now,
        )
        session.add_all([membership, listing])
        session.flush()
        meter = PriceComponent(
            position=0,
            kind="metered",
            dimension=DIMENSION,
            unit_name_zh="次",
            unit_name_en="call",
            aggregation="sum",
            model="per_unit",
            unit_amount_fen=1,
            included_quantity=0,
        )
        plan = Plan(
            listing_id=listing.id,
            code="metered",
            name_zh="按量",
            status=PlanStatus.PUBLISHED,
            created_at=now,
            published_at=now,
            components=[meter],
        )
        session.add(plan)
        session.commit()
        actor = Actor(None, vendor.id)
        ids = []
        for n in range(SUBSCRIPTIONS):
            firm = Organization(kind=OrgKind.SME, name=f"Bench Firm {n}", created_at=now)
            session.add(firm)
            session.commit()
            made = subs.subscribe(session, clock, actor, firm.id, plan.id)
            subs.activate(session, clock, actor, vendor.id, made.id, sandbox=False)
            ids.append(made.id)
        issued = create_api_client(
            session,
            clock,
            membership,
            name="Bench meter",
            scopes=["usage:write"],
            sandbox=False,
            actor=Actor(owner.id, vendor.id),
        )
        session.commit()
        fixture = Fixture(vendor.id, ids, issued.client.client_id, issued.secret)
        db.session.remove()
    app.extensions["db_engine"].dispose()
    return fixture


def records(fixture: Fixture, label: str, count: int, start: datetime) -> list[dict[str, object]]:
    """Make count fresh records of the same shape for the API and the baseline."""
    pick = random.Random(label).choice
    return [
        {
            "subscription_id": pick(fixture.subscription_ids),
            "dimension": DIMENSION,
            "quantity": str(pick((1, 2, 5, 10, 25))),
            "timestamp": (start + timedelta(microseconds=n)).isoformat(),
            "idempotency_key": f"{label}-{n}",
            "attributes": {"region": "fz"},
        }
        for n in range(count)
    ]


def baseline(url: str, fixture: Fixture, seconds: float) -> float:
    """Insert batches with one multi-row INSERT and commit each; return rows per second."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
    columns = (
        "vendor_id, subscription_id, dimension, quantity, unique_value, occurred_at, "
        "idempotency_key, attributes, received_at, duplicates"
    )
    row = "(%s, %s, %s, %s, %s, %s, %s, %s, %s, 0)"
    statement = f"INSERT INTO usage_events ({columns}) VALUES " + ", ".join([row] * BATCH)
    start = datetime.now(UTC)
    rows = 0
    inserting = 0.0  # only the INSERT and COMMIT are timed, not making the rows
    with psycopg.connect(dsn) as connection:
        while inserting < seconds:
            params = baseline_params(fixture, start)
            began = time.perf_counter()
            connection.execute(statement, params)  # type: ignore[arg-type]
            connection.commit()
            inserting += time.perf_counter() - began
            rows += BATCH
    return rows / inserting


def baseline_params(fixture: Fixture, start: datetime) -> list[object]:
    """Return the parameters of one baseline batch: the API's rows, already typed."""
    now = datetime.now(UTC)
    params: list[object] = []
    for r in records(fixture, f"base-{uuid.uuid4().hex}", BATCH, start):
        params += [
            fixture.vendor_id,
            r["subscription_id"],
            r["dimension"],
            Decimal(str(r["quantity"])),
            None,
            datetime.fromisoformat(str(r["timestamp"])),
            r["idempotency_key"],
            json.dumps(r["attributes"]),
            now,
        ]
    return params


def access_token(port: int, fixture: Fixture) -> str:
    """Get a client-credentials token from the running server."""
    basic = base64.b64encode(f"{fixture.client_id}:{fixture.secret}".encode()).decode()
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    connection.request(
        "POST",
        "/oauth/token",
        body=urllib.parse.urlencode({"grant_type": "client_credentials"}),
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    response = connection.getresponse()
    body = json.loads(response.read())
    if response.status != 200:
        raise SystemExit(f"no token: {body}")
    return str(body["access_token"])


@dataclasses.dataclass
class IngestTally(Tally):
    """Accepted records besides the batch latencies and failures of the API run."""

    accepted: int = 0

    def add_batch(self, seconds: float, accepted: int) -> None:
        """Record one answered batch; a batch not wholly accepted counts as an error."""
        with self.lock:
            self.accepted += accepted
        self.add(seconds, accepted == BATCH)


def bodies(fixture: Fixture, count: int, start: datetime) -> list[bytes]:
    """Serialize count batches of fresh records ahead of the run."""
    return [
        json.dumps({"records": records(fixture, f"api-{uuid.uuid4().hex}", BATCH, start)}).encode()
        for _ in range(count)
    ]


def drive(port: int, token: str, queue: list[bytes], stop_at: float, tally: IngestTally) -> None:
    """Post batches from the shared queue over one keep-alive connection until stop_at."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    while time.monotonic() < stop_at:
        with tally.lock:
            if not queue:
                break
            body = queue.pop()
        started = time.perf_counter()
        try:
            connection.request("POST", "/api/v1/usage", body=body, headers=headers)
            response = connection.getresponse()
            answer = response.read()
            accepted = json.loads(answer)["accepted"] if response.status == 200 else 0
        except (OSError, http.client.HTTPException, ValueError):
            accepted = 0
            connection.close()
        tally.add_batch(time.perf_counter() - started, accepted)
    connection.close()


def run_api(
    port: int, token: str, queue: list[bytes], seconds: float, clients: int
) -> tuple[IngestTally, float]:
    """Post batches from clients connections for seconds; return the tally and elapsed time."""
    tally = IngestTally()
    elapsed = run_connections(
        lambda stop_at: drive(port, token, queue, stop_at, tally), seconds, clients
    )
    return tally, elapsed


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time of each part")
    parser.add_argument("--warmup", type=float, default=2.0, help="API warm-up time")
    parser.add_argument("--clients", type=int, default=4, help="concurrent API connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--max-rate", type=float, default=60_000, help="records/s to prepare for")
    return parser.parse_args()


def main() -> None:
    """Benchmark usage ingestion through the API against a plain bulk insert."""
    args = parse_args()
    require_postgres("bench/ingest.py")
    # The benchmark is one client sending far more than a vendor's minute budget.
    unlimited = {"API_RATE_LIMIT": "100000000"}
    with (
        scratch_database("bench_ingest", has_postgres=True) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        fixture = prepare_database(url)
        start = datetime.now(UTC)
        base_rate = baseline(url, fixture, args.seconds)
        needed = int(args.max_rate * (args.seconds + args.warmup) / BATCH) + 2 * args.clients
        queue = bodies(fixture, needed, start)
        log_path = Path(tmp) / "gunicorn.log"
        with gunicorn(
            url, log_path, workers=args.workers, threads=args.threads, env=unlimited
        ) as port:
            token = access_token(port, fixture)
            run_api(port, token, queue, args.warmup, args.clients)
            tally, elapsed = run_api(port, token, queue, args.seconds, args.clients)
        if not queue:
            print("warning: the prepared batches ran out; raise --max-rate")
    rate = tally.accepted / elapsed
    p50, p99 = tally.percentiles_ms()
    print(
        f"database: postgresql, batch: {BATCH}, clients: {args.clients}, "
        f"gunicorn: {args.workers} workers x {args.threads} threads"
    )
    print(
        f"{'part':<10} {'records/s':>11} {'batches':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    )
    print(f"{'baseline':<10} {base_rate:>11.0f}")
    batches = len(tally.latencies)
    print(f"{'api':<10} {rate:>11.0f} {batches:>8} {p50:>8.1f} {p99:>8.1f} {tally.errors:>7}")
    print_figures(
        {
            "bench": "ingest",
            "records_per_s": round(rate, 1),
            "baseline_per_s": round(base_rate, 1),
            "ratio": round(rate / base_rate, 3) if base_rate else 0.0,
            "p99_ms": round(p99, 1),
        }
    )


if __name__ == "__main__":
    main()
