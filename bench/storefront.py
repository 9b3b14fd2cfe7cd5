"""Measure storefront throughput and p99 latency under gunicorn, next to a trivial endpoint.

Run with `make bench` (or `.venv/bin/python bench/storefront.py --seconds 5`). It builds a scratch
database (PostgreSQL when 127.0.0.1:5432 answers, else SQLite), loads the demo data, starts
gunicorn on a free loopback port (with the Redis at 127.0.0.1:6379 when it answers, so the
storefront's page cache is on; `--without-redis` measures the pages rendered every time) and
drives it from a pool of keep-alive connections. The last line printed is one JSON object with
the figures.
"""

from __future__ import annotations

import argparse
import http.client
import sys
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path

# Run as a script from anywhere: the project root (for `tests.backends`) goes on the path.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.harness import (  # noqa: E402
    HOST,
    Tally,
    gunicorn,
    migrated_app,
    print_figures,
    run_connections,
)
from tests.backends import REDIS_URL, clear_redis_prefix, probe, scratch_database  # noqa: E402

SEARCH_TERM = "财务"


@dataclass(frozen=True)
class Result:
    """What one scenario measured."""

    name: str
    path: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def prepare_database(url: str) -> str:
    """Migrate the database, load the demo data and return a listing path with a quote."""
    from catalog.listing_page import listing_page
    from catalog.models import Listing, ListingStatus
    from marketplace.clock import SystemClock
    from marketplace.demo import load_demo
    from marketplace.errors import NotFound
    from marketplace.extensions import db

    app = migrated_app(url)
    with app.app_context():
        session = db.session()
        load_demo(session, SystemClock())
        best: tuple[int, str] | None = None
        for listing in session.scalars(
            sa.select(Listing).where(Listing.status == ListingStatus.PUBLISHED)
        ):
            try:
                page = listing_page(session, listing.vendor_id, listing.slug, {}, "zh")
            except NotFound:
                continue
            if not page.offers:
                continue
            values = {"plan": page.offers[0].plan.code}
            if page.has_kind("seat"):
                values["seats"] = "25"
            values |= {dimension.field_name: "1000" for dimension in page.dimensions}
            path = f"/services/{listing.vendor_id}/{listing.slug}?" + urllib.parse.urlencode(values)
            # The listing with the most calculator inputs exercises the quote the hardest.
            if best is None or len(values) > best[0]:
                best = (len(values), path)
        db.session.remove()
    if best is None:
        raise SystemExit("no published listing with plans on sale in the demo data")
    return best[1]


def drive(port: int, path: str, stop_at: float, tally: Tally | None) -> None:
    """Send GET path over one keep-alive connection until stop_at, tallying answers."""
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    while time.monotonic() < stop_at:
        started = time.perf_counter()
        try:
            connection.request("GET", path, headers={"Accept-Language": "zh-CN"})
            response = connection.getresponse()
            response.read()
            ok = response.status == 200
            if response.will_close:
                connection.close()
        except (OSError, http.client.HTTPException):
            ok = False
            connection.close()
        if tally is not None:
            tally.add(time.perf_counter() - started, ok)
    connection.close()


def run_load(port: int, path: str, seconds: float, workers: int) -> tuple[Tally, float]:
    """Run workers connections against path for seconds; return the tally and elapsed time."""
    tally = Tally()
    elapsed = run_connections(lambda stop_at: drive(port, path, stop_at, tally), seconds, workers)
    return tally, elapsed


def measure(name: str, port: int, path: str, seconds: float, warmup: float, workers: int) -> Result:
    """Warm path up, then measure its throughput and latency."""
    run_load(port, path, warmup, workers)
    tally, elapsed = run_load(port, path, seconds, workers)
    p50_ms, p99_ms = tally.percentiles_ms()
    return Result(
        name=name,
        path=path,
        rps=len(tally.latencies) / elapsed,
        p50_ms=p50_ms,
        p99_ms=p99_ms,
        requests=len(tally.latencies),
        errors=tally.errors,
    )


def print_table(results: list[Result]) -> None:
    """Print one readable row per scenario."""
    print(f"{'scenario':<10} {'rps':>9} {'p50 ms':>9} {'p99 ms':>9} {'requests':>9} {'errors':>7}")
    for r in results:
        print(
            f"{r.name:<10} {r.rps:>9.1f} {r.p50_ms:>9.1f} {r.p99_ms:>9.1f}"
            f" {r.requests:>9} {r.errors:>7}  {urllib.parse.unquote(r.path)}"
        )


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per page")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up time per page")
    parser.add_argument("--workers", type=int, default=8, help="concurrent connections")
    parser.add_argument(
        "--without-redis", action="store_true", help="run the app without Redis (no page cache)"
    )
    return parser.parse_args()


def main() -> None:
    """Benchmark the storefront pages against /healthz and print the figures."""
    args = parse_args()
    backends = probe()
    has_postgres = backends.has_postgres
    redis_prefix = None
    if backends.has_redis and not args.without_redis:
        redis_prefix = f"yunshi-bench-{uuid.uuid4().hex[:8]}"
    redis_env = {"REDIS_URL": REDIS_URL, "RATE_LIMIT_PREFIX": redis_prefix} if redis_prefix else {}
    with (
        scratch_database("bench", has_postgres=has_postgres) as url,
        tempfile.TemporaryDirectory() as tmp,
    ):
        listing_path = prepare_database(url)
        scenarios = [
            ("healthz", "/healthz"),
            ("browse", "/services"),
            ("search", "/services?" + urllib.parse.urlencode({"q": SEARCH_TERM})),
            ("listing", listing_path),
        ]
        log_path = Path(tmp) / "gunicorn.log"
        try:
            with gunicorn(url, log_path, workers=2, threads=4, env=redis_env) as port:
                results = [
                    measure(name, port, path, args.seconds, args.warmup, args.workers)
                    for name, path in scenarios
                ]
        finally:
            if redis_prefix:
                clear_redis_prefix(redis_prefix)
    database = "postgresql" if has_postgres else "sqlite"
    cache = "redis" if redis_prefix else "off"
    print(f"database: {database}, page cache: {cache}, workers: {args.workers}")
    print_table(results)
    baseline, browse, search, listing = results
    print_figures(
        {
            "bench": "catalog",
            "rps": round(browse.rps, 1),
            "baseline_rps": round(baseline.rps, 1),
            "ratio": round(browse.rps / baseline.rps, 3) if baseline.rps else 0.0,
            "p99_ms": round(browse.p99_ms, 1),
            "search_rps": round(search.rps, 1),
            "search_p99_ms": round(search.p99_ms, 1),
            "listing_rps": round(listing.rps, 1),
            "listing_p99_ms": round(listing.p99_ms, 1),
            "errors": sum(r.errors for r in results),
            "page_cache": bool(redis_prefix),
        }
    )


if __name__ == "__main__":
    main()
