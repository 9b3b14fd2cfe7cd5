"""Helpers of the orgs tests: teams of members in each role, signing in, reading rows back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import current_clock
from marketplace.extensions import db
from marketplace.mail.models import OutboundEmail
from marketplace.orgs.invitations import invite_member
from marketplace.orgs.models import Invitation, Membership, Organization, OrgKind
from tests.factories import make_member, make_org, make_user
from tests.sessions import acting_org_id, sign_in, sign_out  # noqa: F401 (shared by this part's tests)

ROLES = ("owner", "admin", "member", "billing")


@dataclass
class Team:
    """An organization with one user in each role."""

    org: Organization
    users: dict[str, User]

    def membership(self, role: str) -> Membership:
        """Return the membership of the user who first held role."""
        stmt = sa.select(Membership).where(
            Membership.organization_id == self.org.id, Membership.user_id == self.users[role].id
        )
        return db.session.scalars(stmt).one()


def make_person(email: str | None = None) -> User:
    """Add a confirmed user who signs in with PASSWORD."""
    return make_user(email)


def make_team(kind: str = OrgKind.SME, name: str | None = None, **fields: Any) -> Team:
    """Add an organization with an owner, an admin, a member and a billing member."""
    org = make_org(kind, name, **fields)
    users = {role: make_member(org, make_person(), role) for role in ROLES}
    return Team(org=org, users=users)


def login_next(response: TestResponse) -> str | None:
    """Return the page a redirect to the login page asks to come back to, or None."""
    if response.status_code != 302:
        return None
    location = urlsplit(response.headers["Location"])
    if location.path != "/login":
        return None
    return parse_qs(location.query).get("next", [None])[0]


def audit(session: Session, action: str) -> list[AuditEntry]:
    """Return the audit entries of an action, oldest first."""
    stmt = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(session.scalars(stmt))


def mails_to(session: Session, address: str) -> list[OutboundEmail]:
    """Return the messages queued to an address, oldest first."""
    stmt = sa.select(OutboundEmail).where(OutboundEmail.to_address == address)
    return list(session.scalars(stmt.order_by(OutboundEmail.id)))


def rows(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Read every membership and invitation back from the database, to prove nothing changed."""
    session.expire_all()
    memberships = session.execute(
        sa.select(
            Membership.id, Membership.user_id, Membership.organization_id, Membership.role
        ).order_by(Membership.id)
    )
    invitations = session.execute(
        sa.select(
            Invitation.id,
            Invitation.organization_id,
            Invitation.email,
            Invitation.role,
            Invitation.accepted_at,
            Invitation.revoked_at,
        ).order_by(Invitation.id)
    )
    return {
        "memberships": [tuple(r) for r in memberships],
        "invitations": [tuple(r) for r in invitations],
    }


def invite(team: Team, email: str, role: str = "member", by: str = "owner") -> str:
    """Invite email into the team's organization through the service; return the token."""
    tokens: list[str] = []

    def keep(token: str) -> str:
        tokens.append(token)
        return f"http://localhost/invitations/{token}"

    invite_member(
        db.session(),
        current_clock(),
        team.membership(by),
        email=email,
        role=role,
        actor=Actor(team.users[by].id, team.org.id),
        accept_url=keep,
    )
    return tokens[0]
