"""Park admins define subsidy programs, revise their rules in versions, and run them.

Every change is scoped to the acting park (another park's program is not found), made by
one of its owners or admins, and written to the audit log with what it was before.
Rule errors name the field by its path in the rules JSON (`rate_steps.0.default_rate`),
so the park console and an API client can both say which rule is wrong. Reading programs
is in billing.subsidies.program_reads.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from billing.services.bulk import dialect_insert, table_of
from billing.subsidies.alerts import record_alerts
from billing.subsidies.ledger import used_fen
from billing.subsidies.models import (
    EnrollmentMode,
    ProgramStatus,
    SubsidyParkPolicy,
    SubsidyProgram,
    SubsidyProgramVersion,
)
from billing.subsidies.program_rules import FEN_MAX, check_rules
from billing.subsidies.rules import budget_change_alerts
from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.firms.services.access import managed_organization
from marketplace.money import format_fen
from marketplace.orgs.models import OrgKind

NAME_MAX = 200
DESCRIPTION_MAX = 5000
PROGRAM_FIELDS = ("name", "description", "status", "enrollment", "budget_fen", "current_version")


class ProgramAction(StrEnum):
    """What a park admin does to a program's status."""

    ACTIVATE = "activate"
    PAUSE = "pause"
    RESUME = "resume"
    CLOSE = "close"


# action -> (statuses it starts from, status it leads to, audit action)
TRANSITIONS: dict[ProgramAction, tuple[frozenset[ProgramStatus], ProgramStatus, str]] = {
    ProgramAction.ACTIVATE: (
        frozenset({ProgramStatus.DRAFT}),
        ProgramStatus.ACTIVE,
        "subsidy_program.activated",
    ),
    ProgramAction.PAUSE: (
        frozenset({ProgramStatus.ACTIVE}),
        ProgramStatus.PAUSED,
        "subsidy_program.paused",
    ),
    ProgramAction.RESUME: (
        frozenset({ProgramStatus.PAUSED}),
        ProgramStatus.ACTIVE,
        "subsidy_program.resumed",
    ),
    ProgramAction.CLOSE: (
        frozenset({ProgramStatus.ACTIVE, ProgramStatus.PAUSED}),
        ProgramStatus.CLOSED,
        "subsidy_program.closed",
    ),
}


class IllegalTransition(ValueError):
    """A program in this status cannot take this action."""

    def __init__(self, status: str, action: ProgramAction) -> None:
        super().__init__(f"a {status} program cannot {action.value}")
        self.status = status
        self.action = action


# Pure rules ---------------------------------------------------------------------------------


def next_status(status: str, action: ProgramAction) -> ProgramStatus:
    """Return the status a program moves to, or raise IllegalTransition."""
    starts, ends, _action = TRANSITIONS[action]
    if status not in starts:
        raise IllegalTransition(status, action)
    return ends


def field_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Flatten marshmallow's nested messages into {"rate_steps.0.default_rate": [...]}."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                path = prefix or "rules"
            for name, texts in field_messages(value, path).items():
                flat.setdefault(name, []).extend(texts)
        return flat
    if isinstance(messages, list | tuple):
        return {prefix or "rules": [str(text) for text in messages]}
    return {prefix or "rules": [str(messages)]}


def checked_rules(data: Any) -> dict[str, Any]:
    """Check rules as submitted; raise ValidationFailed keyed by field path."""
    try:
        return check_rules(data)
    except ValidationError as error:
        raise ValidationFailed(field_messages(error.messages)) from None


def check_details(name: str, description: str, enrollment: str, budget_fen: int) -> str:
    """Check a program's name, description, enrollment mode and budget; return the name."""
    errors: dict[str, str] = {}
    clean = name.strip()
    if not clean:
        errors["name"] = _("Give the program a name.")
    elif len(clean) > NAME_MAX:
        errors["name"] = _("Use at most %(count)d characters.", count=NAME_MAX)
    if len(description) > DESCRIPTION_MAX:
        errors["description"] = _("Use at most %(count)d characters.", count=DESCRIPTION_MAX)
    if enrollment not in {mode.value for mode in EnrollmentMode}:
        errors["enrollment"] = _("Choose how firms join the program.")
    if not 0 <= budget_fen <= FEN_MAX:
        errors["budget_fen"] = _("Enter an amount from 0 to ¥10,000,000,000.")
    if errors:
        raise ValidationFailed(errors)
    return clean


def rules_json(rules: Mapping[str, Any]) -> str:
    """Return stored rules as JSON text for the audit log (its snapshots are flat)."""
    return json.dumps(rules, sort_keys=True, ensure_ascii=False)


# Writing ------------------------------------------------------------------------------------


def create_program(
    session: Session,
    clock: Clock,
    actor: Actor,
    park_id: int,
    name: str,
    description: str,
    enrollment: str,
    budget_fen: int,
    rules_data: Any,
) -> SubsidyProgram:
    """Create a draft program with version 1 of its rules, in force from now."""
    managed_organization(session, actor, park_id, OrgKind.PARK)
    clean_name, rules = _checked_together(name, description, enrollment, budget_fen, rules_data)
    now = clock.now()
    program = SubsidyProgram(
        park_id=park_id,
        name=clean_name,
        description=description.strip(),
        status=ProgramStatus.DRAFT,
        enrollment=enrollment,
        budget_fen=budget_fen,
        current_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(program)
    session.flush()
    version = _add_version(session, actor, program, 1, rules, now, now)
    _audit(
        session,
        clock,
        actor,
        "subsidy_program.created",
        program,
        None,
        {**_snapshot(program), **_version_snapshot(version)},
    )
    session.commit()
    return program


def _checked_together(
    name: str, description: str, enrollment: str, budget_fen: int, rules_data: Any
) -> tuple[str, dict[str, Any]]:
    """Check the details and the rules, reporting the problems of both at once."""
    errors: dict[str, list[str]] = {}
    clean_name = name
    rules: dict[str, Any] = {}
    try:
        clean_name = check_details(name, description, enrollment, budget_fen)
    except ValidationFailed as error:
        errors |= error.errors
    try:
        rules = checked_rules(rules_data)
    except ValidationFailed as error:
        errors |= error.errors
    if errors:
        raise ValidationFailed(errors)
    return clean_name, rules


def revise_program(
    session: Session,
    clock: Clock,
    actor: Actor,
    park_id: int,
    program_id: int,
    rules_data: Any,
    takes_effect_at: datetime | None = None,
) -> SubsidyProgramVersion:
    """Add the next version of a program's rules, in force from now or a later moment.

    Invoices finalized before it keep the version they were granted under.
    """
    managed_organization(session, actor, park_id, OrgKind.PARK)
    program = _locked_program(session, park_id, program_id)
    _require_open(program)
    now = clock.now()
    errors: dict[str, list[str]] = {}
    if takes_effect_at is not None and takes_effect_at < now:
        errors["takes_effect_at"] = [_("Choose now or a later moment.")]
    try:
        rules = checked_rules(rules_data)
    except ValidationFailed as error:
        errors |= error.errors
    if errors:
        raise ValidationFailed(errors)
    before = _snapshot(program)
    number = program.current_version + 1
    version = _add_version(session, actor, program, number, rules, takes_effect_at or now, now)
    program.current_version = number
    program.updated_at = now
    after = {**_snapshot(program), **_version_snapshot(version)}
    _audit(session, clock, actor, "subsidy_program.rules_revised", program, before, after)
    session.commit()
    return version


def update_details(
    session: Session,
    clock: Clock,
    actor: Actor,
    park_id: int,
    program_id: int,
    name: str,
    description: str,
    enrollment: str,
    budget_fen: int,
) -> SubsidyProgram:
    """Change a program's name, description, enrollment mode and budget, at once.

    The budget may not go below what the program has already held or settled.
    """
    managed_organization(session, actor, park_id, OrgKind.PARK)
    program = _locked_program(session, park_id, program_id)
    _require_open(program)
    clean_name = check_details(name, description, enrollment, budget_fen)
    used = used_fen(session, program.id)
    if budget_fen < used:
        raise ValidationFailed(
            {"budget_fen": _("The program has used %(used)s already.", used=format_fen(used))}
        )
    before = _snapshot(program)
    crossed = budget_change_alerts(program.budget_fen, budget_fen, used)
    program.name = clean_name
    program.description = description.strip()
    program.enrollment = enrollment
    program.budget_fen = budget_fen
    record_alerts(session, clock, program.id, budget_fen, crossed, used)
    program.updated_at = clock.now()
    _audit(
        session,
        clock,
        actor,
        "subsidy_program.details_updated",
        program,
        before,
        _snapshot(program),
    )
    session.commit()
    return program


def change_status(
    session: Session,
    clock: Clock,
    actor: Actor,
    park_id: int,
    program_id: int,
    action: ProgramAction,
) -> SubsidyProgram:
    """Activate, pause, resume or close a program; refuse a move its status does not allow."""
    managed_organization(session, actor, park_id, OrgKind.PARK)
    program = _locked_program(session, park_id, program_id)
    try:
        status = next_status(program.status, action)
    except IllegalTransition:
        raise Conflict(_transition_message(program.status, action)) from None
    before = _snapshot(program)
    program.status = status
    program.updated_at = clock.now()
    audit_action = TRANSITIONS[action][2]
    _audit(session, clock, actor, audit_action, program, before, _snapshot(program))
    session.commit()
    return program


def activate(
    session: Session, clock: Clock, actor: Actor, park_id: int, program_id: int
) -> SubsidyProgram:
    """Start granting from a draft program."""
    return change_status(session, clock, actor, park_id, program_id, ProgramAction.ACTIVATE)


def pause(
    session: Session, clock: Clock, actor: Actor, park_id: int, program_id: int
) -> SubsidyProgram:
    """Stop an active program granting for a while."""
    return change_status(session, clock, actor, park_id, program_id, ProgramAction.PAUSE)


def resume(
    session: Session, clock: Clock, actor: Actor, park_id: int, program_id: int
) -> SubsidyProgram:
    """Let a paused program grant again."""
    return change_status(session, clock, actor, park_id, program_id, ProgramAction.RESUME)


def close(
    session: Session, clock: Clock, actor: Actor, park_id: int, program_id: int
) -> SubsidyProgram:
    """Close an active or paused program for good."""
    return change_status(session, clock, actor, park_id, program_id, ProgramAction.CLOSE)


def set_park_policy(
    session: Session, clock: Clock, actor: Actor, park_id: int, firm_year_cap_fen: int | None
) -> SubsidyParkPolicy:
    """Set (or lift, with None) the cap on a firm's subsidy per calendar year in the park."""
    managed_organization(session, actor, park_id, OrgKind.PARK)
    if firm_year_cap_fen is not None and not 0 <= firm_year_cap_fen <= FEN_MAX:
        raise ValidationFailed(
            {"firm_year_cap_fen": _("Enter an amount from 0 to ¥10,000,000,000.")}
        )
    policy, created = _locked_policy(session, clock, park_id)
    before = None if created else snapshot(policy, ("firm_year_cap_fen",))
    policy.firm_year_cap_fen = firm_year_cap_fen
    policy.updated_at = clock.now()
    record(
        session,
        clock,
        actor,
        "subsidy_park_policy.updated",
        ("subsidy_park_policy", park_id),
        before=before,
        after={"firm_year_cap_fen": firm_year_cap_fen},
        subject_org_id=park_id,
    )
    session.commit()
    return policy


def _locked_policy(session: Session, clock: Clock, park_id: int) -> tuple[SubsidyParkPolicy, bool]:
    """Make the park's policy row on first use (two admins at once make one), then lock it."""
    table = table_of(SubsidyParkPolicy)
    made = session.execute(
        dialect_insert(session, table)
        .values(park_id=park_id, firm_year_cap_fen=None, updated_at=clock.now())
        .on_conflict_do_nothing(index_elements=["park_id"])
        .returning(table.c.park_id)
    ).scalar_one_or_none()
    policy = session.scalars(
        sa.select(SubsidyParkPolicy)
        .where(SubsidyParkPolicy.park_id == park_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return policy, made is not None


# Helpers ------------------------------------------------------------------------------------


def _locked_program(session: Session, park_id: int, program_id: int) -> SubsidyProgram:
    """Lock a program of this park for a change; granting locks the same row."""
    program = session.scalar(
        sa.select(SubsidyProgram)
        .where(SubsidyProgram.id == program_id, SubsidyProgram.park_id == park_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if program is None:
        raise NotFound(_("No such subsidy program in this park."))
    return program


def _require_open(program: SubsidyProgram) -> None:
    """Refuse changes to a closed program: closing is final."""
    if program.status == ProgramStatus.CLOSED:
        raise Conflict(_("This program is closed; it can no longer be changed."))


def _transition_message(status: str, action: ProgramAction) -> str:
    """Say why a program in this status cannot take this action."""
    if status == ProgramStatus.CLOSED:
        return str(_("This program is closed; it can no longer be changed."))
    messages = {
        ProgramAction.ACTIVATE: _("Only a draft program can be activated."),
        ProgramAction.PAUSE: _("Only an active program can be paused."),
        ProgramAction.RESUME: _("Only a paused program can be resumed."),
        ProgramAction.CLOSE: _("Only an active or paused program can be closed."),
    }
    return str(messages[action])


def _add_version(
    session: Session,
    actor: Actor,
    program: SubsidyProgram,
    number: int,
    rules: dict[str, Any],
    takes_effect_at: datetime,
    now: datetime,
) -> SubsidyProgramVersion:
    """Write one version of a program's rules."""
    version = SubsidyProgramVersion(
        program_id=program.id,
        version=number,
        rules=rules,
        takes_effect_at=takes_effect_at,
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(version)
    session.flush()
    return version


def _snapshot(program: SubsidyProgram) -> dict[str, Any]:
    """Copy what the audit log keeps of a program."""
    return snapshot(program, PROGRAM_FIELDS)


def _version_snapshot(version: SubsidyProgramVersion) -> dict[str, Any]:
    """Copy what the audit log keeps of a version: its moment and its rules as JSON text."""
    return {
        "version": version.version,
        "takes_effect_at": version.takes_effect_at.isoformat(),
        "rules": rules_json(version.rules),
    }


def _audit(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    program: SubsidyProgram,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any],
) -> None:
    """Record a change to a program, with the park as its subject."""
    record(
        session,
        clock,
        actor,
        action,
        ("subsidy_program", program.id),
        before=before,
        after=after,
        subject_org_id=program.park_id,
    )
