"""SME size standards kept as database rows, and the one in force on a day."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor, record
from marketplace.clock import MARKET_TIME_ZONE, Clock
from marketplace.errors import AppError, Conflict, ValidationFailed
from marketplace.firms.models import SizeStandardRecord
from marketplace.firms.sme_size import SizeStandard, parse_standard, standard_in_force

FIRM_TIME_ZONE = MARKET_TIME_ZONE
ID_MAX = 40
NAME_MAX = 200


class NoStandardInForce(AppError):
    """No size standard, or more than one, is in force today: the operator must load one."""

    status = 503
    code = "no_size_standard"
    title = "No size standard in force"


def firm_today(clock: Clock) -> date:
    """Return today's date where the firms are (Asia/Shanghai)."""
    return clock.now().astimezone(FIRM_TIME_ZONE).date()


def standard_from_record(row: SizeStandardRecord) -> SizeStandard:
    """Build a SizeStandard from its stored JSON, reading every number as a Decimal."""
    # The JSON column hands back floats; re-reading the text keeps 0.5 as Decimal("0.5").
    standard = parse_standard(_with_decimals(row.data))
    # The row's dates rule: a later revision may have closed this standard.
    return replace(standard, valid_from=row.valid_from, valid_to=row.valid_to)


def load_standards(session: Session) -> list[SizeStandard]:
    """Return every stored standard, oldest first."""
    rows = session.scalars(sa.select(SizeStandardRecord).order_by(SizeStandardRecord.valid_from))
    return [standard_from_record(row) for row in rows]


def standard_in_force_on(session: Session, on: date) -> SizeStandard:
    """Return the standard in force on a date, or raise NoStandardInForce."""
    try:
        return standard_in_force(load_standards(session), on)
    except (LookupError, ValueError) as error:
        raise NoStandardInForce(str(error)) from error


def current_standard(session: Session, clock: Clock) -> SizeStandard:
    """Return the standard in force today in Asia/Shanghai."""
    return standard_in_force_on(session, firm_today(clock))


def standard_by_id(session: Session, standard_id: str) -> SizeStandard:
    """Return a stored standard by id (a profile keeps the id it was classified under)."""
    row = session.get(SizeStandardRecord, standard_id)
    if row is None:
        raise NoStandardInForce(f"size standard {standard_id!r} is not stored")
    return standard_from_record(row)


def load_size_standard(session: Session, clock: Clock, actor: Actor, text: str) -> SizeStandard:
    """Store a revised standard given as JSON text, closing the open-ended one it supersedes."""
    standard = _parse_standard_text(text)
    if session.get(SizeStandardRecord, standard.id) is not None:
        raise Conflict(f"a size standard with id {standard.id!r} is already loaded")
    for row in _overlapping(session, standard):
        _close_superseded(session, clock, actor, row, standard)
    row = SizeStandardRecord(
        id=standard.id,
        name=standard.name,
        valid_from=standard.valid_from,
        valid_to=standard.valid_to,
        data=json.loads(text),
        loaded_at=clock.now(),
    )
    session.add(row)
    after = {
        "name": standard.name,
        "valid_from": standard.valid_from,
        "valid_to": standard.valid_to,
    }
    record(
        session, clock, actor, "size_standard.loaded", ("size_standard", standard.id), after=after
    )
    session.commit()
    return standard


def _parse_standard_text(text: str) -> SizeStandard:
    try:
        standard = parse_standard(json.loads(text, parse_float=Decimal))
    except ValueError as error:  # json.JSONDecodeError is a ValueError too
        raise ValidationFailed({"standard": str(error)}) from error
    if len(standard.id) > ID_MAX or len(standard.name) > NAME_MAX:
        limits = f"id at most {ID_MAX} and name at most {NAME_MAX} characters"
        raise ValidationFailed({"standard": f"too long: {limits}"})
    return standard


def _overlapping(session: Session, standard: SizeStandard) -> list[SizeStandardRecord]:
    stmt = sa.select(SizeStandardRecord).where(
        sa.or_(
            SizeStandardRecord.valid_to.is_(None), SizeStandardRecord.valid_to > standard.valid_from
        )
    )
    if standard.valid_to is not None:
        stmt = stmt.where(SizeStandardRecord.valid_from < standard.valid_to)
    return list(session.scalars(stmt))


def _close_superseded(
    session: Session, clock: Clock, actor: Actor, row: SizeStandardRecord, new: SizeStandard
) -> None:
    # Only the usual revision is automatic: a newer standard taking over from an open-ended
    # older one. Any other overlap would leave two standards in force on some day.
    if row.valid_to is not None or row.valid_from >= new.valid_from or new.valid_to is not None:
        raise Conflict(
            f"size standard {new.id!r} overlaps {row.id!r}"
            f" ({row.valid_from.isoformat()} to {row.valid_to or 'open'})"
        )
    record(
        session,
        clock,
        actor,
        "size_standard.superseded",
        ("size_standard", row.id),
        before={"valid_to": None},
        after={"valid_to": new.valid_from, "superseded_by": new.id},
    )
    row.valid_to = new.valid_from
    row.data = {**row.data, "valid_to": new.valid_from.isoformat()}


def _with_decimals(data: Mapping[str, Any]) -> Any:
    return json.loads(json.dumps(dict(data)), parse_float=Decimal)
