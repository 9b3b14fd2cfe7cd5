"""Enrollment: what a firm may join and why not, apply, withdraw, decide, received vs caps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus
from billing.subsidies import credit_flag, enrollment, enrollment_park, ledger
from billing.subsidies.eligibility import Unmet
from billing.subsidies.enrollment import NotEligible
from billing.subsidies.enrollment_received import received_against_caps
from billing.subsidies.models import (
    EnrollmentMode,
    EnrollmentStatus,
    ProgramStatus,
    SubsidyEnrollment,
    SubsidyParkPolicy,
    SubsidyProgram,
)
from billing.subsidies.rules import CappedBy, LineFacts, LineGrant
from billing.subsidies.standing import versions_in_force
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, Forbidden, NotFound, ValidationFailed
from marketplace.firms.models import SmeProfile
from marketplace.orgs.models import Organization, OrgKind, OrgStatus, Role
from tests.billing.subsidies.test_ledger import World, make_invoice
from tests.billing.subsidies.world import (
    SubsidyWorld,
    add_member_firm,
    add_program,
    enroll,
    simple_rules,
)
from tests.factories import make_member, make_org
from tests.firms.conftest import firm_with_owner

APPLICATION = EnrollmentMode.APPLICATION


def firm_actor(world: SubsidyWorld) -> Actor:
    """Return the firm's owner acting for the firm."""
    return Actor(world.firm_owner.id, world.firm_id)


def park_actor(world: SubsidyWorld) -> Actor:
    """Return the park's owner acting for the park."""
    return Actor(world.park_admin.id, world.park.id)


def eligibility(**changes: Any) -> dict[str, Any]:
    """Return rules for SMEs of any size, with some eligibility rules changed."""
    return simple_rules(eligibility={"size_classes": ["micro", "small", "medium"], **changes})


def program(
    session: Session,
    clock: FrozenClock,
    park_id: int,
    *,
    enrollment_mode: str = APPLICATION,
    **rules: Any,
) -> SubsidyProgram:
    """Add an active program of a park with some eligibility rules."""
    return add_program(
        session, park_id, clock.now(), rules=eligibility(**rules), enrollment=enrollment_mode
    )


def audit(session: Session, action: str) -> list[AuditEntry]:
    """Return the audit entries of an action, oldest first."""
    stmt = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(session.scalars(stmt))


def enrollment_of(session: Session, program_id: int, firm_id: int) -> SubsidyEnrollment | None:
    """Read a firm's enrollment in a program back from the database."""
    session.expire_all()
    return session.scalar(
        sa.select(SubsidyEnrollment).where(
            SubsidyEnrollment.program_id == program_id, SubsidyEnrollment.firm_id == firm_id
        )
    )


def status_of(session: Session, program_id: int, firm_id: int) -> str | None:
    """Return the status of a firm's enrollment in a program, None without one."""
    found = enrollment_of(session, program_id, firm_id)
    return None if found is None else found.status


def dishonest(session: Session, firm_id: int) -> bool:
    """Read a firm's 严重失信 flag back from the database."""
    session.expire_all()
    profile = session.get(SmeProfile, firm_id)
    assert profile is not None
    return profile.seriously_dishonest


def flag(session: Session, firm_id: int) -> None:
    """Flag a firm 严重失信 directly."""
    profile = session.get(SmeProfile, firm_id)
    assert profile is not None
    profile.seriously_dishonest = True
    session.flush()


def pay_an_invoice(session: Session, world: SubsidyWorld) -> None:
    """Give the firm a paid (non-sandbox) cloud invoice."""
    invoice_id = make_invoice(session, ledger_world(world), world.firm_id)
    session.execute(
        sa.update(Invoice)
        .where(Invoice.id == invoice_id)
        .values(status=InvoiceStatus.PAID, number=f"PAID-{invoice_id}")
    )


def ledger_world(world: SubsidyWorld) -> World:
    """Return the ledger tests' view of the subsidy world."""
    return World(world.park.id, world.vendor.id, world.listing_id, world.plan_id)


def other_park(session: Session) -> tuple[Organization, Actor]:
    """Add another park with an owner; return it and its owner acting for it."""
    park = make_org(OrgKind.PARK, "Other park")
    return park, Actor(make_member(park).id, park.id)


def choice_of(session: Session, clock: FrozenClock, world: SubsidyWorld, program_id: int) -> Any:
    """Return the firm's view of one program from the full list."""
    choices = enrollment.programs_for_firm(session, world.firm_id, clock.now())
    return next(c for c in choices if c.program.id == program_id)


# What a firm sees ----------------------------------------------------------------------------


def test_a_firm_sees_its_parks_programs_first_and_other_parks_with_membership_unmet(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    elsewhere, _owner = other_park(session)
    foreign = program(session, clock, elsewhere.id)
    open_to_all = program(session, clock, elsewhere.id, park_members_only=False)
    own = program(session, clock, world.park.id)

    choices = enrollment.programs_for_firm(session, world.firm_id, clock.now())

    assert choices[0].program.id == own.id
    by_id = {c.program.id: c for c in choices}
    assert by_id[own.id].unmet == () and by_id[own.id].can_apply
    assert by_id[foreign.id].unmet == (Unmet.NOT_PARK_MEMBER,)
    assert not by_id[foreign.id].can_apply
    assert by_id[open_to_all.id].unmet == () and by_id[open_to_all.id].can_apply


def test_draft_programs_and_programs_of_suspended_parks_are_not_listed(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    draft = add_program(session, world.park.id, clock.now(), status=ProgramStatus.DRAFT)
    suspended, _owner = other_park(session)
    suspended.status = OrgStatus.SUSPENDED
    hidden = program(session, clock, suspended.id)

    ids = {c.program.id for c in enrollment.programs_for_firm(session, world.firm_id, clock.now())}

    assert draft.id not in ids and hidden.id not in ids
    with pytest.raises(NotFound):
        enrollment.program_for_firm(session, world.firm_id, hidden.id, clock.now())


def _breaks_size(session: Session, world: SubsidyWorld) -> dict[str, Any]:
    return {"size_classes": ["medium"]}


def _breaks_industry(session: Session, world: SubsidyWorld) -> dict[str, Any]:
    return {"industry_codes": ["manufacturing"]}


def _breaks_legal_form(session: Session, world: SubsidyWorld) -> dict[str, Any]:
    return {"legal_forms": ["sole_proprietor"]}


def _breaks_age(session: Session, world: SubsidyWorld) -> dict[str, Any]:
    return {"min_months_registered": 1200}


def _breaks_honesty(session: Session, world: SubsidyWorld) -> dict[str, Any]:
    flag(session, world.firm_id)
    return {"exclude_dishonest": True}


def _breaks_first_time(session: Session, world: SubsidyWorld) -> dict[str, Any]:
    pay_an_invoice(session, world)
    return {"first_time_buyers_only": True}


def _breaks_membership(session: Session, world: SubsidyWorld) -> dict[str, Any]:
    world.firm, world.firm_owner = firm_with_owner()  # a firm of no park
    return {"park_members_only": True}


BREAKERS: dict[Unmet, Callable[[Session, SubsidyWorld], dict[str, Any]]] = {
    Unmet.SIZE: _breaks_size,
    Unmet.INDUSTRY: _breaks_industry,
    Unmet.LEGAL_FORM: _breaks_legal_form,
    Unmet.TOO_YOUNG: _breaks_age,
    Unmet.DISHONEST: _breaks_honesty,
    Unmet.NOT_FIRST_TIME: _breaks_first_time,
    Unmet.NOT_PARK_MEMBER: _breaks_membership,
}


@pytest.mark.parametrize("rule", list(Unmet))
def test_each_rule_a_firm_does_not_meet_is_named_alone_and_refuses_its_application(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld, rule: Unmet
) -> None:
    world = subsidy_world
    rules = BREAKERS[rule](session, world)
    target = program(session, clock, world.park.id, **rules)

    choice = choice_of(session, clock, world, target.id)

    assert choice.unmet == (rule,)
    assert len(choice.reasons) == 1 and choice.reasons[0]
    with pytest.raises(NotEligible) as refused:
        enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")
    assert refused.value.unmet == (rule,)
    assert enrollment_of(session, target.id, world.firm_id) is None
    assert audit(session, "subsidy_enrollment.applied") == []


def test_a_firm_failing_every_rule_is_told_each_one(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    rules: dict[str, Any] = {}
    for breaker in BREAKERS.values():
        rules |= breaker(session, world)
    pay_an_invoice(session, world)  # the firm replaced by _breaks_membership pays too
    flag(session, world.firm_id)
    target = program(session, clock, world.park.id, **rules)

    choice = choice_of(session, clock, world, target.id)

    assert choice.unmet == tuple(Unmet)
    assert len(set(choice.reasons)) == len(Unmet)


def test_a_paused_program_stays_listed_while_the_firm_has_an_application_in_it(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    untouched = program(session, clock, world.park.id)
    enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")
    target.status = untouched.status = ProgramStatus.PAUSED
    session.flush()

    choices = enrollment.programs_for_firm(session, world.firm_id, clock.now())

    [choice] = [c for c in choices if c.program.id in {target.id, untouched.id}]
    assert choice.program.id == target.id
    assert choice.can_withdraw and not choice.can_apply
    with pytest.raises(NotFound):
        enrollment.apply(session, clock, firm_actor(world), world.firm_id, untouched.id, "")
    enrollment.withdraw(session, clock, firm_actor(world), world.firm_id, target.id)
    assert not choice_of(session, clock, world, target.id).can_apply


def test_an_unregistered_firm_sees_no_programs(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program(session, clock, subsidy_world.park.id)
    firm = make_org(OrgKind.SME)

    assert enrollment.programs_for_firm(session, firm.id, clock.now()) == []


# Applying, withdrawing, reopening ------------------------------------------------------------


def test_applying_records_a_pending_application_with_the_message_in_the_audit(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)

    made = enrollment.apply(
        session, clock, firm_actor(world), world.firm_id, target.id, "  We buy cloud ERP.  "
    )

    stored = enrollment_of(session, target.id, world.firm_id)
    assert stored is not None and stored.id == made.id
    assert (stored.status, stored.requested_at, stored.decided_at) == (
        EnrollmentStatus.APPLIED,
        clock.now(),
        None,
    )
    [entry] = audit(session, "subsidy_enrollment.applied")
    assert entry.after is not None and entry.after["message"] == "We buy cloud ERP."
    assert (entry.subject_org_id, entry.target_id) == (world.firm_id, str(made.id))
    [listed] = enrollment_park.applications(session, world.park.id).items
    assert listed.message == "We buy cloud ERP."
    choice = choice_of(session, clock, world, target.id)
    assert not choice.can_apply and choice.can_withdraw


def test_a_second_application_while_one_is_pending_is_refused(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")

    with pytest.raises(Conflict):
        enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")


def test_a_too_long_message_is_refused_by_name_and_nothing_is_saved(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)

    with pytest.raises(ValidationFailed) as refused:
        enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "x" * 501)

    assert set(refused.value.errors) == {"message"}
    assert enrollment_of(session, target.id, world.firm_id) is None


def test_an_automatic_program_takes_no_application(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id, enrollment_mode=EnrollmentMode.AUTOMATIC)

    with pytest.raises(Conflict):
        enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")


def test_withdrawing_a_pending_application_is_audited_and_it_can_be_reopened(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    made = enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "first")

    enrollment.withdraw(session, clock, firm_actor(world), world.firm_id, target.id)

    assert status_of(session, target.id, world.firm_id) == EnrollmentStatus.WITHDRAWN
    [entry] = audit(session, "subsidy_enrollment.withdrawn")
    assert entry.before is not None and entry.before["status"] == "applied"
    with pytest.raises(Conflict):
        enrollment.withdraw(session, clock, firm_actor(world), world.firm_id, target.id)

    again = enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")
    assert again.id == made.id and again.status == EnrollmentStatus.APPLIED
    assert enrollment_park.applications(session, world.park.id).items[0].message is None


def test_withdrawing_without_an_application_is_not_found(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)

    with pytest.raises(NotFound):
        enrollment.withdraw(session, clock, firm_actor(world), world.firm_id, target.id)


def test_a_rejected_firm_may_apply_again_and_the_decision_is_cleared(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    made = enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")
    enrollment_park.reject(
        session, clock, park_actor(world), world.park.id, made.id, "No invoices yet"
    )

    again = enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "now")

    stored = enrollment_of(session, target.id, world.firm_id)
    assert stored is not None and stored.id == again.id == made.id
    assert (stored.status, stored.reason, stored.decided_at, stored.decided_by_id) == (
        EnrollmentStatus.APPLIED,
        None,
        None,
        None,
    )
    assert len(audit(session, "subsidy_enrollment.applied")) == 2


# Joining an automatic program now ----------------------------------------------------------


def test_joining_an_automatic_program_enrolls_an_eligible_firm_at_once(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id, enrollment_mode=EnrollmentMode.AUTOMATIC)

    enrollment.join(session, clock, firm_actor(world), world.firm_id, target.id)

    stored = enrollment_of(session, target.id, world.firm_id)
    assert stored is not None and stored.status == EnrollmentStatus.APPROVED
    assert (stored.size_class, stored.size_standard_id) == (
        world.firm.size_class,
        world.firm.size_standard_id,
    )
    assert len(audit(session, "subsidy_enrollment.joined")) == 1
    with pytest.raises(Conflict):
        enrollment.join(session, clock, firm_actor(world), world.firm_id, target.id)


def test_joining_is_refused_to_an_ineligible_firm_and_for_an_application_program(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    narrow = program(
        session,
        clock,
        world.park.id,
        enrollment_mode=EnrollmentMode.AUTOMATIC,
        size_classes=["medium"],
    )
    by_application = program(session, clock, world.park.id)

    with pytest.raises(NotEligible) as refused:
        enrollment.join(session, clock, firm_actor(world), world.firm_id, narrow.id)
    assert refused.value.unmet == (Unmet.SIZE,)
    with pytest.raises(Conflict):
        enrollment.join(session, clock, firm_actor(world), world.firm_id, by_application.id)
    assert enrollment_of(session, narrow.id, world.firm_id) is None


# The park decides ----------------------------------------------------------------------------


def test_approving_enrolls_the_firm_with_the_size_class_and_standard_it_saw(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    made = enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")

    enrollment_park.approve(session, clock, park_actor(world), world.park.id, made.id)

    stored = enrollment_of(session, target.id, world.firm_id)
    assert stored is not None
    assert (stored.status, stored.decided_at, stored.decided_by_id) == (
        EnrollmentStatus.APPROVED,
        clock.now(),
        world.park_admin.id,
    )
    assert (stored.size_class, stored.size_standard_id) == ("small", world.firm.size_standard_id)
    [entry] = audit(session, "subsidy_enrollment.approved")
    assert entry.actor_org_id == world.park.id and entry.subject_org_id == world.firm_id
    assert enrollment_park.applications(session, world.park.id).items == []
    found = enrollment_park.enrolled_firms(session, world.park.id, target.id)
    assert [item.firm.id for item in found.firms.items] == [world.firm_id]
    assert found.firms.items[0].standard_name and not found.firms.has_next
    with pytest.raises(Conflict):
        enrollment_park.approve(session, clock, park_actor(world), world.park.id, made.id)


def test_approving_a_firm_no_longer_eligible_is_refused_naming_the_rules(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id, min_months_registered=12)
    made = enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")
    flag(session, world.firm_id)

    with pytest.raises(NotEligible) as refused:
        enrollment_park.approve(session, clock, park_actor(world), world.park.id, made.id)

    assert refused.value.unmet == (Unmet.DISHONEST,)
    assert "严重失信" in str(refused.value.detail)
    assert status_of(session, target.id, world.firm_id) == EnrollmentStatus.APPLIED
    assert audit(session, "subsidy_enrollment.approved") == []


def test_rejecting_needs_a_reason_of_at_most_500_characters(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    made = enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")

    for bad in ("", "   ", "x" * 501):
        with pytest.raises(ValidationFailed) as refused:
            enrollment_park.reject(session, clock, park_actor(world), world.park.id, made.id, bad)
        assert set(refused.value.errors) == {"reason"}
    assert status_of(session, target.id, world.firm_id) == EnrollmentStatus.APPLIED

    enrollment_park.reject(
        session, clock, park_actor(world), world.park.id, made.id, " Budget spent "
    )

    stored = enrollment_of(session, target.id, world.firm_id)
    assert stored is not None
    assert (stored.status, stored.reason, stored.size_class) == (
        "rejected",
        "Budget spent",
        "small",
    )
    [entry] = audit(session, "subsidy_enrollment.rejected")
    assert entry.after is not None and entry.after["reason"] == "Budget spent"


def test_applications_list_pending_first_with_the_firms_profile(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    first = program(session, clock, world.park.id)
    second = program(session, clock, world.park.id)
    other, other_owner = add_member_firm(session, world.park, clock.now())
    rejected = enrollment.apply(session, clock, firm_actor(world), world.firm_id, first.id, "")
    enrollment_park.reject(session, clock, park_actor(world), world.park.id, rejected.id, "No")
    clock.advance(timedelta(minutes=1))
    pending = enrollment.apply(
        session,
        clock,
        Actor(other_owner.id, other.organization_id),
        other.organization_id,
        second.id,
        "",
    )

    items = enrollment_park.applications(session, world.park.id).items

    assert [item.enrollment.id for item in items] == [pending.id, rejected.id]
    assert items[0].profile is not None and items[0].profile.size_class == "small"
    assert items[0].standard_name


# Scoping ------------------------------------------------------------------------------------


def test_another_park_cannot_see_or_decide_this_parks_applications(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    made = enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")
    elsewhere, stranger = other_park(session)

    assert enrollment_park.applications(session, elsewhere.id).items == []
    with pytest.raises(NotFound):
        enrollment_park.application(session, elsewhere.id, made.id)
    with pytest.raises(NotFound):
        enrollment_park.approve(session, clock, stranger, elsewhere.id, made.id)
    with pytest.raises(NotFound):
        enrollment_park.reject(session, clock, stranger, elsewhere.id, made.id, "No")
    with pytest.raises(NotFound):
        enrollment_park.enrolled_firms(session, elsewhere.id, target.id)
    with pytest.raises(NotFound):  # acting for a park it does not manage
        enrollment_park.approve(session, clock, stranger, world.park.id, made.id)
    assert status_of(session, target.id, world.firm_id) == EnrollmentStatus.APPLIED


def test_another_firm_cannot_act_for_this_firm_and_a_plain_member_may_not_act(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    _other, outsider = firm_with_owner()
    enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")
    member = make_member(world.firm.organization, role=Role.MEMBER)

    with pytest.raises(NotFound):
        enrollment.withdraw(session, clock, Actor(outsider.id), world.firm_id, target.id)
    with pytest.raises(Forbidden):
        enrollment.withdraw(
            session, clock, Actor(member.id, world.firm_id), world.firm_id, target.id
        )
    assert status_of(session, target.id, world.firm_id) == EnrollmentStatus.APPLIED


# Received against caps ------------------------------------------------------------------------


def grant(
    session: Session, clock: FrozenClock, world: SubsidyWorld, program_id: int, amount: int
) -> int:
    """Hold a grant of an amount for the firm on a new invoice; return the invoice id."""
    invoice_id = make_invoice(session, ledger_world(world), world.firm_id, 10 * amount)
    target = session.get(SubsidyProgram, program_id)
    assert target is not None
    [in_force] = versions_in_force(session, [target], clock.now())
    ledger.reserve(
        session,
        clock,
        invoice_id,
        [LineGrant("1", program_id, amount, CappedBy.NONE)],
        [LineFacts("1", 10 * amount, None, frozenset(), world.listing_id, world.vendor.id)],
        [in_force.rules],
    )
    return invoice_id


def test_received_so_far_counts_live_grants_against_the_caps(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    caps = {"per_firm_fen": 5000, "first_claim_fen": 3000, "later_claim_fen": 1000}
    capped = add_program(session, world.park.id, clock.now(), rules=simple_rules(caps=caps))
    idle = add_program(session, world.park.id, clock.now())
    enroll(session, capped.id, world.firm_id, clock.now())
    enroll(session, idle.id, world.firm_id, clock.now())
    program(session, clock, world.park.id)  # not joined: not listed
    session.add(
        SubsidyParkPolicy(park_id=world.park.id, firm_year_cap_fen=8000, updated_at=clock.now())
    )
    paid = grant(session, clock, world, capped.id, 2000)
    ledger.confirm_invoice(session, clock, paid)
    grant(session, clock, world, capped.id, 1500)
    voided = grant(session, clock, world, capped.id, 700)
    ledger.release_invoice(session, clock, voided)

    [park] = received_against_caps(session, world.firm_id, clock.now())

    assert (park.park.id, park.year, park.year_cap_fen, park.year_used_fen) == (
        world.park.id,
        2026,
        8000,
        3500,
    )
    by_id = {item.program.id: item for item in park.programs}
    assert set(by_id) == {capped.id, idle.id}
    item = by_id[capped.id]
    assert (item.granted_fen, item.claims, item.per_firm_left_fen, item.next_claim_cap_fen) == (
        3500,
        2,
        1500,
        1000,
    )
    assert (by_id[idle.id].granted_fen, by_id[idle.id].per_firm_left_fen) == (0, None)
    assert by_id[idle.id].next_claim_cap_fen is None


def test_a_firm_with_nothing_joined_has_received_nothing(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program(session, clock, subsidy_world.park.id)

    assert received_against_caps(session, subsidy_world.firm_id, clock.now()) == []


# The operator's credit flag ----------------------------------------------------------------------


def operator(role: str = Role.OWNER) -> Actor:
    """Return a member of the operator, acting for it."""
    org = make_org(OrgKind.OPERATOR, "Yunshi")
    return Actor(make_member(org, role=role).id, org.id)


def test_the_operator_flags_a_firm_with_a_note_and_clears_it_audited(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world, staff = subsidy_world, operator()

    credit_flag.flag_dishonest(session, clock, staff, world.firm_id, True, " 信用中国 2026-031 ")

    session.expire_all()
    profile = session.get(SmeProfile, world.firm_id)
    assert profile is not None
    assert (profile.seriously_dishonest, profile.dishonest_note) == (True, "信用中国 2026-031")
    [entry] = audit(session, "sme_profile.dishonest_flagged")
    assert entry.before == {"seriously_dishonest": False, "dishonest_note": None}
    assert entry.subject_org_id == world.firm_id

    credit_flag.flag_dishonest(session, clock, staff, world.firm_id, False, "")

    session.expire_all()
    assert dishonest(session, world.firm_id) is False
    assert len(audit(session, "sme_profile.dishonest_cleared")) == 1


def test_flagging_needs_a_note_and_an_acting_operator(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world

    with pytest.raises(ValidationFailed) as refused:
        credit_flag.flag_dishonest(session, clock, operator(), world.firm_id, True, "  ")
    assert set(refused.value.errors) == {"note"}
    with pytest.raises(Forbidden):
        credit_flag.flag_dishonest(session, clock, operator(Role.MEMBER), world.firm_id, True, "x")
    with pytest.raises(NotFound):
        credit_flag.flag_dishonest(session, clock, park_actor(world), world.firm_id, True, "x")
    with pytest.raises(NotFound):
        credit_flag.flag_dishonest(session, clock, operator(), world.park.id, True, "x")
    session.expire_all()
    assert dishonest(session, world.firm_id) is False
    assert audit(session, "sme_profile.dishonest_flagged") == []
