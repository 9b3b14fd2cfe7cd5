"""Fixtures of the webhook tests: a vendor with an endpoint, events, a loopback receiver."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.events.models import OutboxEvent
from marketplace.events.services import record_event
from marketplace.jobs import InlineRunner
from marketplace.webhooks import services
from marketplace.webhooks.services import IssuedSecret, Owner
from tests.backends import free_port
from tests.sso.conftest import Vendor, make_vendor

ACTOR = Actor(None)
SUBSCRIPTION_EVENTS = ["subscription.created", "subscription.activated", "subscription.cancelled"]


@pytest.fixture
def inline_jobs(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run jobs at once in the test's transaction, as the embedded mode does."""
    monkeypatch.setitem(app.extensions, "jobs", InlineRunner())


def endpoint_for(
    session: Session,
    clock: FrozenClock,
    vendor: Vendor,
    url: str,
    *,
    types: list[str] | None = None,
    sandbox: bool = False,
) -> IssuedSecret:
    """Register an endpoint of the vendor through the service."""
    fields = {"url": url, "event_types": types or SUBSCRIPTION_EVENTS}
    return services.create_endpoint(
        session, clock, ACTOR, Owner(vendor.org.id), fields, sandbox=sandbox
    )


def subscription_event(
    session: Session,
    clock: FrozenClock,
    vendor: Vendor,
    kind: str = "subscription.created",
    *,
    subscription_id: int = 7,
    sandbox: bool = False,
) -> OutboxEvent:
    """Record a subscription event addressed to the vendor and commit it."""
    event = record_event(
        session,
        clock,
        type=kind,
        organization_id=vendor.org.id,
        aggregate=("subscription", subscription_id),
        payload={"subscription_id": subscription_id, "sandbox": sandbox, "status": "active"},
    )
    session.commit()
    return event


def independent_check(secret: str, header: str, body: bytes) -> int:
    """Verify a signature header by the documented scheme; return its timestamp."""
    parts = [p.split("=", 1) for p in header.split(",")]
    timestamps = [v for k, v in parts if k == "t"]
    given = [v for k, v in parts if k == "v1"]
    assert len(timestamps) == 1 and given, header
    expected = hmac.new(
        secret.encode(), timestamps[0].encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    assert any(hmac.compare_digest(expected, g) for g in given), "no v1 matches"
    return int(timestamps[0])


@dataclass
class Receiver:
    """A vendor's webhook endpoint on loopback: down, failing, slow or healthy on demand."""

    port: int
    mode: str = "ok"  # ok | error | slow
    slow_seconds: float = 1.5
    received: list[dict[str, Any]] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Return the endpoint's URL."""
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        """Open the port and answer requests in a thread."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                mode = receiver.mode
                receiver.received.append(
                    {
                        "event_id": self.headers["Yunshi-Event-Id"],
                        "signature": self.headers["Yunshi-Signature"],
                        "body": body,
                        "mode": mode,
                    }
                )
                if mode == "slow":
                    time.sleep(receiver.slow_seconds)
                status = 500 if mode == "error" else 200
                answer = b'{"error": "boom"}' if mode == "error" else b'{"ok": true}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Close the port."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def bodies(self) -> list[dict[str, Any]]:
        """Return every body received, parsed."""
        return [json.loads(r["body"]) for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver whose port is free but closed until started."""
    made = Receiver(free_port())
    yield made
    made.stop()


@pytest.fixture
def vendor(session: Session) -> Vendor:
    """A vendor organization with a user in each role."""
    return make_vendor()
