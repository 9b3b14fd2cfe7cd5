"""Serve the app under gunicorn on a free loopback port, for tests that talk to it over HTTP."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests import backends

ROOT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 30


@dataclass(frozen=True)
class Served:
    """The app under gunicorn: its URL (also the issuer) and the file its output goes to."""

    url: str
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        """Return the end of the server's output, to explain a failure."""
        return self.log.read_text(errors="replace")[-chars:]


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer in {STARTUP_SECONDS} s: {log.read_text()[-2000:]}")


@contextmanager
def serve_app(settings: Mapping[str, str], *, label: str) -> Iterator[Served]:
    """Run the app with these settings (environment variables) until the block ends.

    PUBLIC_URL is the server's own address. No control socket: two servers at once would
    otherwise share gunicorn's fixed one.
    """
    port = backends.free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PUBLIC_URL": url, **settings}
    log = Path(tempfile.mkstemp(prefix=f"gunicorn-{label}-", suffix=".log")[1])
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    command = [gunicorn, "--bind", f"127.0.0.1:{port}", "--workers", "2", "--no-control-socket"]
    command.append("app:create_app()")
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=out)
    try:
        _wait_until_up(url, process, log)
        yield Served(url, log)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.unlink(missing_ok=True)
