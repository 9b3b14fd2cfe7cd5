"""What the operator reads in the console: organizations, users and the audit log."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor, Change, changes, recorded_actions, trail
from marketplace.clock import MARKET_TIME_ZONE
from marketplace.console.services import operator_membership
from marketplace.errors import NotFound, ValidationFailed
from marketplace.firms.models import ParkMembership, SmeProfile, UsccStatus
from marketplace.firms.services import unverified_codes
from marketplace.firms.uscc import LENGTH as USCC_CHECK_POSITION
from marketplace.firms.uscc import uscc_check_char
from marketplace.orgs.models import Membership, Organization, OrgKind, OrgStatus
from marketplace.orgs.tenancy import members_of

PAGE_SIZE = 50
RECENT = 20
LOCAL_ZONE = MARKET_TIME_ZONE
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, and whether another follows."""

    items: list[T]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        """Tell whether a page comes before this one."""
        return self.number > 1


@dataclass(frozen=True)
class OrgRow:
    """An organization in the console's list."""

    organization: Organization
    member_count: int
    profile: SmeProfile | None


@dataclass(frozen=True)
class AuditLine:
    """An audit entry as the operator reads it: who, what, when, and what changed."""

    entry: AuditEntry
    actor_email: str | None
    actor_org: str | None
    subject_org: str | None
    when_local: datetime
    changes: list[Change]


@dataclass(frozen=True)
class OrgDetail:
    """Everything the console shows about one organization."""

    organization: Organization
    members: list[Membership]
    profile: SmeProfile | None
    parks: list[ParkMembership]
    firms: list[ParkMembership]
    audit: list[AuditLine]


@dataclass(frozen=True)
class UserRow:
    """A user and the organizations they belong to."""

    user: User
    memberships: list[Membership]


@dataclass(frozen=True)
class UserDetail:
    """Everything the console shows about one user."""

    user: User
    memberships: list[Membership]
    audit: list[AuditLine]
    last_login_local: datetime | None


@dataclass(frozen=True)
class AuditPage:
    """One page of the audit log, newest first, with the filter's choices."""

    lines: list[AuditLine]
    next_before: int | None
    actions: list[str]
    organization: Organization | None


@dataclass(frozen=True)
class UsccReview:
    """An unverified credit code and what failed: the check character at position 18."""

    profile: SmeProfile
    given_check: str
    expected_check: str | None
    registered_local: datetime

    @property
    def check_position(self) -> int:
        """Return the position of the character that failed (the last one)."""
        return USCC_CHECK_POSITION


def _local(moment: datetime | None) -> datetime | None:
    return moment.astimezone(LOCAL_ZONE) if moment else None


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _choice(value: str | None, allowed: Iterable[str], field: str) -> str | None:
    if not value:
        return None
    if value not in set(allowed):
        raise ValidationFailed({field: _("Not a valid choice.")})
    return value


def _paged(rows: Sequence[T], number: int) -> Page[T]:
    return Page(list(rows[:PAGE_SIZE]), number, len(rows) > PAGE_SIZE)


def search_organizations(
    session: Session,
    actor: Actor,
    *,
    query: str | None = None,
    kind: str | None = None,
    status: str | None = None,
    page: int = 1,
) -> Page[OrgRow]:
    """List organizations by name or credit code, of a kind and status, 50 a page."""
    operator_membership(session, actor)
    kind = _choice(kind, (k.value for k in OrgKind), "kind")
    status = _choice(status, (s.value for s in OrgStatus), "status")
    number = max(page, 1)
    members = (
        sa.select(sa.func.count(Membership.id))
        .where(Membership.organization_id == Organization.id)
        .scalar_subquery()
    )
    stmt = (
        sa.select(Organization, members, SmeProfile)
        .outerjoin(SmeProfile, SmeProfile.organization_id == Organization.id)
        .order_by(sa.func.lower(Organization.name), Organization.id)
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    text = (query or "").strip()
    if text:
        pattern = _like(text)
        stmt = stmt.where(
            sa.or_(
                Organization.name.ilike(pattern, escape="\\"),
                SmeProfile.legal_name.ilike(pattern, escape="\\"),
                SmeProfile.uscc.ilike(pattern, escape="\\"),
            )
        )
    if kind:
        stmt = stmt.where(Organization.kind == kind)
    if status:
        stmt = stmt.where(Organization.status == status)
    rows = [OrgRow(org, count, profile) for org, count, profile in session.execute(stmt)]
    return _paged(rows, number)


def organization_detail(session: Session, actor: Actor, org_id: int) -> OrgDetail:
    """Return an organization with its members, firm profile, parks and recent audit trail."""
    operator_membership(session, actor)
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound()
    park_links = sa.select(ParkMembership).order_by(ParkMembership.requested_at.desc())
    return OrgDetail(
        organization=org,
        members=members_of(session, org.id),
        profile=session.get(SmeProfile, org.id),
        parks=list(session.scalars(park_links.where(ParkMembership.firm_id == org.id))),
        firms=list(session.scalars(park_links.where(ParkMembership.park_id == org.id))),
        audit=audit_lines(session, trail(session, org_id=org.id, limit=RECENT)),
    )


def search_users(
    session: Session, actor: Actor, *, query: str | None = None, page: int = 1
) -> Page[UserRow]:
    """List users by email or name with their organizations, 50 a page."""
    operator_membership(session, actor)
    number = max(page, 1)
    stmt = (
        sa.select(User)
        .order_by(User.email, User.id)
        .offset((number - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    text = (query or "").strip()
    if text:
        pattern = _like(text)
        stmt = stmt.where(
            sa.or_(
                User.email.ilike(pattern, escape="\\"),
                User.display_name.ilike(pattern, escape="\\"),
            )
        )
    users = list(session.scalars(stmt))
    by_user = _memberships_of(session, [u.id for u in users[:PAGE_SIZE]])
    return _paged([UserRow(u, by_user.get(u.id, [])) for u in users], number)


def _memberships_of(session: Session, user_ids: list[int]) -> dict[int, list[Membership]]:
    if not user_ids:
        return {}
    stmt = (
        sa.select(Membership)
        .where(Membership.user_id.in_(user_ids))
        .options(selectinload(Membership.organization))
        .order_by(Membership.id)
    )
    grouped: dict[int, list[Membership]] = {}
    for membership in session.scalars(stmt):
        grouped.setdefault(membership.user_id, []).append(membership)
    return grouped


def user_detail(session: Session, actor: Actor, user_id: int) -> UserDetail:
    """Return a user with their organizations and the audit entries by or about them."""
    operator_membership(session, actor)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound()
    return UserDetail(
        user=user,
        memberships=_memberships_of(session, [user.id]).get(user.id, []),
        audit=audit_lines(session, trail(session, user_id=user.id, limit=RECENT)),
        last_login_local=_local(user.last_login_at),
    )


def audit_log(
    session: Session,
    actor: Actor,
    *,
    action: str | None = None,
    organization_id: int | None = None,
    before_id: int | None = None,
) -> AuditPage:
    """Return a page of the audit log, newest first, filtered by action and organization."""
    operator_membership(session, actor)
    actions = recorded_actions(session)
    action = _choice(action, actions, "action")
    organization = None
    if organization_id is not None:
        organization = session.get(Organization, organization_id)
        if organization is None:
            raise ValidationFailed({"organization": _("No organization has this id.")})
    entries = trail(
        session,
        action=action,
        org_id=organization_id,
        before_id=before_id,
        limit=PAGE_SIZE + 1,
    )
    lines = audit_lines(session, entries[:PAGE_SIZE])
    next_before = entries[PAGE_SIZE - 1].id if len(entries) > PAGE_SIZE else None
    return AuditPage(lines, next_before, actions, organization)


def audit_lines(session: Session, entries: list[AuditEntry]) -> list[AuditLine]:
    """Resolve who acted and on which organization, local time and the changed keys."""
    user_ids = {e.actor_user_id for e in entries if e.actor_user_id is not None}
    org_ids = {i for e in entries for i in (e.actor_org_id, e.subject_org_id) if i is not None}
    users = sa.select(User.id, User.email).where(User.id.in_(user_ids))
    emails = {user_id: email for user_id, email in session.execute(users)}
    orgs = sa.select(Organization.id, Organization.name).where(Organization.id.in_(org_ids))
    names = {org_id: name for org_id, name in session.execute(orgs)}
    return [
        AuditLine(
            entry=e,
            actor_email=emails.get(e.actor_user_id) if e.actor_user_id else None,
            actor_org=names.get(e.actor_org_id) if e.actor_org_id else None,
            subject_org=names.get(e.subject_org_id) if e.subject_org_id else None,
            when_local=e.created_at.astimezone(LOCAL_ZONE),
            changes=changes(e.before, e.after),
        )
        for e in entries
    ]


def _review(profile: SmeProfile) -> UsccReview:
    try:
        expected: str | None = uscc_check_char(profile.uscc[:17])
    except ValueError:
        # A stored code that no longer parses still deserves a review, just without a hint.
        expected = None
    registered = profile.created_at.astimezone(LOCAL_ZONE)
    return UsccReview(profile, profile.uscc[17:18], expected, registered)


def uscc_reviews(session: Session, actor: Actor) -> list[UsccReview]:
    """List the credit codes waiting for an operator, oldest first."""
    operator_membership(session, actor)
    return [_review(profile) for profile in unverified_codes(session)]


def uscc_review(session: Session, actor: Actor, org_id: int) -> UsccReview:
    """Return one firm's credit code that waits for review, or raise NotFound."""
    operator_membership(session, actor)
    profile = session.get(SmeProfile, org_id)
    if profile is None or profile.uscc_status != UsccStatus.UNVERIFIED:
        raise NotFound(_("No credit code of this organization waits for review."))
    return _review(profile)
