"""Share what the benchmarks do alike: a scratch database, gunicorn on loopback, load, figures.

bench/storefront.py, bench/ingest.py and bench/close.py import this module after putting the
project root on the path; nothing in tests/ imports it.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.backends import probe

if TYPE_CHECKING:
    from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
SECRET_KEY = "bench-only-secret-key"


@dataclasses.dataclass
class Tally:
    """Latencies and failures that the connections of one run collected."""

    latencies: list[float] = dataclasses.field(default_factory=list)
    errors: int = 0
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)

    def add(self, seconds: float, ok: bool) -> None:
        """Record one answered request."""
        with self.lock:
            self.latencies.append(seconds)
            if not ok:
                self.errors += 1

    def percentiles_ms(self) -> tuple[float, float]:
        """Return the p50 and p99 latency in milliseconds."""
        latencies = sorted(self.latencies)
        return percentile(latencies, 0.50) * 1000, percentile(latencies, 0.99) * 1000


def require_postgres(script: str) -> None:
    """Stop the benchmark unless PostgreSQL answers at 127.0.0.1:5432."""
    if not probe().has_postgres:
        raise SystemExit(f"{script} needs PostgreSQL at 127.0.0.1:5432")


def free_port() -> int:
    """Return a loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def migrated_app(url: str) -> Flask:
    """Migrate the scratch database to head and return an app bound to it."""
    from app import create_app
    from marketplace import migrate
    from marketplace.settings import Settings

    migrate.upgrade(url)
    settings = dataclasses.replace(
        Settings(), database_url=url, secret_key=SECRET_KEY, log_json=False
    )
    return create_app(settings)


@contextmanager
def gunicorn(
    url: str,
    log_path: Path,
    *,
    workers: int,
    threads: int,
    env: Mapping[str, str] | None = None,
) -> Iterator[int]:
    """Run gunicorn on a free loopback port until the block ends; give the port.

    The app runs without Redis unless env names a REDIS_URL.
    """
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY, "LOG_JSON": "0"}
    environment.pop("REDIS_URL", None)
    environment |= env or {}
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "app:create_app()",
    ]
    with log_path.open("w") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            wait_until_healthy(port, process, log_path)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_healthy(port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
    """Wait until /healthz answers 200, failing if gunicorn exits or takes too long."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited:\n{log_path.read_text()}")
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not become healthy:\n{log_path.read_text()}")


def run_connections(drive: Callable[[float], None], seconds: float, connections: int) -> float:
    """Run drive(stop_at) on that many threads for seconds; return the elapsed time."""
    started = time.monotonic()
    threads = [
        threading.Thread(target=drive, args=(started + seconds,)) for _ in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, int(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def print_figures(figures: Mapping[str, Any]) -> None:
    """Print the run's figures as the one JSON line a benchmark ends with."""
    print(json.dumps(dict(figures), ensure_ascii=False))
