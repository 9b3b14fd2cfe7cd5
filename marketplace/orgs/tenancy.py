"""Queries of an organization's own rows: every one takes the organization's id.

An id that belongs to another organization is answered as not found, never with its row.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from marketplace.accounts.models import User
from marketplace.errors import NotFound
from marketplace.orgs.models import Invitation, Membership, Organization, Role

# Owners first, then admins, members and billing members, as the members page lists them.
_ROLE_ORDER = sa.case(
    {Role.OWNER: 0, Role.ADMIN: 1, Role.MEMBER: 2, Role.BILLING: 3}, value=Membership.role
)


def members_of(session: Session, org_id: int) -> list[Membership]:
    """Return the organization's memberships with their users, owners first."""
    stmt = (
        sa.select(Membership)
        .join(Membership.user)
        .options(joinedload(Membership.user))
        .where(Membership.organization_id == org_id)
        .order_by(_ROLE_ORDER, sa.func.lower(User.email))
    )
    return list(session.scalars(stmt))


def membership_in(session: Session, org_id: int, membership_id: int) -> Membership:
    """Return the organization's membership with that id, or raise NotFound."""
    stmt = sa.select(Membership).where(
        Membership.organization_id == org_id, Membership.id == membership_id
    )
    membership = session.scalars(stmt).one_or_none()
    if membership is None:
        raise NotFound("No such member in this organization.")
    return membership


def membership_of_user(session: Session, org_id: int, user_id: int) -> Membership | None:
    """Return the user's membership in the organization, if any."""
    stmt = sa.select(Membership).where(
        Membership.organization_id == org_id, Membership.user_id == user_id
    )
    return session.scalars(stmt).one_or_none()


def member_with_email(session: Session, org_id: int, email: str) -> Membership | None:
    """Return the membership of the user with that email (any case), if any."""
    stmt = (
        sa.select(Membership)
        .join(Membership.user)
        .where(Membership.organization_id == org_id, sa.func.lower(User.email) == email.lower())
    )
    return session.scalars(stmt).one_or_none()


def owner_count(session: Session, org_id: int) -> int:
    """Count the organization's owners."""
    stmt = sa.select(sa.func.count(Membership.id)).where(
        Membership.organization_id == org_id, Membership.role == Role.OWNER
    )
    return int(session.scalar(stmt) or 0)


def lock_organization(session: Session, org_id: int) -> Organization:
    """Lock the organization's row so concurrent role changes queue behind this one."""
    stmt = sa.select(Organization).where(Organization.id == org_id).with_for_update()
    return session.scalars(stmt).one()


def invitation_in(session: Session, org_id: int, invitation_id: int) -> Invitation:
    """Return the organization's invitation with that id, or raise NotFound."""
    stmt = sa.select(Invitation).where(
        Invitation.organization_id == org_id, Invitation.id == invitation_id
    )
    invitation = session.scalars(stmt).one_or_none()
    if invitation is None:
        raise NotFound("No such invitation in this organization.")
    return invitation


def open_invitations(session: Session, org_id: int, email: str | None = None) -> list[Invitation]:
    """Return invitations neither accepted nor revoked (expired ones too), newest first."""
    stmt = (
        sa.select(Invitation)
        .where(
            Invitation.organization_id == org_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .order_by(Invitation.id.desc())
    )
    if email is not None:
        stmt = stmt.where(sa.func.lower(Invitation.email) == email.lower())
    return list(session.scalars(stmt))
