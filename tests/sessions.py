"""Sign a test client in and out by writing its session, as a real sign-in would leave it."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask.testing import FlaskClient

from marketplace.accounts.access import AUTH_TIME_KEY, SESSION_ID_KEY
from marketplace.accounts.models import User
from marketplace.orgs.models import Organization


def sign_in(
    client: FlaskClient,
    user: User,
    org: Organization | None = None,
    lang: str = "en",
    *,
    signed_in_at: datetime | None = None,
) -> None:
    """Start a fresh session for user on the client, acting for org when given, in a language.

    With signed_in_at the session also carries the sign-in's id and moment, as a password
    sign-in leaves them, which single sign-on reports to apps.
    """
    with client.session_transaction() as browser:
        browser.clear()
        browser["_user_id"] = user.get_id()
        browser["_fresh"] = True
        browser["lang"] = lang
        if org is not None:
            browser["org_id"] = org.id
        if signed_in_at is not None:
            browser[SESSION_ID_KEY] = secrets.token_urlsafe(16)
            browser[AUTH_TIME_KEY] = int(signed_in_at.timestamp())


def sign_out(client: FlaskClient, lang: str = "en") -> None:
    """Forget the signed-in user on the client, keeping the page language."""
    with client.session_transaction() as browser:
        browser.clear()
        browser["lang"] = lang


def acting_org_id(client: FlaskClient) -> int | None:
    """Return the organization the client's session acts for."""
    with client.session_transaction() as browser:
        value = browser.get("org_id")
    return int(value) if value is not None else None
