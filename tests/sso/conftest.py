"""Helpers of the sso tests: vendors with a member in each role, API clients, tokens."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock, current_clock
from marketplace.extensions import db
from marketplace.orgs.models import Membership, Organization, OrgKind
from sso.models import AccessToken, ApiClient
from sso.services import IssuedSecret, create_api_client
from tests.factories import make_member, make_org, make_user
from tests.sessions import sign_in  # noqa: F401 (shared by this part's tests)
from tests.sso.provider_world import AppWorld, signed_in_world

ROLES = ("owner", "admin", "member", "billing")


@dataclass
class Vendor:
    """A vendor organization with one user in each role."""

    org: Organization
    users: dict[str, User]

    def membership(self, role: str = "owner") -> Membership:
        """Return the membership of the user in role."""
        stmt = sa.select(Membership).where(
            Membership.organization_id == self.org.id, Membership.user_id == self.users[role].id
        )
        return db.session.scalars(stmt).one()


def make_vendor(name: str | None = None, kind: str = OrgKind.VENDOR) -> Vendor:
    """Add an organization (a vendor unless told) with an owner, admin, member, billing user."""
    org = make_org(kind, name)
    return Vendor(org, {role: make_member(org, make_user(), role) for role in ROLES})


def make_client(
    vendor: Vendor,
    scopes: tuple[str, ...] = ("catalog:read", "usage:write"),
    *,
    name: str = "Billing sync",
    sandbox: bool = False,
) -> IssuedSecret:
    """Create an API client for the vendor through the service, as its owner."""
    owner = vendor.membership("owner")
    return create_api_client(
        db.session(),
        current_clock(),
        owner,
        name=name,
        scopes=list(scopes),
        sandbox=sandbox,
        actor=Actor(owner.user_id, vendor.org.id),
    )


def basic(client_id: str, secret: str) -> dict[str, str]:
    """Return an HTTP Basic header for client credentials."""
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def request_token(
    client: FlaskClient,
    client_id: str,
    secret: str,
    *,
    scope: str | None = None,
    method: str = "basic",
    grant_type: str = "client_credentials",
) -> TestResponse:
    """Ask the token endpoint for a token with client_secret_basic or client_secret_post."""
    form: dict[str, Any] = {"grant_type": grant_type}
    if scope is not None:
        form["scope"] = scope
    if method == "basic":
        return client.post("/oauth/token", data=form, headers=basic(client_id, secret))
    form.update(client_id=client_id, client_secret=secret)
    return client.post("/oauth/token", data=form)


def access_token(client: FlaskClient, issued: IssuedSecret, scope: str | None = None) -> str:
    """Return a fresh access token for the issued client."""
    response = request_token(client, issued.client.client_id, issued.secret, scope=scope)
    assert response.status_code == 200, response.get_data(as_text=True)
    token: str = response.get_json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    """Return an Authorization header carrying a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def audit(session: Session, action: str) -> list[AuditEntry]:
    """Return the audit entries of an action, oldest first."""
    stmt = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(session.scalars(stmt))


def tokens_of(session: Session, client: ApiClient) -> list[AccessToken]:
    """Return the client's stored tokens, oldest first, read afresh."""
    session.expire_all()
    stmt = sa.select(AccessToken).where(AccessToken.client_id == client.id)
    return list(session.scalars(stmt.order_by(AccessToken.id)))


def client_rows(session: Session) -> list[tuple[Any, ...]]:
    """Read every API client back from the database, to prove nothing changed."""
    session.expire_all()
    table = sa.inspect(ApiClient).local_table
    return [tuple(r) for r in session.execute(sa.select(table).order_by(table.c.id))]


@pytest.fixture
def world(client: FlaskClient, session: Session, clock: FrozenClock) -> AppWorld:
    """A vendor app and a firm using it, whose owner is signed in and never consented."""
    return signed_in_world(client, session, clock)
