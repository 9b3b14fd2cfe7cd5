"""The demo vendor app (examples/vendor_app) as a real process, and the records it needs.

The app runs as its own program, configured only by environment variables like a vendor's
deployment; the live server's database gets its listing, app client and a firm with a seat.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from billing.services.seats import assign_seat
from billing.services.subscriptions import subscribe
from catalog.models import Listing, Plan, PlanStatus, PriceComponent
from marketplace.accounts.services import create_confirmed_user
from marketplace.audit.services import Actor
from marketplace.clock import SystemClock
from marketplace.firms.services.firm_details import FirmDetails
from marketplace.firms.services.profiles import register_firm
from sso.provider.apps import create_app_client
from tests.browser.conftest import ROOT, LiveServer
from tests.browser.journeys import PASSWORD, a_firm, publish_saas_listing, unique_email

APP_SCRIPT = ROOT / "examples" / "vendor_app" / "app.py"


@dataclass(frozen=True)
class AppListing:
    """A published listing with a seat plan and an app client pointing at the demo app."""

    listing_id: int
    plan_id: int
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class SeatHolder:
    """A firm owner who holds a seat on a serving subscription to the app."""

    email: str
    firm_name: str
    subscription_id: int


def _team_plan(listing: Listing, now: object) -> Plan:
    """Return a plan of ¥30 a seat that starts at once, with no trial."""
    return Plan(
        listing_id=listing.id,
        code="team",
        name_zh="团队版",
        name_en="Team",
        status=PlanStatus.PUBLISHED,
        auto_activate=True,
        created_at=now,
        published_at=now,
        components=[
            PriceComponent(position=0, kind="seat", unit_amount_fen=3000, min_seats=1, max_seats=20)
        ],
    )


def seed_app_listing(live_server: LiveServer, app_url: str) -> AppListing:
    """Publish a listing whose app client sends users to the demo app at app_url."""
    clock = SystemClock()
    now = clock.now()
    with Session(live_server.engine) as session:
        listing = publish_saas_listing(session, now, "闽江应用", "闽江协同办公", "Minjiang Office")
        plan = _team_plan(listing, now)
        session.add(plan)
        session.flush()
        issued = create_app_client(
            session,
            clock,
            listing,
            redirect_uris=[app_url + "/callback"],
            post_logout_redirect_uris=[app_url + "/"],
            initiate_login_uri=app_url + "/login",
        )
        session.commit()
        return AppListing(listing.id, plan.id, issued.client.client_id, issued.client_secret)


def seed_seat_holder(live_server: LiveServer, app: AppListing) -> SeatHolder:
    """Create a confirmed user owning a new firm that subscribes to the app with their seat."""
    clock = SystemClock()
    email = unique_email("seat-holder")
    fields = a_firm()
    with Session(live_server.engine) as session:
        user = create_confirmed_user(
            session, clock, display_name="林晓华", email=email, password=PASSWORD
        )
        details = FirmDetails(
            legal_name=fields.legal_name,
            uscc=fields.uscc,
            region_code=fields.region_code,
            industry_code=fields.industry_code,
            staff=fields.staff,
            revenue_wan=fields.revenue_wan,
        )
        profile = register_firm(session, clock, Actor(user.id), details)
        actor = Actor(user.id, profile.organization_id)
        subscription = subscribe(session, clock, actor, profile.organization_id, app.plan_id, 2)
        assign_seat(session, clock, actor, subscription, user.id)
        return SeatHolder(email, fields.legal_name, subscription.id)


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the demo vendor app exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the demo vendor app did not answer in 20 s: {log.read_text()[-2000:]}")


@contextmanager
def running_vendor_app(port: int, issuer: str, app: AppListing) -> Iterator[str]:
    """Run examples/vendor_app on a loopback port as the vendor would; yield its base URL."""
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "YUNSHI_ISSUER": issuer,
        "CLIENT_ID": app.client_id,
        "CLIENT_SECRET": app.client_secret,
        "SECRET_KEY": uuid.uuid4().hex,
        "PORT": str(port),
    }
    log = Path(tempfile.mkstemp(prefix="vendor-app-", suffix=".log")[1])
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(APP_SCRIPT)],
            cwd=APP_SCRIPT.parent,
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        _wait_until_up(url, process, log)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.unlink(missing_ok=True)
