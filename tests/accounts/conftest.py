"""Helpers for the accounts tests: English pages, form posts, and the mail they cause."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask, g, request_started
from flask.testing import FlaskClient

from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.mail.models import OutboundEmail
from tests.factories import PASSWORD

GOOD_PASSWORD = "quiet-lantern-river-42"
NEW_PASSWORD = "amber-harbour-kite-17"


@pytest.fixture(autouse=True)
def fresh_globals_per_request(app: Flask) -> Iterator[None]:
    """Give each request its own flask.g, as a real server does.

    The shared `session` fixture keeps one app context open for the whole test and Flask
    reuses it for every request, so flask.g, where Flask-Login keeps the signed-in user,
    would otherwise carry over from one request (or one browser) to the next.
    """

    def forget_globals(_sender: Flask, **_extra: object) -> None:
        vars(g).clear()

    request_started.connect(forget_globals, app)
    yield
    request_started.disconnect(forget_globals, app)


def english(client: FlaskClient) -> FlaskClient:
    """Make the client read pages in English, so assertions do not depend on the catalog."""
    with client.session_transaction() as browser_session:
        browser_session["lang"] = "en"
    return client


@pytest.fixture
def client(app: Flask, session: sa.orm.Session) -> FlaskClient:
    """A browser that reads the pages in English."""
    return english(app.test_client())


@pytest.fixture
def other_client(app: Flask, session: sa.orm.Session) -> FlaskClient:
    """A second browser, for showing what happens to other sessions."""
    return english(app.test_client())


def signup_form(**overrides: str) -> dict[str, str]:
    """Return a valid sign-up form, with some fields replaced."""
    form = {
        "display_name": "林晓梅",
        "email": "lin.xiaomei@minjiang-tech.example",
        "password": GOOD_PASSWORD,
        "password_confirm": GOOD_PASSWORD,
    }
    form.update(overrides)
    return form


def log_in(
    client: FlaskClient,
    email: str,
    password: str = PASSWORD,
    *,
    ip: str = "127.0.0.1",
    **extra: str,
) -> object:
    """Post the login form from an IP address and return the response."""
    return client.post(
        "/login",
        data={"email": email, "password": password, **extra},
        environ_base={"REMOTE_ADDR": ip},
    )


def count(session: sa.orm.Session, model: type) -> int:
    """Count the rows of a model."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def totals(session: sa.orm.Session) -> tuple[int, int, int]:
    """Count users, queued mails and audit entries: what a refused request must not change."""
    return count(session, User), count(session, OutboundEmail), count(session, AuditEntry)


def mails(session: sa.orm.Session, kind: str, to: str | None = None) -> list[OutboundEmail]:
    """Return the queued mails of a kind (to one address if given), oldest first."""
    stmt = sa.select(OutboundEmail).where(OutboundEmail.kind == kind).order_by(OutboundEmail.id)
    if to is not None:
        stmt = stmt.where(OutboundEmail.to_address == to)
    return list(session.scalars(stmt))


def link_path(mail: OutboundEmail) -> str:
    """Return the path of the one link in a mail, checking it points at the public address."""
    urls = re.findall(r"https?://\S+", mail.body)
    assert len(urls) == 1, mail.body
    parts = urlsplit(urls[0])
    assert f"{parts.scheme}://{parts.netloc}" == "http://localhost"
    return parts.path


def signed_in_user_id(client: FlaskClient) -> str | None:
    """Return the session identifier the client carries, if any."""
    with client.session_transaction() as browser_session:
        value = browser_session.get("_user_id")
    return None if value is None else str(value)
