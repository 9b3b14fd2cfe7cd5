"""Build model rows for tests with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from marketplace.accounts.models import User
from marketplace.accounts.passwords import hash_password
from marketplace.extensions import db
from marketplace.orgs.models import Membership, Organization, OrgKind, Role

PASSWORD = "correct horse battery staple"
# argon2 is slow by design: hash the shared test password once, not for every user.
PASSWORD_HASH = hash_password(PASSWORD)
_counter = itertools.count(1)
_NOW = datetime(2026, 3, 1, tzinfo=UTC)


def make_user(email: str | None = None, *, confirmed: bool = True, **fields: object) -> User:
    """Add a user who can sign in with PASSWORD."""
    n = next(_counter)
    user = User(
        email=email or f"user{n}@example.com",
        display_name=str(fields.pop("display_name", f"User {n}")),
        password_hash=PASSWORD_HASH,
        email_confirmed_at=_NOW if confirmed else None,
        created_at=_NOW,
        **fields,
    )
    db.session.add(user)
    db.session.flush()
    return user


def make_org(kind: str = OrgKind.SME, name: str | None = None, **fields: object) -> Organization:
    """Add an organization of a kind."""
    n = next(_counter)
    org = Organization(kind=kind, name=name or f"{kind} org {n}", created_at=_NOW, **fields)
    db.session.add(org)
    db.session.flush()
    return org


def make_member(org: Organization, user: User | None = None, role: str = Role.OWNER) -> User:
    """Add a user (new unless given) to org with a role and return the user."""
    user = user or make_user()
    db.session.add(Membership(user_id=user.id, organization_id=org.id, role=role, created_at=_NOW))
    db.session.flush()
    return user
