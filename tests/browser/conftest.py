"""Browser tests: the app under gunicorn on loopback, driven by Debian's Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from marketplace import migrate
from tests import backends
from tests.conftest import BACKENDS, RUN_PREFIX
from tests.live_app import serve_app
from tests.localstripe import TEST_SECRET_KEY, LocalStripe

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test here as a browser test; skip them only off CI when Chromium is absent."""
    have_chromium = Path(CHROMIUM).exists()
    for item in items:
        if Path(str(item.fspath)).parent != Path(__file__).parent:
            continue
        item.add_marker(pytest.mark.browser)
        if not have_chromium and not backends.on_ci():
            item.add_marker(pytest.mark.skip(reason=f"needs Chromium at {CHROMIUM}"))


@dataclass(frozen=True)
class LiveServer:
    """The running app: its base URL and a connection to its database."""

    url: str
    engine: sa.Engine

    def latest_email(self, to: str, kind: str) -> str:
        """Return the body of the newest message of a kind sent to an address."""
        with self.engine.connect() as connection:
            body = connection.execute(
                sa.text(
                    "SELECT body FROM outbound_emails WHERE to_address = :to AND kind = :kind "
                    "ORDER BY id DESC LIMIT 1"
                ),
                {"to": to, "kind": kind},
            ).scalar_one()
        return str(body)


@pytest.fixture(scope="session")
def browser_database_url() -> Iterator[str]:
    """Give the live server a database of its own, migrated to head."""
    with backends.scratch_database("browser", has_postgres=BACKENDS.has_postgres) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def live_server(
    browser_database_url: str, redis_url: str | None, localstripe: LocalStripe
) -> Iterator[LiveServer]:
    """Run the app under gunicorn on a free loopback port for the whole run."""
    settings = {
        "DATABASE_URL": browser_database_url,
        "SECRET_KEY": "browser-test-secret",
        "RATE_LIMIT_PREFIX": f"{RUN_PREFIX}-browser",
        "LOG_JSON": "1",
        "STRIPE_API_KEY": TEST_SECRET_KEY,
        "STRIPE_API_BASE": localstripe.url,
        **({"REDIS_URL": redis_url} if redis_url else {}),
    }
    engine = sa.create_engine(browser_database_url)
    try:
        with serve_app(settings, label="browser") as served:
            yield LiveServer(served.url, engine)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    """Launch Debian's Chromium, never a downloaded browser."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    """Browse as a Chinese-speaking user at a laptop's width."""
    return {**browser_context_args, "locale": "zh-CN", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture(autouse=True)
def no_content_security_policy_violations(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a browser test whose pages broke the Content-Security-Policy (e.g. inline script)."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    refused: list[str] = []
    page.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield
    assert refused == []
