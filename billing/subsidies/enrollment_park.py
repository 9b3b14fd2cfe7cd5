"""Park admins decide on firms' applications to their programs and see the firms enrolled.

Every read and change is scoped by the acting park: another park's application or
program is not found. Approving checks every eligibility rule again at decision time;
a decision records the size class it saw and the size standard that classified the firm.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.subsidies.enrollment import (
    ENROLLMENT_FIELDS,
    NotEligible,
    audit_change,
    decide,
)
from billing.subsidies.models import (
    EnrollmentStatus,
    ProgramStatus,
    SubsidyEnrollment,
    SubsidyProgram,
)
from billing.subsidies.standing import firm_facts, unmet_for, versions_in_force
from marketplace.audit.services import Actor, snapshot
from marketplace.clock import Clock, market_day
from marketplace.console.queries import PAGE_SIZE, Page
from marketplace.errors import Conflict, NotFound
from marketplace.firms.models import SizeStandardRecord, SmeProfile
from marketplace.firms.services.access import managed_organization
from marketplace.orgs.models import Organization, OrgKind
from marketplace.text_input import checked_text

_PENDING_FIRST = sa.case((SubsidyEnrollment.status == EnrollmentStatus.APPLIED, 0), else_=1)


@dataclass(frozen=True)
class Application:
    """An enrollment as the park sees it: the firm, its profile, the standard that sized it."""

    enrollment: SubsidyEnrollment
    program: SubsidyProgram
    firm: Organization
    profile: SmeProfile | None
    standard_name: str | None
    message: str | None


@dataclass(frozen=True)
class ProgramFirms:
    """A program of the park and the firms enrolled in it."""

    program: SubsidyProgram
    firms: Page[Application]


def applications(session: Session, park_id: int, page: int = 1) -> Page[Application]:
    """Return a page of the applications to the park's programs not approved, pending first."""
    stmt = _of_park(park_id).where(SubsidyEnrollment.status != EnrollmentStatus.APPROVED)
    stmt = stmt.order_by(
        _PENDING_FIRST, SubsidyEnrollment.requested_at.desc(), SubsidyEnrollment.id.desc()
    )
    return _page(session, stmt, page)


def _page(
    session: Session, stmt: sa.Select[SubsidyEnrollment, SubsidyProgram, Organization], page: int
) -> Page[Application]:
    """Return one page of PAGE_SIZE applications of an ordered select."""
    number = max(page, 1)
    found = _applications(session, stmt.offset((number - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    return Page(found[:PAGE_SIZE], number, len(found) > PAGE_SIZE)


def application(session: Session, park_id: int, enrollment_id: int) -> Application:
    """Return one enrollment in the park's programs; another park's is not found."""
    found = _applications(session, _of_park(park_id).where(SubsidyEnrollment.id == enrollment_id))
    if not found:
        raise NotFound(_("No such application to this park."))
    return found[0]


def enrolled_firms(session: Session, park_id: int, program_id: int, page: int = 1) -> ProgramFirms:
    """Return a program of the park with a page of its enrolled firms, by firm name."""
    program = session.scalar(
        sa.select(SubsidyProgram).where(
            SubsidyProgram.id == program_id, SubsidyProgram.park_id == park_id
        )
    )
    if program is None:
        raise NotFound(_("No such subsidy program."))
    stmt = _of_park(park_id).where(
        SubsidyEnrollment.program_id == program_id,
        SubsidyEnrollment.status == EnrollmentStatus.APPROVED,
    )
    return ProgramFirms(
        program, _page(session, stmt.order_by(Organization.name, Organization.id), page)
    )


def approve(
    session: Session, clock: Clock, actor: Actor, park_id: int, enrollment_id: int
) -> SubsidyEnrollment:
    """Enroll the firm, once it meets every rule of the program in force now."""
    enrollment, program = _pending(session, actor, park_id, enrollment_id)
    now = clock.now()
    in_force = versions_in_force(session, [program], now)
    if program.status == ProgramStatus.CLOSED or not in_force:
        raise Conflict(_("The program is closed: it takes in no more firms."))
    facts = firm_facts(session, enrollment.firm_id, park_id)
    unmet = unmet_for(in_force[0].rules, facts, market_day(now))
    if unmet:
        raise NotEligible(unmet, in_force[0].rules.eligibility)
    before = snapshot(enrollment, ENROLLMENT_FIELDS)
    decide(session, enrollment, now, actor.user_id, EnrollmentStatus.APPROVED, None)
    audit_change(session, clock, actor, "subsidy_enrollment.approved", enrollment, before)
    session.commit()
    return enrollment


def reject(
    session: Session, clock: Clock, actor: Actor, park_id: int, enrollment_id: int, reason: str
) -> SubsidyEnrollment:
    """Turn the firm's application down, saying why."""
    text = checked_text(reason, "reason", required=True)
    enrollment, _program = _pending(session, actor, park_id, enrollment_id)
    before = snapshot(enrollment, ENROLLMENT_FIELDS)
    decide(session, enrollment, clock.now(), actor.user_id, EnrollmentStatus.REJECTED, text)
    audit_change(session, clock, actor, "subsidy_enrollment.rejected", enrollment, before)
    session.commit()
    return enrollment


def _pending(
    session: Session, actor: Actor, park_id: int, enrollment_id: int
) -> tuple[SubsidyEnrollment, SubsidyProgram]:
    """Lock a pending application to one of the park's programs, for the park's manager."""
    managed_organization(session, actor, park_id, OrgKind.PARK)
    row = session.execute(
        sa.select(SubsidyEnrollment, SubsidyProgram)
        .join(SubsidyProgram, SubsidyProgram.id == SubsidyEnrollment.program_id)
        .where(SubsidyEnrollment.id == enrollment_id, SubsidyProgram.park_id == park_id)
        .with_for_update(of=SubsidyEnrollment)
    ).one_or_none()
    if row is None:
        raise NotFound(_("No such application to this park."))
    enrollment, program = row
    if enrollment.status != EnrollmentStatus.APPLIED:
        raise Conflict(_("This application has already been decided or withdrawn."))
    return enrollment, program


def _of_park(park_id: int) -> sa.Select[SubsidyEnrollment, SubsidyProgram, Organization]:
    """Select the enrollments in the park's programs with their programs and firms."""
    return (
        sa.select(SubsidyEnrollment, SubsidyProgram, Organization)
        .join(SubsidyProgram, SubsidyProgram.id == SubsidyEnrollment.program_id)
        .join(Organization, Organization.id == SubsidyEnrollment.firm_id)
        .where(SubsidyProgram.park_id == park_id)
    )


def _applications(
    session: Session, stmt: sa.Select[SubsidyEnrollment, SubsidyProgram, Organization]
) -> list[Application]:
    """Load the rows with each firm's profile, the standards' names and the applicants' notes."""
    rows = session.execute(stmt).all()
    firm_ids = [enrollment.firm_id for enrollment, _p, _f in rows]
    profiles = {
        p.organization_id: p
        for p in session.scalars(
            sa.select(SmeProfile).where(SmeProfile.organization_id.in_(firm_ids))
        )
    }
    names = dict(session.execute(sa.select(SizeStandardRecord.id, SizeStandardRecord.name)).all())
    result = []
    for enrollment, program, firm in rows:
        profile = profiles.get(firm.id)
        used = enrollment.size_standard_id or (profile.size_standard_id if profile else None)
        result.append(
            Application(
                enrollment=enrollment,
                program=program,
                firm=firm,
                profile=profile,
                standard_name=names.get(used) if used else None,
                message=enrollment.message,
            )
        )
    return result
