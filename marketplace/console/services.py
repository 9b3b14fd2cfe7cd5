"""What the operator changes from the console: suspensions, deactivations, reviews, parks."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock
from marketplace.errors import Conflict, Forbidden, NotFound, ValidationFailed
from marketplace.firms import services as firm_services
from marketplace.firms.models import SmeProfile
from marketplace.orgs.invitations import add_invitation
from marketplace.orgs.models import Membership, Organization, OrgKind, OrgStatus, Role
from marketplace.orgs.roles import MANAGER_ROLES
from marketplace.orgs.services import add_organization, email_address, organization_name

# Owners and admins of the operator act; members of the operator may only look.
ACTING_ROLES = MANAGER_ROLES
REASON_MAX = 500
ORG_FIELDS = ("status", "suspended_reason")
USER_FIELDS = ("is_active",)


def operator_membership(session: Session, actor: Actor, *, acting: bool = False) -> Membership:
    """Return the actor's membership in the operator; to anyone else the console does not exist."""
    stmt = (
        sa.select(Membership)
        .join(Membership.organization)
        .where(
            Membership.user_id == actor.user_id,
            Membership.organization_id == actor.org_id,
            Organization.kind == OrgKind.OPERATOR,
        )
    )
    membership = session.scalar(stmt)
    if membership is None:
        raise NotFound()
    if not membership.organization.is_active:
        raise Forbidden(_("This organization is suspended."))
    if acting and membership.role not in ACTING_ROLES:
        raise Forbidden(_("Your role in this organization does not allow this."))
    return membership


def operator_actor(session: Session, email: str) -> Actor:
    """Return the actor for an operator's staff member named by email (for the command line)."""
    stmt = (
        sa.select(Membership)
        .join(Membership.user)
        .join(Membership.organization)
        .where(sa.func.lower(User.email) == email.strip().lower())
        .where(Organization.kind == OrgKind.OPERATOR)
    )
    membership = session.scalar(stmt)
    if membership is None:
        raise NotFound(_("No member of the operator has this email address."))
    return Actor(membership.user_id, membership.organization_id)


def required_text(value: str | None, field: str, *, high: int = REASON_MAX) -> str:
    """Return value stripped, or refuse it when blank or longer than high."""
    text = (value or "").strip()
    if not text:
        raise ValidationFailed({field: _("This field is required.")})
    if len(text) > high:
        raise ValidationFailed({field: _("Must be at most %(high)d characters.", high=high)})
    return text


def _organization(session: Session, org_id: int) -> Organization:
    # Locked so two operators acting on one organization cannot both pass the status check.
    org = session.get(Organization, org_id, with_for_update=True)
    if org is None:
        raise NotFound()
    return org


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound()
    return user


def suspend_organization(
    session: Session, clock: Clock, actor: Actor, org_id: int, reason: str | None
) -> Organization:
    """Suspend an organization with a reason: its members can no longer act for it."""
    operator_membership(session, actor, acting=True)
    text = required_text(reason, "reason")
    org = _organization(session, org_id)
    if org.kind == OrgKind.OPERATOR:
        raise Forbidden(_("The operator's own organization cannot be suspended."))
    if org.status == OrgStatus.SUSPENDED:
        raise Conflict(_("This organization is already suspended."))
    before = snapshot(org, ORG_FIELDS)
    org.status = OrgStatus.SUSPENDED
    org.suspended_reason = text
    _audit_org(session, clock, actor, "organization.suspended", org, before)
    session.commit()
    return org


def reactivate_organization(
    session: Session, clock: Clock, actor: Actor, org_id: int
) -> Organization:
    """Let a suspended organization act again."""
    operator_membership(session, actor, acting=True)
    org = _organization(session, org_id)
    if org.status == OrgStatus.ACTIVE:
        raise Conflict(_("This organization is already active."))
    before = snapshot(org, ORG_FIELDS)
    org.status = OrgStatus.ACTIVE
    org.suspended_reason = None
    _audit_org(session, clock, actor, "organization.reactivated", org, before)
    session.commit()
    return org


def _audit_org(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    org: Organization,
    before: dict[str, object],
) -> None:
    after = snapshot(org, ORG_FIELDS)
    record(
        session,
        clock,
        actor,
        action,
        ("organization", org.id),
        before=before,
        after=after,
        subject_org_id=org.id,
    )


def deactivate_user(
    session: Session, clock: Clock, actor: Actor, user_id: int, reason: str | None
) -> User:
    """Stop a user from signing in, with a reason; their sessions end at the next request."""
    acting = operator_membership(session, actor, acting=True)
    text = required_text(reason, "reason")
    if user_id == actor.user_id:
        raise Forbidden(_("You cannot deactivate your own account."))
    if acting.role != Role.OWNER and _is_operator_owner(session, acting.organization_id, user_id):
        raise Forbidden(_("Only an owner of the operator can deactivate another owner."))
    user = _user(session, user_id)
    if not user.is_active:
        raise Conflict(_("This user is already deactivated."))
    before = snapshot(user, USER_FIELDS)
    user.is_active = False
    # A new epoch ends every session now, so reactivation does not revive old ones.
    user.session_epoch += 1
    after = {**snapshot(user, USER_FIELDS), "reason": text}
    record(session, clock, actor, "user.deactivated", ("user", user.id), before=before, after=after)
    session.commit()
    return user


def _is_operator_owner(session: Session, operator_id: int, user_id: int) -> bool:
    stmt = sa.select(Membership.id).where(
        Membership.organization_id == operator_id,
        Membership.user_id == user_id,
        Membership.role == Role.OWNER,
    )
    return session.scalar(stmt) is not None


def reactivate_user(session: Session, clock: Clock, actor: Actor, user_id: int) -> User:
    """Let a deactivated user sign in again."""
    operator_membership(session, actor, acting=True)
    user = _user(session, user_id)
    if user.is_active:
        raise Conflict(_("This user is already active."))
    before = snapshot(user, USER_FIELDS)
    user.is_active = True
    after = snapshot(user, USER_FIELDS)
    record(session, clock, actor, "user.reactivated", ("user", user.id), before=before, after=after)
    session.commit()
    return user


def may_act(role: str) -> bool:
    """Tell whether a member of the operator in role may change things (else only look)."""
    return role in ACTING_ROLES


def confirm_uscc_code(
    session: Session, clock: Clock, actor: Actor, org_id: int, note: str | None
) -> SmeProfile:
    """Confirm a firm's unverified credit code, with an optional note."""
    operator_membership(session, actor, acting=True)
    return firm_services.confirm_uscc(session, clock, actor, org_id, note)


def reject_uscc_code(
    session: Session, clock: Clock, actor: Actor, org_id: int, note: str | None
) -> SmeProfile:
    """Reject a firm's unverified credit code; the note tells the firm what to correct."""
    operator_membership(session, actor, acting=True)
    return firm_services.reject_uscc(session, clock, actor, org_id, note)


def create_park(
    session: Session,
    clock: Clock,
    actor: Actor,
    name: str | None,
    admin_email: str | None,
    *,
    accept_url: Callable[[str], str],
) -> Organization:
    """Create an industrial park and invite its first admin, by email, as the park's owner."""
    operator = operator_membership(session, actor, acting=True)
    cleaned, address = _park_fields(name, admin_email)
    park = add_organization(
        session, clock, kind=OrgKind.PARK, name=cleaned, owner=None, actor=actor
    )
    add_invitation(
        session,
        clock,
        park,
        operator.user,
        email=address,
        role=Role.OWNER.value,
        actor=actor,
        accept_url=accept_url,
    )
    session.commit()
    return park


def _park_fields(name: str | None, admin_email: str | None) -> tuple[str, str]:
    # Both fields are checked before anything is added, so a bad form saves nothing.
    errors: dict[str, list[str]] = {}
    cleaned = address = ""
    try:
        cleaned = organization_name(name or "")
    except ValidationFailed as error:
        errors.update(error.errors)
    try:
        address = email_address(admin_email or "", "admin_email")
    except ValidationFailed as error:
        errors.update(error.errors)
    if errors:
        raise ValidationFailed(errors)
    return cleaned, address
