"""A localstripe server on a free loopback port for the whole test run (a pytest plugin).

localstripe is a stateful fake of Stripe's API; it also serves Stripe.js at
/js.stripe.com/v3/ and sends signed webhooks to the URLs registered with it.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.backends import free_port

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET_KEY = "sk_test_yunshi"


@dataclass(frozen=True)
class LocalStripe:
    """Where the fake Stripe answers."""

    url: str

    @property
    def js_url(self) -> str:
        """Return the URL of the Stripe.js localstripe serves."""
        return f"{self.url}/js.stripe.com/v3/"


def _answers(url: str) -> bool:
    request = urllib.request.Request(f"{url}/v1/customers")
    token = base64.b64encode(f"{TEST_SECRET_KEY}:".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=2):
            return True
    except OSError:
        return False


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"localstripe exited: {log.read_text()[-2000:]}")
        if _answers(url):
            return
        time.sleep(0.2)
    raise RuntimeError(f"localstripe did not answer in 30 s: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    """Run localstripe on loopback for the whole run, from an empty store."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.mkstemp(prefix="localstripe-", suffix=".log")[1])
    command = [
        sys.executable,
        str(ROOT / "scripts" / "localstripe_loopback.py"),
        "--port",
        str(port),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=out)
    try:
        _wait_until_up(url, process, log)
        yield LocalStripe(url)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.unlink(missing_ok=True)
