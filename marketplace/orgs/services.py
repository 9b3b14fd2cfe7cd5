"""Organizations and their members: create, choose, change roles, remove, leave."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from email_validator import EmailNotValidError
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from marketplace.accounts import inputs
from marketplace.accounts.access import ensure_confirmed
from marketplace.accounts.models import User
from marketplace.accounts.passwords import hash_password
from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock
from marketplace.errors import Conflict, Forbidden, NotFound, ValidationFailed
from marketplace.orgs import roles, tenancy
from marketplace.orgs.models import Invitation, Membership, Organization, OrgKind, OrgStatus

NAME_MIN_LENGTH = 2
NAME_MAX_LENGTH = 200
ORGANIZATION_FIELDS = ("kind", "name", "status")
MEMBERSHIP_FIELDS = ("user_id", "organization_id", "role")


def organization_name(name: str) -> str:
    """Return the name trimmed, or raise ValidationFailed naming the field "name"."""
    cleaned = " ".join(name.split())
    if not NAME_MIN_LENGTH <= len(cleaned) <= NAME_MAX_LENGTH:
        raise ValidationFailed(
            {
                "name": _(
                    "Enter a name of %(low)d to %(high)d characters.",
                    low=NAME_MIN_LENGTH,
                    high=NAME_MAX_LENGTH,
                )
            }
        )
    return cleaned


def email_address(email: str, field: str = "email") -> str:
    """Return the address normalized to lower case, or raise ValidationFailed on field."""
    try:
        return inputs.normalize_email(email)
    except EmailNotValidError:
        raise ValidationFailed({field: _("Enter a valid email address.")}) from None


def check_organization_may_change(org: Organization) -> None:
    """Refuse every change to a suspended organization."""
    if not org.is_active:
        raise Forbidden(_("This organization is suspended."))


def check_may_manage_members(acting: Membership) -> None:
    """Refuse unless the acting member is an owner or admin of an active organization."""
    check_organization_may_change(acting.organization)
    if not roles.can_manage_members(acting.role):
        raise Forbidden(_("Only owners and admins can manage members."))


def add_organization(
    session: Session, clock: Clock, *, kind: str, name: str, owner: User | None, actor: Actor
) -> Organization:
    """Add an organization and its owner's membership without committing (for larger changes)."""
    if kind not in set(OrgKind):
        raise ValidationFailed({"kind": _("Choose a kind of organization.")})
    cleaned = organization_name(name)
    if kind == OrgKind.OPERATOR:
        _check_no_operator_yet(session)
    org = Organization(kind=kind, name=cleaned, status=OrgStatus.ACTIVE, created_at=clock.now())
    session.add(org)
    session.flush()
    if owner is not None:
        session.add(
            Membership(
                user_id=owner.id, organization_id=org.id, role=roles.OWNER, created_at=clock.now()
            )
        )
    after = {**snapshot(org, ORGANIZATION_FIELDS), "owner_user_id": owner.id if owner else None}
    record(
        session,
        clock,
        actor,
        "organization.created",
        ("organization", org.id),
        after=after,
        subject_org_id=org.id,
    )
    session.flush()
    return org


def create_organization(
    session: Session, clock: Clock, *, kind: str, name: str, owner: User | None, actor: Actor
) -> Organization:
    """Create an organization of a kind, with owner as its first owner, and commit."""
    org = add_organization(session, clock, kind=kind, name=name, owner=owner, actor=actor)
    session.commit()
    return org


def _check_no_operator_yet(session: Session) -> None:
    stmt = sa.select(Organization.id).where(Organization.kind == OrgKind.OPERATOR).limit(1)
    if session.scalar(stmt) is not None:
        raise Conflict(_("The marketplace already has an operator organization."))


def apply_as_vendor(
    session: Session, clock: Clock, user: User, *, name: str, actor: Actor
) -> Organization:
    """Create a vendor organization owned by user.

    The operator's approval of vendors arrives in a later issue; until then a new vendor
    organization is active at once.
    """
    ensure_confirmed(user)
    return create_organization(
        session, clock, kind=OrgKind.VENDOR, name=name, owner=user, actor=actor
    )


def create_operator(
    session: Session, clock: Clock, *, name: str, email: str, password: str
) -> Organization:
    """Bootstrap the one operator organization with a new, confirmed user as its owner."""
    errors: inputs.Errors = {}
    address = inputs.email(email, errors)
    inputs.new_password(password, password, address, errors)
    if "email" not in errors and _user_exists(session, address):
        errors["email"] = [_("A user with this email address already exists.")]
    if errors:
        raise ValidationFailed(errors)
    organization_name(name)
    _check_no_operator_yet(session)
    now = clock.now()
    user = User(
        email=address,
        display_name=address.split("@")[0][:100],
        password_hash=hash_password(password),
        email_confirmed_at=now,
        created_at=now,
    )
    session.add(user)
    session.flush()
    system = Actor(user_id=None)
    record(session, clock, system, "user.created", ("user", user.id), after={"email": address})
    org = add_organization(
        session, clock, kind=OrgKind.OPERATOR, name=name, owner=user, actor=system
    )
    session.commit()
    return org


def _user_exists(session: Session, address: str) -> bool:
    stmt = sa.select(User.id).where(sa.func.lower(User.email) == address.lower())
    return session.scalar(stmt) is not None


def organizations_of(session: Session, user_id: int) -> list[Membership]:
    """Return the user's memberships with their organizations, oldest first."""
    stmt = (
        sa.select(Membership)
        .options(joinedload(Membership.organization))
        .where(Membership.user_id == user_id)
        .order_by(Membership.id)
    )
    return list(session.scalars(stmt))


def membership_to_act_as(session: Session, user_id: int, org_id: int) -> Membership:
    """Return the user's membership in org_id, or raise NotFound when there is none."""
    membership = tenancy.membership_of_user(session, org_id, user_id)
    if membership is None:
        raise NotFound(_("You are not a member of that organization."))
    return membership


@dataclass(frozen=True)
class MemberRow:
    """One member as the acting member sees them, with what they may do to them."""

    membership: Membership
    is_self: bool
    roles_to_grant: tuple[str, ...]  # empty: the role cannot be changed by the viewer
    may_remove: bool


@dataclass(frozen=True)
class OpenInvitation:
    """An invitation neither accepted nor revoked, and whether it is past its expiry."""

    invitation: Invitation
    is_expired: bool
    may_revoke: bool


@dataclass(frozen=True)
class MemberDirectory:
    """The acting organization's members and open invitations, with the viewer's rights."""

    organization: Organization
    acting: Membership
    members: list[MemberRow]
    invitations: list[OpenInvitation]
    may_manage: bool
    roles_to_invite: tuple[str, ...]
    may_leave: bool


def member_directory(session: Session, clock: Clock, acting: Membership) -> MemberDirectory:
    """List the acting organization's members, and what the acting member may change."""
    org = acting.organization
    may_manage = org.is_active and roles.can_manage_members(acting.role)
    owners = tenancy.owner_count(session, org.id)
    rows = [_member_row(acting, m, owners, may_manage) for m in tenancy.members_of(session, org.id)]
    invitations: list[OpenInvitation] = []
    if roles.can_manage_members(acting.role):
        now = clock.now()
        invitations = [
            OpenInvitation(
                invitation=i,
                is_expired=now >= i.expires_at,
                may_revoke=may_manage and roles.can_grant(acting.role, i.role),
            )
            for i in tenancy.open_invitations(session, org.id)
        ]
    return MemberDirectory(
        organization=org,
        acting=acting,
        members=rows,
        invitations=invitations,
        may_manage=may_manage,
        roles_to_invite=roles.grantable_roles(acting.role) if may_manage else (),
        may_leave=org.is_active and roles.keeps_an_owner(acting.role, None, owners),
    )


def _member_row(acting: Membership, member: Membership, owners: int, may_manage: bool) -> MemberRow:
    changeable = may_manage and roles.can_change(acting.role, member.role)
    sole_owner = not roles.keeps_an_owner(member.role, None, owners)
    return MemberRow(
        membership=member,
        is_self=member.id == acting.id,
        roles_to_grant=roles.grantable_roles(acting.role) if changeable and not sole_owner else (),
        may_remove=changeable and not sole_owner,
    )


def change_member_role(
    session: Session,
    clock: Clock,
    acting: Membership,
    membership_id: int,
    *,
    role: str,
    actor: Actor,
) -> Membership:
    """Give a member of the acting organization another role."""
    check_may_manage_members(acting)
    if role not in roles.ALL_ROLES:
        raise ValidationFailed({"role": _("Choose one of the roles.")})
    tenancy.lock_organization(session, acting.organization_id)
    target = tenancy.membership_in(session, acting.organization_id, membership_id)
    if not (roles.can_change(acting.role, target.role) and roles.can_grant(acting.role, role)):
        raise Forbidden(_("Only owners can grant or remove the owner role."))
    _check_keeps_an_owner(session, target, role)
    if target.role == role:
        return target
    before = snapshot(target, MEMBERSHIP_FIELDS)
    target.role = role
    record(
        session,
        clock,
        actor,
        "membership.role_changed",
        ("membership", target.id),
        before=before,
        after=snapshot(target, MEMBERSHIP_FIELDS),
        subject_org_id=target.organization_id,
    )
    session.commit()
    return target


def remove_member(
    session: Session, clock: Clock, acting: Membership, membership_id: int, *, actor: Actor
) -> None:
    """Take a member out of the acting organization."""
    check_may_manage_members(acting)
    tenancy.lock_organization(session, acting.organization_id)
    target = tenancy.membership_in(session, acting.organization_id, membership_id)
    if not roles.can_change(acting.role, target.role):
        raise Forbidden(_("Only owners can grant or remove the owner role."))
    _check_keeps_an_owner(session, target, None)
    _delete_membership(session, clock, actor, target, "membership.removed")
    session.commit()


def leave_organization(session: Session, clock: Clock, acting: Membership, *, actor: Actor) -> None:
    """Take the acting member out of their organization, unless they are its last owner."""
    check_organization_may_change(acting.organization)
    tenancy.lock_organization(session, acting.organization_id)
    _check_keeps_an_owner(session, acting, None)
    _delete_membership(session, clock, actor, acting, "membership.left")
    session.commit()


def _check_keeps_an_owner(session: Session, target: Membership, new_role: str | None) -> None:
    owners = tenancy.owner_count(session, target.organization_id)
    if not roles.keeps_an_owner(target.role, new_role, owners):
        raise Conflict(
            _("An organization must keep at least one owner. Make another member an owner first.")
        )


def _delete_membership(
    session: Session, clock: Clock, actor: Actor, membership: Membership, action: str
) -> None:
    before = snapshot(membership, MEMBERSHIP_FIELDS)
    record(
        session,
        clock,
        actor,
        action,
        ("membership", membership.id),
        before=before,
        after=None,
        subject_org_id=membership.organization_id,
    )
    session.delete(membership)
