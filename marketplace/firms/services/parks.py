"""Firms ask to join industrial parks; the parks' owners and admins decide."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock
from marketplace.errors import Conflict, NotFound
from marketplace.firms.models import ParkMembership, ParkMembershipStatus, SmeProfile
from marketplace.firms.services.access import managed_organization
from marketplace.firms.services.standards import load_standards
from marketplace.firms.sme_size import IndustryRule
from marketplace.orgs.models import Organization, OrgKind, OrgStatus
from marketplace.text_input import checked_text

MEMBERSHIP_FIELDS = ("status", "message", "decision_reason")
_PENDING_FIRST = sa.case((ParkMembership.status == ParkMembershipStatus.REQUESTED, 0), else_=1)


@dataclass(frozen=True)
class ParkChoice:
    """A park a firm may ask to join, and the firm's request to it if there is one."""

    park: Organization
    membership: ParkMembership | None


@dataclass(frozen=True)
class ParkRequest:
    """A firm's request as the park sees it: the firm, its profile and its industry."""

    membership: ParkMembership
    firm: Organization
    profile: SmeProfile | None
    industry: IndustryRule | None


@dataclass(frozen=True)
class ParkRequests:
    """A park's open and decided requests (pending first) and its approved members."""

    requests: list[ParkRequest]
    members: list[ParkRequest]


def parks_for_firm(session: Session, firm_id: int) -> list[ParkChoice]:
    """List the active parks with the firm's request to each, by park name."""
    stmt = (
        sa.select(Organization, ParkMembership)
        .outerjoin(
            ParkMembership,
            sa.and_(ParkMembership.park_id == Organization.id, ParkMembership.firm_id == firm_id),
        )
        .where(Organization.kind == OrgKind.PARK, Organization.status == OrgStatus.ACTIVE)
        .order_by(Organization.name, Organization.id)
    )
    return [ParkChoice(park, membership) for park, membership in session.execute(stmt)]


def park_for_firm(session: Session, firm_id: int, park_id: int) -> ParkChoice:
    """Return one active park with the firm's request to it, or raise NotFound."""
    park = _active_park(session, park_id)
    return ParkChoice(park, _membership(session, park_id, firm_id))


def request_to_join_park(
    session: Session, clock: Clock, actor: Actor, firm_id: int, park_id: int, message: str
) -> ParkMembership:
    """Ask a park to take the firm in; a rejected or withdrawn request is opened again."""
    managed_organization(session, actor, firm_id, OrgKind.SME)
    if session.get(SmeProfile, firm_id) is None:
        raise Conflict(_("Register the firm before asking to join a park."))
    park = _active_park(session, park_id)
    text = checked_text(message, "message", required=False)
    membership = _membership(session, park.id, firm_id)
    before = None if membership is None else snapshot(membership, MEMBERSHIP_FIELDS)
    if membership is None:
        membership = ParkMembership(park_id=park.id, firm_id=firm_id)
        session.add(membership)
    else:
        _require_reopenable(membership)
    membership.status = ParkMembershipStatus.REQUESTED
    membership.message = text
    membership.requested_at = clock.now()
    membership.requested_by_id = actor.user_id
    membership.decided_at = membership.decided_by_id = membership.decision_reason = None
    _flush_unless_already_requested(session)
    _audit(session, clock, actor, "park_membership.requested", membership, before)
    session.commit()
    return membership


def withdraw_park_request(
    session: Session, clock: Clock, actor: Actor, firm_id: int, park_id: int
) -> ParkMembership:
    """Take back the firm's pending request to a park."""
    managed_organization(session, actor, firm_id, OrgKind.SME)
    membership = _membership(session, park_id, firm_id)
    if membership is None:
        raise NotFound(_("The firm has not asked to join this park."))
    if membership.status != ParkMembershipStatus.REQUESTED:
        raise Conflict(_("Only a pending request can be withdrawn."))
    before = snapshot(membership, MEMBERSHIP_FIELDS)
    membership.status = ParkMembershipStatus.WITHDRAWN
    _audit(session, clock, actor, "park_membership.withdrawn", membership, before)
    session.commit()
    return membership


def park_requests(session: Session, park_id: int) -> ParkRequests:
    """Return the requests to this park (pending first, newest next) and its members."""
    stmt = _requests_to(park_id).order_by(_PENDING_FIRST, ParkMembership.requested_at.desc())
    rows = _with_industries(session, stmt)
    return ParkRequests(
        requests=[r for r in rows if r.membership.status != ParkMembershipStatus.APPROVED],
        members=sorted(
            (r for r in rows if r.membership.status == ParkMembershipStatus.APPROVED),
            key=lambda r: r.firm.name,
        ),
    )


def park_request(session: Session, park_id: int, membership_id: int) -> ParkRequest:
    """Return one request to this park; a request to another park is not found."""
    stmt = _requests_to(park_id).where(ParkMembership.id == membership_id)
    rows = _with_industries(session, stmt)
    if not rows:
        raise NotFound(_("No such request to this park."))
    return rows[0]


def approve_park_request(
    session: Session, clock: Clock, actor: Actor, park_id: int, membership_id: int
) -> ParkMembership:
    """Take the firm into the park."""
    return _decide(session, clock, actor, park_id, membership_id, approve=True, reason=None)


def reject_park_request(
    session: Session, clock: Clock, actor: Actor, park_id: int, membership_id: int, reason: str
) -> ParkMembership:
    """Turn the firm's request down, saying why."""
    text = checked_text(reason, "reason", required=True)
    return _decide(session, clock, actor, park_id, membership_id, approve=False, reason=text)


def _decide(
    session: Session,
    clock: Clock,
    actor: Actor,
    park_id: int,
    membership_id: int,
    *,
    approve: bool,
    reason: str | None,
) -> ParkMembership:
    managed_organization(session, actor, park_id, OrgKind.PARK)
    membership = session.scalar(
        sa.select(ParkMembership).where(
            ParkMembership.park_id == park_id, ParkMembership.id == membership_id
        )
    )
    if membership is None:
        raise NotFound(_("No such request to this park."))
    if membership.status != ParkMembershipStatus.REQUESTED:
        raise Conflict(_("This request has already been decided or withdrawn."))
    before = snapshot(membership, MEMBERSHIP_FIELDS)
    status = ParkMembershipStatus.APPROVED if approve else ParkMembershipStatus.REJECTED
    membership.status = status
    membership.decided_at = clock.now()
    membership.decided_by_id = actor.user_id
    membership.decision_reason = reason
    _audit(session, clock, actor, f"park_membership.{status.value}", membership, before)
    session.commit()
    return membership


def _requests_to(park_id: int) -> sa.Select[ParkMembership, Organization, SmeProfile]:
    return (
        sa.select(ParkMembership, Organization, SmeProfile)
        .join(Organization, Organization.id == ParkMembership.firm_id)
        .outerjoin(SmeProfile, SmeProfile.organization_id == ParkMembership.firm_id)
        .where(ParkMembership.park_id == park_id)
    )


def _with_industries(
    session: Session, stmt: sa.Select[ParkMembership, Organization, SmeProfile]
) -> list[ParkRequest]:
    standards = {standard.id: standard for standard in load_standards(session)}
    result = []
    # The profile is outer-joined: a firm made by hand may not have registered yet.
    profile: SmeProfile | None
    for membership, firm, profile in session.execute(stmt):
        standard = standards.get(profile.size_standard_id) if profile else None
        industry = standard.industries.get(profile.industry_code) if standard and profile else None
        result.append(ParkRequest(membership, firm, profile, industry))
    return result


def _active_park(session: Session, park_id: int) -> Organization:
    park = session.get(Organization, park_id)
    if park is None or park.kind != OrgKind.PARK or not park.is_active:
        raise NotFound(_("No such park."))
    return park


def _membership(session: Session, park_id: int, firm_id: int) -> ParkMembership | None:
    stmt = (
        sa.select(ParkMembership)
        .options(joinedload(ParkMembership.park))
        .where(ParkMembership.park_id == park_id, ParkMembership.firm_id == firm_id)
    )
    return session.scalar(stmt)


def _require_reopenable(membership: ParkMembership) -> None:
    if membership.status == ParkMembershipStatus.REQUESTED:
        raise Conflict(_("The firm has already asked to join this park."))
    if membership.status == ParkMembershipStatus.APPROVED:
        raise Conflict(_("The firm is already a member of this park."))


def _flush_unless_already_requested(session: Session) -> None:
    # Two owners asking at once both pass the read; the (park, firm) constraint picks one.
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        raise Conflict(_("The firm has already asked to join this park.")) from error


def _audit(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    membership: ParkMembership,
    before: dict[str, Any] | None,
) -> None:
    record(
        session,
        clock,
        actor,
        action,
        ("park_membership", membership.id),
        before=before,
        after={**snapshot(membership, MEMBERSHIP_FIELDS), "park_id": membership.park_id},
        subject_org_id=membership.firm_id,
    )
