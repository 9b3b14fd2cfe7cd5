"""Park admins create programs, revise their rules in versions, and move their status."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.subsidies import ledger, program_reads, programs
from billing.subsidies.models import (
    ProgramStatus,
    SubsidyBudgetAlert,
    SubsidyParkPolicy,
    SubsidyProgram,
    SubsidyProgramVersion,
)
from billing.subsidies.programs import IllegalTransition, ProgramAction, next_status
from billing.subsidies.rules import CappedBy, LineGrant
from billing.subsidies.standing import versions_in_force
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, Forbidden, NotFound, ValidationFailed
from marketplace.mail.models import OutboundEmail
from marketplace.orgs.models import OrgKind
from tests.billing.subsidies.test_ledger import World, line, make_invoice, rules_of
from tests.billing.subsidies.world import SubsidyWorld, add_program, simple_rules
from tests.factories import make_member, make_org


def admin(world: SubsidyWorld) -> Actor:
    """Return the park owner as the acting admin."""
    return Actor(world.park_admin.id, world.park.id)


def revise(
    session: Session,
    clock: FrozenClock,
    world: SubsidyWorld,
    program_id: int,
    rules: dict[str, Any],
    takes_effect_at: datetime | None = None,
) -> SubsidyProgramVersion:
    """Write a new version of a program's rules as the park's admin."""
    return programs.revise_program(
        session, clock, admin(world), world.park.id, program_id, rules, takes_effect_at
    )


def create(
    session: Session, clock: FrozenClock, world: SubsidyWorld, **changes: Any
) -> SubsidyProgram:
    """Create a program of the world's park through the service."""
    values: dict[str, Any] = {
        "name": "2026 上云券",
        "description": "Half of what SMEs pay for cloud services.",
        "enrollment": "application",
        "budget_fen": 5_000_000,
        "rules_data": simple_rules(),
    } | changes
    return programs.create_program(session, clock, admin(world), world.park.id, **values)


def audit_actions(session: Session, program_id: int) -> list[str]:
    """Return the audit actions recorded on a program, oldest first."""
    return list(
        session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.target_type == "subsidy_program")
            .where(AuditEntry.target_id == str(program_id))
            .order_by(AuditEntry.id)
        )
    )


def program_count(session: Session) -> int:
    """Return how many programs there are in the test's transaction."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(SubsidyProgram)) or 0)


def version_count(session: Session) -> int:
    """Return how many program versions there are in the test's transaction."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(SubsidyProgramVersion)) or 0)


# Creating -----------------------------------------------------------------------------------


def test_a_new_program_is_a_draft_with_version_one_in_force_from_now(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = create(session, clock, subsidy_world)

    assert (program.status, program.current_version, program.budget_fen) == (
        "draft",
        1,
        5_000_000,
    )
    detail = program_reads.program_detail(session, subsidy_world.park.id, program.id, clock.now())
    assert [v.version for v in detail.versions] == [1]
    assert detail.in_force is not None and detail.in_force.takes_effect_at == clock.now()
    assert detail.rules_in_force is not None and detail.rules_in_force.caps.per_firm_fen is None


def test_creating_is_audited_with_the_rules(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = create(session, clock, subsidy_world)

    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "subsidy_program.created")
    ).one()
    assert entry.target_id == str(program.id)
    assert entry.subject_org_id == subsidy_world.park.id
    assert entry.actor_user_id == subsidy_world.park_admin.id
    assert entry.before is None
    assert entry.after is not None
    assert entry.after["status"] == "draft"
    assert json.loads(entry.after["rules"])["invoices_from"] == "2026-01-01"


def test_bad_details_and_rules_are_refused_together_and_nothing_is_saved(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    steps = [{"starts_on": "2026-01-01", "default_rate": "1.5"}]
    before = (program_count(session), version_count(session))

    with pytest.raises(ValidationFailed) as refused:
        create(
            session,
            clock,
            subsidy_world,
            name="  ",
            enrollment="lottery",
            budget_fen=-1,
            rules_data=simple_rules(rate_steps=steps),
        )

    assert set(refused.value.errors) == {
        "name",
        "enrollment",
        "budget_fen",
        "rate_steps.0.default_rate",
    }
    assert (program_count(session), version_count(session)) == before


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        (simple_rules(invoices_until="2025-12-31"), "invoices_until"),
        (simple_rules(eligibility={"size_classes": []}), "eligibility.size_classes"),
        (simple_rules(caps={"per_invoice_fen": -5}), "caps.per_invoice_fen"),
        (simple_rules(vendor_quotas_fen={"x": 5}), "vendor_quotas_fen.x.key"),
        (simple_rules(colour="red"), "colour"),
    ],
)
def test_rule_errors_name_the_rule_by_its_path(
    session: Session,
    clock: FrozenClock,
    subsidy_world: SubsidyWorld,
    rules: dict[str, Any],
    field: str,
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        create(session, clock, subsidy_world, rules_data=rules)

    assert field in refused.value.errors


def test_a_plain_member_of_the_park_may_not_create(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    member = make_member(subsidy_world.park, role="member")

    with pytest.raises(Forbidden):
        programs.create_program(
            session,
            clock,
            Actor(member.id),
            subsidy_world.park.id,
            "x",
            "",
            "automatic",
            100,
            simple_rules(),
        )


def test_an_admin_of_another_park_may_not_create_here(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    stranger = make_member(make_org(OrgKind.PARK))

    with pytest.raises(NotFound):
        programs.create_program(
            session,
            clock,
            Actor(stranger.id),
            subsidy_world.park.id,
            "x",
            "",
            "automatic",
            100,
            simple_rules(),
        )


# Versions -----------------------------------------------------------------------------------


def test_revising_adds_the_next_version_in_force_from_now(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = create(session, clock, subsidy_world)
    clock.advance(timedelta(hours=1))

    version = revise(session, clock, subsidy_world, program.id, simple_rules(priority=7))

    assert (version.version, version.takes_effect_at) == (2, clock.now())
    assert program.current_version == 2
    [in_force] = versions_in_force(session, [program], clock.now())
    assert (in_force.rules.version, in_force.rules.priority) == (2, 7)
    assert audit_actions(session, program.id) == [
        "subsidy_program.created",
        "subsidy_program.rules_revised",
    ]


def test_a_scheduled_version_applies_only_from_its_moment(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = create(session, clock, subsidy_world)
    later = clock.now() + timedelta(days=30)

    revise(session, clock, subsidy_world, program.id, simple_rules(priority=7), later)

    [now_in_force] = versions_in_force(session, [program], clock.now())
    [then_in_force] = versions_in_force(session, [program], later)
    assert (now_in_force.rules.version, then_in_force.rules.version) == (1, 2)
    detail = program_reads.program_detail(session, subsidy_world.park.id, program.id, clock.now())
    assert [v.version for v in detail.versions] == [2, 1]
    assert detail.in_force is not None and detail.in_force.version == 1


def test_a_version_may_not_take_effect_in_the_past(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = create(session, clock, subsidy_world)
    count = version_count(session)

    with pytest.raises(ValidationFailed) as refused:
        revise(
            session,
            clock,
            subsidy_world,
            program.id,
            simple_rules(),
            clock.now() - timedelta(minutes=1),
        )

    assert set(refused.value.errors) == {"takes_effect_at"}
    assert version_count(session) == count
    assert program.current_version == 1


def test_revising_with_bad_rules_saves_no_version(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = create(session, clock, subsidy_world)

    with pytest.raises(ValidationFailed) as refused:
        revise(session, clock, subsidy_world, program.id, simple_rules(priority=-1))

    assert set(refused.value.errors) == {"priority"}
    assert version_count(session) == 1


# Status -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("draft", ProgramAction.ACTIVATE, "active"),
        ("active", ProgramAction.PAUSE, "paused"),
        ("paused", ProgramAction.RESUME, "active"),
        ("active", ProgramAction.CLOSE, "closed"),
        ("paused", ProgramAction.CLOSE, "closed"),
    ],
)
def test_the_allowed_moves(status: str, action: ProgramAction, expected: str) -> None:
    assert next_status(status, action) == expected


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("draft", ProgramAction.PAUSE),
        ("draft", ProgramAction.RESUME),
        ("draft", ProgramAction.CLOSE),
        ("active", ProgramAction.ACTIVATE),
        ("active", ProgramAction.RESUME),
        ("paused", ProgramAction.PAUSE),
        ("paused", ProgramAction.ACTIVATE),
        *(("closed", action) for action in ProgramAction),
    ],
)
def test_every_other_move_is_illegal(status: str, action: ProgramAction) -> None:
    with pytest.raises(IllegalTransition):
        next_status(status, action)


def test_a_program_runs_from_draft_to_closed_and_every_move_is_audited(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = create(session, clock, subsidy_world)
    park_id, actor = subsidy_world.park.id, admin(subsidy_world)

    statuses = []
    for move in (programs.activate, programs.pause, programs.resume, programs.close):
        statuses.append(move(session, clock, actor, park_id, program.id).status)

    assert statuses == ["active", "paused", "active", "closed"]
    assert audit_actions(session, program.id) == [
        "subsidy_program.created",
        "subsidy_program.activated",
        "subsidy_program.paused",
        "subsidy_program.resumed",
        "subsidy_program.closed",
    ]
    paused = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "subsidy_program.paused")
    ).one()
    assert (paused.before or {})["status"] == "active"
    assert (paused.after or {})["status"] == "paused"


def test_a_closed_program_is_final(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now(), status=ProgramStatus.CLOSED)
    park_id, actor = subsidy_world.park.id, admin(subsidy_world)

    with pytest.raises(Conflict):
        programs.resume(session, clock, actor, park_id, program.id)
    with pytest.raises(Conflict):
        programs.revise_program(session, clock, actor, park_id, program.id, simple_rules())
    with pytest.raises(Conflict):
        programs.update_details(session, clock, actor, park_id, program.id, "x", "", "automatic", 1)
    assert program.status == "closed"
    assert audit_actions(session, program.id) == []


def test_an_illegal_move_is_a_conflict_and_changes_nothing(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = create(session, clock, subsidy_world)

    with pytest.raises(Conflict):
        programs.pause(session, clock, admin(subsidy_world), subsidy_world.park.id, program.id)

    assert program.status == "draft"
    assert audit_actions(session, program.id) == ["subsidy_program.created"]


# Details and the budget floor ---------------------------------------------------------------


def hold(session: Session, clock: FrozenClock, world: SubsidyWorld, program_id: int) -> None:
    """Hold ¥300 of the program's budget on an invoice of the world's firm."""
    ledger_world = World(world.park.id, world.vendor.id, world.listing_id, world.plan_id)
    invoice_id = make_invoice(session, ledger_world, world.firm_id)
    ledger.reserve(
        session,
        clock,
        invoice_id,
        [LineGrant("a", program_id, 30_000, CappedBy.NONE)],
        [line("a", 60_000, world.vendor.id)],
        [rules_of(program_id, 1_000_000)],
    )


def test_details_change_at_once_and_are_audited(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = create(session, clock, subsidy_world)

    programs.update_details(
        session,
        clock,
        admin(subsidy_world),
        subsidy_world.park.id,
        program.id,
        " 新名称 ",
        "New text",
        "automatic",
        9_000_000,
    )

    assert (program.name, program.enrollment, program.budget_fen) == (
        "新名称",
        "automatic",
        9_000_000,
    )
    assert program.current_version == 1
    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "subsidy_program.details_updated")
    ).one()
    assert (entry.before or {})["budget_fen"] == 5_000_000
    assert (entry.after or {})["budget_fen"] == 9_000_000


def test_the_budget_may_not_go_below_what_is_used(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now(), budget_fen=1_000_000)
    hold(session, clock, subsidy_world, program.id)
    park_id, actor = subsidy_world.park.id, admin(subsidy_world)

    with pytest.raises(ValidationFailed) as refused:
        programs.update_details(
            session, clock, actor, park_id, program.id, "x", "", "automatic", 29_999
        )
    assert set(refused.value.errors) == {"budget_fen"}
    assert program.budget_fen == 1_000_000

    programs.update_details(
        session, clock, actor, park_id, program.id, "x", "", "automatic", 30_000
    )
    assert ledger.program_usage(session, program.id).remaining_fen == 0


def test_the_list_shows_each_programs_usage(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    used = add_program(session, subsidy_world.park.id, clock.now(), budget_fen=1_000_000)
    unused = add_program(session, subsidy_world.park.id, clock.now(), budget_fen=500)
    hold(session, clock, subsidy_world, used.id)

    summaries = program_reads.park_programs(session, subsidy_world.park.id)

    assert [(s.program.id, s.used_fen, s.usage.remaining_fen) for s in summaries] == [
        (unused.id, 0, 500),
        (used.id, 30_000, 970_000),
    ]
    assert summaries[1].usage == ledger.program_usage(session, used.id)


# Scoping and the park policy ----------------------------------------------------------------


def test_another_parks_program_is_not_found(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    other_park = make_org(OrgKind.PARK)
    theirs = add_program(session, other_park.id, clock.now())
    park_id, actor = subsidy_world.park.id, admin(subsidy_world)

    assert program_reads.park_programs(session, park_id) == []
    with pytest.raises(NotFound):
        program_reads.program_detail(session, park_id, theirs.id, clock.now())
    with pytest.raises(NotFound):
        programs.pause(session, clock, actor, park_id, theirs.id)
    with pytest.raises(NotFound):
        programs.revise_program(session, clock, actor, park_id, theirs.id, simple_rules())
    with pytest.raises(NotFound):
        programs.update_details(session, clock, actor, park_id, theirs.id, "x", "", "automatic", 1)
    assert theirs.status == "active"


def test_the_park_policy_is_set_lifted_and_audited(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    park_id, actor = subsidy_world.park.id, admin(subsidy_world)
    assert program_reads.park_policy(session, park_id) is None

    programs.set_park_policy(session, clock, actor, park_id, 2_000_000)
    assert program_reads.park_policy(session, park_id) == 2_000_000
    programs.set_park_policy(session, clock, actor, park_id, None)
    assert program_reads.park_policy(session, park_id) is None

    entries = session.scalars(
        sa.select(AuditEntry)
        .where(AuditEntry.action == "subsidy_park_policy.updated")
        .order_by(AuditEntry.id)
    ).all()
    assert [(e.before, e.after) for e in entries] == [
        (None, {"firm_year_cap_fen": 2_000_000}),
        ({"firm_year_cap_fen": 2_000_000}, {"firm_year_cap_fen": None}),
    ]
    assert session.get(SubsidyParkPolicy, park_id) is not None


def test_a_negative_park_cap_is_refused(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        programs.set_park_policy(session, clock, admin(subsidy_world), subsidy_world.park.id, -1)

    assert set(refused.value.errors) == {"firm_year_cap_fen"}
    assert program_reads.park_policy(session, subsidy_world.park.id) is None


def test_lowering_the_budget_to_what_is_used_alerts_the_managers_once(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now(), budget_fen=100_000)
    hold(session, clock, subsidy_world, program.id)  # ¥300 of ¥1,000: no alert yet
    for budget in (35_000, 30_000, 30_000):  # 85.7%, then 100% (twice)
        programs.update_details(
            session,
            clock,
            admin(subsidy_world),
            subsidy_world.park.id,
            program.id,
            program.name,
            "",
            program.enrollment,
            budget,
        )

    alerts = session.scalars(sa.select(SubsidyBudgetAlert).order_by(SubsidyBudgetAlert.id))
    assert [(a.percent, a.budget_fen, a.used_fen) for a in alerts] == [
        (80, 35_000, 30_000),
        (100, 30_000, 30_000),
    ]
    mails = session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.kind == "subsidy_budget_alert")
    ).all()
    assert len(mails) == 2
