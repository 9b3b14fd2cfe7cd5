"""Firms see the subsidy programs they may join and why not; they apply, join and withdraw.

A firm sees the active programs of every active park: those of its own parks first, and
those of other parks too, because a program open to non-members is one it may join, and
for the rest the unmet "member of the park" rule tells it what to do. Only the terms a
park publishes are shown (rules in force), never its budget use or other firms.

Joining an application-mode program takes an application the park decides on; an
automatic program takes in an eligible firm at its first invoice, or at once when the
firm asks to join now. Every decision checks eligibility in full when it is made; the
park's side is billing.subsidies.enrollment_park.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.subsidies.eligibility import Eligibility, Unmet
from billing.subsidies.enrollment_labels import unmet_sentences
from billing.subsidies.models import (
    EnrollmentMode,
    EnrollmentStatus,
    ProgramStatus,
    SubsidyEnrollment,
    SubsidyProgram,
)
from billing.subsidies.rules import ProgramRules
from billing.subsidies.standing import (
    active_programs,
    enrollments_of,
    firm_facts,
    member_parks,
    unmet_for,
    versions_in_force,
)
from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock, market_day
from marketplace.errors import Conflict, NotFound
from marketplace.firms.models import SmeProfile
from marketplace.firms.services.access import managed_organization
from marketplace.orgs.models import Organization, OrgKind, OrgStatus
from marketplace.text_input import checked_text

ENROLLMENT_FIELDS = ("status", "message", "reason", "size_class", "size_standard_id")
REOPENABLE = frozenset({EnrollmentStatus.REJECTED.value, EnrollmentStatus.WITHDRAWN.value})
APPLIED_ACTION = "subsidy_enrollment.applied"


class NotEligible(Conflict):
    """The firm does not meet some of the program's rules; `unmet` names each of them."""

    title = "Not eligible"

    def __init__(self, unmet: tuple[Unmet, ...], eligibility: Eligibility) -> None:
        self.unmet = unmet
        self.sentences = unmet_sentences(unmet, eligibility)
        super().__init__(" ".join(self.sentences))


# What a firm may do: pure ------------------------------------------------------------------


def may_apply(
    program: SubsidyProgram, enrollment: SubsidyEnrollment | None, unmet: tuple[Unmet, ...]
) -> bool:
    """Say whether the firm may apply now: an application program, no open file, eligible."""
    open_to_it = enrollment is None or enrollment.status in REOPENABLE
    mode = program.enrollment == EnrollmentMode.APPLICATION
    return program.status == ProgramStatus.ACTIVE and mode and open_to_it and not unmet


def may_join(
    program: SubsidyProgram, enrollment: SubsidyEnrollment | None, unmet: tuple[Unmet, ...]
) -> bool:
    """Say whether the firm may join an automatic program now (never after a rejection)."""
    open_to_it = enrollment is None or enrollment.status in {
        EnrollmentStatus.APPLIED.value,
        EnrollmentStatus.WITHDRAWN.value,
    }
    mode = program.enrollment == EnrollmentMode.AUTOMATIC
    return program.status == ProgramStatus.ACTIVE and mode and open_to_it and not unmet


# The firm's side ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramChoice:
    """A program as a firm sees it: its park, rules in force, the firm's file and unmet rules."""

    program: SubsidyProgram
    park: Organization
    rules: ProgramRules
    enrollment: SubsidyEnrollment | None
    unmet: tuple[Unmet, ...]
    member: bool

    @property
    def can_apply(self) -> bool:
        """Say whether the firm may apply to this program now."""
        return may_apply(self.program, self.enrollment, self.unmet)

    @property
    def can_join(self) -> bool:
        """Say whether the firm may join this automatic program now."""
        return may_join(self.program, self.enrollment, self.unmet)

    @property
    def can_withdraw(self) -> bool:
        """Say whether the firm has a pending application it may take back."""
        return self.enrollment is not None and self.enrollment.status == EnrollmentStatus.APPLIED

    @property
    def reasons(self) -> list[str]:
        """Say every unmet rule in a sentence."""
        return unmet_sentences(self.unmet, self.rules.eligibility)


def programs_for_firm(session: Session, firm_id: int, now: datetime) -> list[ProgramChoice]:
    """List the active programs of active parks and the programs the firm has a file in.

    The firm's own parks come first. A program the firm applied to or joined stays listed
    once paused or closed, so the firm can still follow (and withdraw) its application.
    """
    parks = {
        park.id: park
        for park in session.scalars(
            sa.select(Organization).where(
                Organization.kind == OrgKind.PARK, Organization.status == OrgStatus.ACTIVE
            )
        )
    }
    programs = {program.id: program for program in active_programs(session, parks)}
    for program in _programs_with_file(session, firm_id):
        programs.setdefault(program.id, program)
        if program.park_id not in parks:
            parks[program.park_id] = session.get_one(Organization, program.park_id)
    return _choices(session, firm_id, now, list(programs.values()), parks)


def _programs_with_file(session: Session, firm_id: int) -> list[SubsidyProgram]:
    """Return the programs, past their draft, the firm has applied to or joined."""
    return list(
        session.scalars(
            sa.select(SubsidyProgram)
            .join(SubsidyEnrollment, SubsidyEnrollment.program_id == SubsidyProgram.id)
            .where(
                SubsidyEnrollment.firm_id == firm_id,
                SubsidyProgram.status != ProgramStatus.DRAFT,
            )
        )
    )


def program_for_firm(
    session: Session, firm_id: int, program_id: int, now: datetime
) -> ProgramChoice:
    """Return one program in force of an active park as the firm sees it, or raise NotFound."""
    program = session.get(SubsidyProgram, program_id)
    park = session.get(Organization, program.park_id) if program else None
    if program is None or program.status != ProgramStatus.ACTIVE or park is None:
        raise NotFound(_("No such subsidy program."))
    if park.kind != OrgKind.PARK or not park.is_active:
        raise NotFound(_("No such subsidy program."))
    choices = _choices(session, firm_id, now, [program], {park.id: park})
    if not choices:
        raise NotFound(_("No such subsidy program."))
    return choices[0]


def _choices(
    session: Session,
    firm_id: int,
    now: datetime,
    programs: list[SubsidyProgram],
    parks: dict[int, Organization],
) -> list[ProgramChoice]:
    """Judge the firm against each program's rules in force now."""
    in_force = versions_in_force(session, programs, now)
    enrollments = enrollments_of(session, firm_id, [item.program.id for item in in_force])
    members = member_parks(session, firm_id)
    facts = firm_facts(session, firm_id, 0) if in_force else None
    if facts is None:
        return []  # an unregistered firm has nothing to be judged by
    on = market_day(now)
    choices = []
    for item in in_force:
        park_id = item.program.park_id
        seen = dataclasses.replace(facts, park_member=park_id in members)
        choices.append(
            ProgramChoice(
                program=item.program,
                park=parks[park_id],
                rules=item.rules,
                enrollment=enrollments.get(item.program.id),
                unmet=unmet_for(item.rules, seen, on),
                member=park_id in members,
            )
        )
    return sorted(choices, key=lambda c: (not c.member, c.park.name, c.park.id, c.program.id))


def apply(
    session: Session,
    clock: Clock,
    actor: Actor,
    firm_id: int,
    program_id: int,
    message: str,
) -> SubsidyEnrollment:
    """Apply to a program; a rejected or withdrawn application is opened again."""
    choice = _firm_choice(session, actor, firm_id, program_id, clock.now())
    _lock(session, choice.enrollment)
    if choice.program.enrollment != EnrollmentMode.APPLICATION:
        raise Conflict(_("Firms join this program without applying."))
    text = checked_text(message, "message", required=False)
    _require_open(choice.enrollment)
    _require_eligible(choice)
    enrollment, before = _open_file(session, choice, firm_id)
    enrollment.status = EnrollmentStatus.APPLIED
    enrollment.message = text
    enrollment.requested_at = clock.now()
    enrollment.decided_at = enrollment.decided_by_id = enrollment.reason = None
    enrollment.size_class = enrollment.size_standard_id = None
    _flush_once(session)
    audit_change(session, clock, actor, APPLIED_ACTION, enrollment, before)
    session.commit()
    return enrollment


def join(
    session: Session, clock: Clock, actor: Actor, firm_id: int, program_id: int
) -> SubsidyEnrollment:
    """Join an automatic program now, rather than at the firm's next invoice."""
    choice = _firm_choice(session, actor, firm_id, program_id, clock.now())
    _lock(session, choice.enrollment)
    if choice.program.enrollment != EnrollmentMode.AUTOMATIC:
        raise Conflict(_("Apply to this program: the park decides who joins."))
    if choice.enrollment is not None and choice.enrollment.status == EnrollmentStatus.REJECTED:
        raise Conflict(_("The park has rejected the firm's application to this program."))
    _require_not_enrolled(choice.enrollment)
    _require_eligible(choice)
    enrollment, before = _open_file(session, choice, firm_id)
    enrollment.requested_at = clock.now()
    decide(session, enrollment, clock.now(), None, EnrollmentStatus.APPROVED, None)
    _flush_once(session)
    audit_change(session, clock, actor, "subsidy_enrollment.joined", enrollment, before)
    session.commit()
    return enrollment


def withdraw(
    session: Session, clock: Clock, actor: Actor, firm_id: int, program_id: int
) -> SubsidyEnrollment:
    """Take back the firm's pending application to a program."""
    managed_organization(session, actor, firm_id, OrgKind.SME)
    enrollment = session.scalar(
        sa.select(SubsidyEnrollment)
        .where(SubsidyEnrollment.firm_id == firm_id, SubsidyEnrollment.program_id == program_id)
        .with_for_update()
    )
    if enrollment is None:
        raise NotFound(_("The firm has not applied to this program."))
    if enrollment.status != EnrollmentStatus.APPLIED:
        raise Conflict(_("Only a pending application can be withdrawn."))
    before = snapshot(enrollment, ENROLLMENT_FIELDS)
    enrollment.status = EnrollmentStatus.WITHDRAWN
    audit_change(session, clock, actor, "subsidy_enrollment.withdrawn", enrollment, before)
    session.commit()
    return enrollment


def _firm_choice(
    session: Session, actor: Actor, firm_id: int, program_id: int, now: datetime
) -> ProgramChoice:
    """Check the actor manages the registered firm; return the program as the firm sees it."""
    managed_organization(session, actor, firm_id, OrgKind.SME)
    if session.get(SmeProfile, firm_id) is None:
        raise Conflict(_("Register the firm before joining a subsidy program."))
    return program_for_firm(session, firm_id, program_id, now)


def _lock(session: Session, enrollment: SubsidyEnrollment | None) -> None:
    """Lock an existing enrollment and read it afresh, so a park's decision is not lost."""
    if enrollment is not None:
        session.refresh(enrollment, with_for_update=True)


def _require_open(enrollment: SubsidyEnrollment | None) -> None:
    """Refuse a second application while one is pending or the firm is enrolled."""
    if enrollment is not None and enrollment.status == EnrollmentStatus.APPLIED:
        raise Conflict(_("The firm has already applied to this program."))
    _require_not_enrolled(enrollment)


def _require_not_enrolled(enrollment: SubsidyEnrollment | None) -> None:
    """Refuse to enroll a firm twice."""
    if enrollment is not None and enrollment.status == EnrollmentStatus.APPROVED:
        raise Conflict(_("The firm is already enrolled in this program."))


def _require_eligible(choice: ProgramChoice) -> None:
    """Refuse a firm that does not meet every rule, naming each rule it does not meet."""
    if choice.unmet:
        raise NotEligible(choice.unmet, choice.rules.eligibility)


def _open_file(
    session: Session, choice: ProgramChoice, firm_id: int
) -> tuple[SubsidyEnrollment, dict[str, Any] | None]:
    """Return the firm's enrollment row for the program (a new one if none) and its before."""
    if choice.enrollment is not None:
        return choice.enrollment, snapshot(choice.enrollment, ENROLLMENT_FIELDS)
    enrollment = SubsidyEnrollment(program_id=choice.program.id, firm_id=firm_id)
    session.add(enrollment)
    return enrollment, None


def _flush_once(session: Session) -> None:
    """Flush; two owners acting at once both pass the read, the (program, firm) key picks one."""
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        raise Conflict(_("The firm already has an enrollment in this program.")) from error


# Shared -------------------------------------------------------------------------------------


def audit_change(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    enrollment: SubsidyEnrollment,
    before: dict[str, Any] | None,
) -> None:
    """Record an enrollment's change, about the firm, with the program it is in."""
    after = {**snapshot(enrollment, ENROLLMENT_FIELDS), "program_id": enrollment.program_id}
    record(
        session,
        clock,
        actor,
        action,
        ("subsidy_enrollment", enrollment.id),
        before=before,
        after=after,
        subject_org_id=enrollment.firm_id,
    )


def decide(
    session: Session,
    enrollment: SubsidyEnrollment,
    now: datetime,
    user_id: int | None,
    status: EnrollmentStatus,
    reason: str | None,
) -> None:
    """Record a decision with the size class it saw and the standard that classified the firm."""
    profile = session.get(SmeProfile, enrollment.firm_id)
    enrollment.status = status
    enrollment.reason = reason
    enrollment.decided_at = now
    enrollment.decided_by_id = user_id
    enrollment.size_class = profile.size_class if profile else None
    enrollment.size_standard_id = profile.size_standard_id if profile else None
