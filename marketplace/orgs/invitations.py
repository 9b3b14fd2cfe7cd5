"""Invitations by email: send, replace, revoke, review and accept."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.accounts.access import ensure_confirmed
from marketplace.accounts.models import User
from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock, local_time_text
from marketplace.errors import Conflict, Forbidden, NotFound, ValidationFailed
from marketplace.mail.services import queue_email
from marketplace.orgs import roles, tenancy
from marketplace.orgs.errors import InvitationGone
from marketplace.orgs.labels import ROLE_LABELS
from marketplace.orgs.models import Invitation, Membership, Organization
from marketplace.orgs.services import (
    MEMBERSHIP_FIELDS,
    check_may_manage_members,
    check_organization_may_change,
    email_address,
)
from marketplace.urls import external_url

INVITATION_LIFETIME = timedelta(days=7)
INVITATION_FIELDS = ("email", "role", "expires_at", "accepted_at", "accepted_by_id", "revoked_at")


def invitation_link(token: str) -> str:
    """Return the public link that accepts an invitation."""
    return external_url("orgs.accept_invitation", token=token)


def hash_token(token: str) -> str:
    """Return the SHA-256 hex digest under which an invitation token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def invite_member(
    session: Session,
    clock: Clock,
    acting: Membership,
    *,
    email: str,
    role: str,
    actor: Actor,
    accept_url: Callable[[str], str],
) -> Invitation:
    """Invite an email address into the acting organization with a role, and mail the link.

    An open invitation to the same address is replaced: it is revoked in the same change.
    """
    check_may_manage_members(acting)
    # Mail goes out in our name: only a confirmed address may make us send it.
    ensure_confirmed(acting.user)
    address = email_address(email)
    if role not in roles.ALL_ROLES:
        raise ValidationFailed({"role": _("Choose one of the roles.")})
    if not roles.can_grant(acting.role, role):
        raise Forbidden(_("Only owners can grant or remove the owner role."))
    if tenancy.member_with_email(session, acting.organization_id, address) is not None:
        raise ValidationFailed({"email": _("This person is already a member.")})
    invitation = add_invitation(
        session,
        clock,
        acting.organization,
        acting.user,
        email=address,
        role=role,
        actor=actor,
        accept_url=accept_url,
    )
    session.commit()
    return invitation


def add_invitation(
    session: Session,
    clock: Clock,
    org: Organization,
    inviter: User,
    *,
    email: str,
    role: str,
    actor: Actor,
    accept_url: Callable[[str], str],
) -> Invitation:
    """Add, audit and mail an invitation to a checked address, without committing.

    An open invitation to the same address is replaced: it is revoked in the same change.
    The operator uses this directly to invite a new park's first owner.
    """
    replaced = tenancy.open_invitations(session, org.id, email)
    token = secrets.token_urlsafe(32)
    now = clock.now()
    invitation = Invitation(
        organization_id=org.id,
        email=email,
        role=role,
        token_hash=hash_token(token),
        invited_by_id=inviter.id,
        created_at=now,
        expires_at=now + INVITATION_LIFETIME,
    )
    session.add(invitation)
    session.flush()
    for old in replaced:
        _revoke(session, clock, actor, old, replaced_by=invitation.id)
    record(
        session,
        clock,
        actor,
        "invitation.created",
        ("invitation", invitation.id),
        after=snapshot(invitation, INVITATION_FIELDS),
        subject_org_id=org.id,
    )
    _mail_invitation(session, clock, org, inviter, invitation, accept_url(token))
    return invitation


def _mail_invitation(
    session: Session,
    clock: Clock,
    org: Organization,
    inviter: User,
    invitation: Invitation,
    link: str,
) -> None:
    org_name = org.name
    role = str(ROLE_LABELS[invitation.role])
    body = _(
        "%(inviter)s invites you to join %(org)s on Yunshi as %(role)s.\n\n"
        "Open this link to accept (it works until %(expires)s, Beijing time):\n%(link)s\n\n"
        "If you did not expect this invitation, you can ignore this message.",
        inviter=inviter.display_name,
        org=org_name,
        role=role,
        expires=local_time_text(invitation.expires_at),
        link=link,
    )
    subject = _("Invitation to join %(org)s on Yunshi", org=org_name)
    queue_email(session, clock, to=invitation.email, kind="invitation", subject=subject, body=body)


def revoke_invitation(
    session: Session, clock: Clock, acting: Membership, invitation_id: int, *, actor: Actor
) -> Invitation:
    """Withdraw an open invitation of the acting organization."""
    check_may_manage_members(acting)
    invitation = tenancy.invitation_in(session, acting.organization_id, invitation_id)
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise Conflict(_("This invitation was already accepted or revoked."))
    if not roles.can_grant(acting.role, invitation.role):
        raise Forbidden(_("Only owners can grant or remove the owner role."))
    _revoke(session, clock, actor, invitation)
    session.commit()
    return invitation


def _revoke(
    session: Session,
    clock: Clock,
    actor: Actor,
    invitation: Invitation,
    replaced_by: int | None = None,
) -> None:
    before = snapshot(invitation, INVITATION_FIELDS)
    invitation.revoked_at = clock.now()
    after = snapshot(invitation, INVITATION_FIELDS)
    if replaced_by is not None:
        after["replaced_by_invitation_id"] = replaced_by
    record(
        session,
        clock,
        actor,
        "invitation.revoked",
        ("invitation", invitation.id),
        before=before,
        after=after,
        subject_org_id=invitation.organization_id,
    )


def review_invitation(session: Session, clock: Clock, token: str, user: User) -> Invitation:
    """Return the pending invitation a token opens for user, or raise why it cannot be used."""
    stmt = sa.select(Invitation).where(Invitation.token_hash == hash_token(token))
    invitation = session.scalars(stmt).one_or_none()
    if invitation is None:
        raise NotFound(_("This invitation link is not valid."))
    state = roles.invitation_state(
        now=clock.now(),
        expires_at=invitation.expires_at,
        accepted=invitation.accepted_at is not None,
        revoked=invitation.revoked_at is not None,
    )
    if state != "pending":
        raise InvitationGone(_GONE_REASONS[state]())
    if invitation.email.lower() != user.email.lower():
        raise Forbidden(
            _(
                "This invitation was sent to a different email address. "
                "You are signed in as %(email)s; sign in with the invited address to accept it.",
                email=user.email,
            )
        )
    return invitation


_GONE_REASONS: dict[str, Callable[[], str]] = {
    "accepted": lambda: _("This invitation has already been used."),
    "revoked": lambda: _("This invitation was withdrawn by the organization."),
    "expired": lambda: _("This invitation has expired. Ask the organization for a new one."),
}


def accept_invitation(
    session: Session, clock: Clock, token: str, user: User, *, actor: Actor
) -> Membership:
    """Make user a member of the organization a pending invitation for their email names."""
    invitation = review_invitation(session, clock, token, user)
    check_organization_may_change(invitation.organization)
    if tenancy.membership_of_user(session, invitation.organization_id, user.id) is not None:
        raise Conflict(_("You are already a member of this organization."))
    before = snapshot(invitation, INVITATION_FIELDS)
    _claim(session, clock, invitation, user)
    membership = Membership(
        user_id=user.id,
        organization_id=invitation.organization_id,
        role=invitation.role,
        created_at=clock.now(),
    )
    session.add(membership)
    try:
        session.flush()
    except IntegrityError as exc:
        # The same user joined by another path between our check and our insert.
        session.rollback()
        raise Conflict(_("You are already a member of this organization.")) from exc
    after = {**snapshot(invitation, INVITATION_FIELDS), "membership_id": membership.id}
    record(
        session,
        clock,
        actor,
        "invitation.accepted",
        ("invitation", invitation.id),
        before=before,
        after={**after, **snapshot(membership, MEMBERSHIP_FIELDS)},
        subject_org_id=invitation.organization_id,
    )
    session.commit()
    return membership


def _claim(session: Session, clock: Clock, invitation: Invitation, user: User) -> None:
    # A conditional update, not read-then-write: of two concurrent accepts only one wins.
    stmt = (
        sa.update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(accepted_at=clock.now(), accepted_by_id=user.id)
    )
    if session.execute(stmt).rowcount != 1:  # type: ignore[attr-defined]
        raise InvitationGone(_("This invitation has already been used."))
    session.refresh(invitation)
