"""The quota ledger: lock what a grant draws on, record grants, settle them, sum the budget.

Every change of a program's budget use is an appended ledger entry: reserve (+amount)
when an invoice is finalized, confirm (0) when it is paid, release (-amount) when it is
voided, refunded or written off. What is left is the budget minus the entries' sum.

Granting is serialized by locks taken in one order (the programs' rows by id, then the
firm's row of the park), so concurrent finalizations read a standing no other worker
can spend before they commit. Retries are idempotent through unique constraints:
one grant per (invoice, line, program), one entry per (grant, kind).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import Invoice
from billing.services.bulk import dialect_insert, table_of
from billing.subsidies.models import (
    EntryKind,
    GrantStatus,
    SubsidyFirmLock,
    SubsidyGrant,
    SubsidyLedgerEntry,
    SubsidyParkPolicy,
    SubsidyProgram,
)
from billing.subsidies.rules import LineFacts, LineGrant, ProgramRules, Standing
from marketplace.clock import MARKET_TIME_ZONE, Clock
from marketplace.errors import NotFound

LIVE_GRANTS = (GrantStatus.RESERVED, GrantStatus.CONFIRMED)


@dataclass(frozen=True)
class ProgramUsage:
    """A program's budget split into held, settled and still free."""

    reserved_fen: int
    confirmed_fen: int
    remaining_fen: int


@dataclass(frozen=True)
class _Locked:
    """What granting reads from a locked program row."""

    park_id: int
    budget_fen: int


# Locking and reading the standing -----------------------------------------------------------


def lock_standings(
    session: Session, programs: Sequence[ProgramRules], firm_id: int, year: int
) -> dict[int, Standing]:
    """Lock one park's programs and the firm's park row; return each program's standing.

    `programs` are the versions in force for the invoice (their vendor sub-quotas apply);
    the budget is the program row's. Call in the transaction that then reserves.
    """
    if not programs:
        return {}
    rows = _lock_programs(session, sorted({rules.program_id for rules in programs}))
    park_id = _single_park(rows.values())
    _lock_firm(session, park_id, firm_id)
    return _standings(session, programs, rows, park_id, firm_id, year)


def lock_park_programs(session: Session, park_ids: Iterable[int]) -> None:
    """Lock every program of some parks, in id order, before a batch grants anything.

    A batch of invoices grants draft by draft. Were each draft to lock only its own
    programs, two batches could take the same programs in different orders and deadlock;
    taking all of them first, in one global order, makes batches that share a park wait
    for each other instead.
    """
    ids = sorted(set(park_ids))
    if ids:
        session.execute(
            sa.select(SubsidyProgram.id)
            .where(SubsidyProgram.park_id.in_(ids))
            .order_by(SubsidyProgram.id)
            .with_for_update()
        ).all()


def read_standings(
    session: Session, programs: Sequence[ProgramRules], firm_id: int, year: int
) -> dict[int, Standing]:
    """Return each program's standing without locking: for estimates, never for granting."""
    if not programs:
        return {}
    ids = sorted({rules.program_id for rules in programs})
    rows = {
        row.id: _Locked(row.park_id, row.budget_fen)
        for row in session.execute(
            sa.select(SubsidyProgram.id, SubsidyProgram.park_id, SubsidyProgram.budget_fen).where(
                SubsidyProgram.id.in_(ids)
            )
        )
    }
    return _standings(session, programs, rows, _single_park(rows.values()), firm_id, year)


def _standings(
    session: Session,
    programs: Sequence[ProgramRules],
    rows: Mapping[int, _Locked],
    park_id: int,
    firm_id: int,
    year: int,
) -> dict[int, Standing]:
    """Read what is left of each program for the firm, from the ledger and the grants."""
    ids = list(rows)
    used = _sum_entries(session, ids)
    by_vendor = _sum_entries_by_vendor(session, ids)
    firm_used = _sum_entries(session, ids, firm_id=firm_id)
    claims = _claims(session, ids, firm_id)
    year_used = firm_year_used(session, park_id, firm_id, year)
    cap = session.scalar(
        sa.select(SubsidyParkPolicy.firm_year_cap_fen).where(SubsidyParkPolicy.park_id == park_id)
    )
    return {
        rules.program_id: Standing(
            budget_left_fen=max(
                rows[rules.program_id].budget_fen - used.get(rules.program_id, 0), 0
            ),
            vendor_quota_left_fen={
                vendor_id: max(quota - by_vendor.get((rules.program_id, vendor_id), 0), 0)
                for vendor_id, quota in rules.vendor_quotas_fen.items()
            },
            firm_used_fen=firm_used.get(rules.program_id, 0),
            firm_claims=claims.get(rules.program_id, 0),
            firm_year_used_fen=year_used,
            firm_year_cap_fen=cap,
        )
        for rules in programs
    }


def _lock_programs(session: Session, ids: list[int]) -> dict[int, _Locked]:
    """Lock the program rows in id order, so two workers never wait on each other in a cycle."""
    rows = session.execute(
        sa.select(SubsidyProgram.id, SubsidyProgram.park_id, SubsidyProgram.budget_fen)
        .where(SubsidyProgram.id.in_(ids))
        .order_by(SubsidyProgram.id)
        .with_for_update()
    ).all()
    found = {row.id: _Locked(row.park_id, row.budget_fen) for row in rows}
    missing = [program_id for program_id in ids if program_id not in found]
    if missing:
        raise NotFound(f"subsidy programs {missing} not found")
    return found


def _single_park(rows: Iterable[_Locked]) -> int:
    """Return the one park the programs belong to; the annual cap is per park."""
    parks = {row.park_id for row in rows}
    if len(parks) != 1:
        raise ValueError("lock_standings takes the programs of one park")
    return parks.pop()


def _lock_firm(session: Session, park_id: int, firm_id: int) -> None:
    """Make the firm's row of the park on first use, then lock it."""
    table = table_of(SubsidyFirmLock)
    session.execute(
        dialect_insert(session, table)
        .values(park_id=park_id, firm_id=firm_id)
        .on_conflict_do_nothing(index_elements=["park_id", "firm_id"])
    )
    session.execute(
        sa.select(table.c.park_id)
        .where(table.c.park_id == park_id, table.c.firm_id == firm_id)
        .with_for_update()
    )


def _sum_entries(
    session: Session, program_ids: Sequence[int], *, firm_id: int | None = None
) -> dict[int, int]:
    """Return the ledger's sum per program, optionally of one firm's entries only."""
    entry = SubsidyLedgerEntry
    stmt = (
        sa.select(entry.program_id, sa.func.sum(entry.amount_fen))
        .where(entry.program_id.in_(program_ids))
        .group_by(entry.program_id)
    )
    if firm_id is not None:
        stmt = stmt.where(entry.firm_id == firm_id)
    return {program_id: int(total) for program_id, total in session.execute(stmt)}


def _sum_entries_by_vendor(
    session: Session, program_ids: Sequence[int]
) -> dict[tuple[int, int], int]:
    """Return the ledger's sum per (program, vendor)."""
    entry = SubsidyLedgerEntry
    stmt = (
        sa.select(entry.program_id, entry.vendor_id, sa.func.sum(entry.amount_fen))
        .where(entry.program_id.in_(program_ids))
        .group_by(entry.program_id, entry.vendor_id)
    )
    return {(p, v): int(total) for p, v, total in session.execute(stmt)}


def _claims(session: Session, program_ids: Sequence[int], firm_id: int) -> dict[int, int]:
    """Return per program how many invoices of the firm hold a grant not given back."""
    grant = SubsidyGrant
    stmt = (
        sa.select(grant.program_id, sa.func.count(sa.distinct(grant.invoice_id)))
        .where(
            grant.program_id.in_(program_ids),
            grant.firm_id == firm_id,
            grant.status.in_(LIVE_GRANTS),
        )
        .group_by(grant.program_id)
    )
    return {program_id: int(count) for program_id, count in session.execute(stmt)}


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """Return the start of a calendar year and of the next, in the marketplace's time zone."""
    return (
        datetime(year, 1, 1, tzinfo=MARKET_TIME_ZONE),
        datetime(year + 1, 1, 1, tzinfo=MARKET_TIME_ZONE),
    )


def firm_year_used(session: Session, park_id: int, firm_id: int, year: int) -> int:
    """Return the firm's live grants of a year (by reservation) across the park's programs."""
    start, end = year_bounds(year)
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(SubsidyGrant.amount_fen), 0))
        .join(SubsidyProgram, SubsidyProgram.id == SubsidyGrant.program_id)
        .where(
            SubsidyProgram.park_id == park_id,
            SubsidyGrant.firm_id == firm_id,
            SubsidyGrant.status.in_(LIVE_GRANTS),
            SubsidyGrant.reserved_at >= start,
            SubsidyGrant.reserved_at < end,
        )
    )
    return int(total or 0)


# Recording grants ------------------------------------------------------------------------


def reserve(
    session: Session,
    clock: Clock,
    invoice_id: int,
    grants: Sequence[LineGrant],
    lines: Sequence[LineFacts],
    programs: Sequence[ProgramRules],
) -> list[SubsidyGrant]:
    """Hold the grants above zero for an invoice; a retry keeps the rows already held.

    Returns the invoice's stored grants for the (line, program) pairs asked for: on a
    retry these are the first attempt's amounts, which the invoice's lines must use.
    """
    firm_id = session.scalar(sa.select(Invoice.organization_id).where(Invoice.id == invoice_id))
    if firm_id is None:
        raise NotFound(f"invoice {invoice_id} not found")
    vendor_of = {line.line_key: line.vendor_id for line in lines}
    version_of = {rules.program_id: rules.version for rules in programs}
    now = clock.now()
    wanted = [grant for grant in grants if grant.amount_fen > 0]
    for grant in wanted:
        row = {
            "invoice_id": invoice_id,
            "line_key": grant.line_key,
            "program_id": grant.program_id,
            "program_version": version_of[grant.program_id],
            "firm_id": firm_id,
            "vendor_id": vendor_of[grant.line_key],
            "amount_fen": grant.amount_fen,
            "status": GrantStatus.RESERVED,
            "reserved_at": now,
        }
        grant_id = _insert_grant(session, row)
        if grant_id is not None:
            _append(session, grant_id, row, EntryKind.RESERVE, now)
    return _stored(session, invoice_id, {(g.line_key, g.program_id) for g in wanted})


def _insert_grant(session: Session, row: Mapping[str, Any]) -> int | None:
    """Insert a grant unless its (invoice, line, program) is held already; return its id."""
    table = table_of(SubsidyGrant)
    grant_id = session.execute(
        dialect_insert(session, table)
        .values(**row)
        .on_conflict_do_nothing(index_elements=["invoice_id", "line_key", "program_id"])
        .returning(table.c.id)
    ).scalar_one_or_none()
    return grant_id


SIGN = {EntryKind.RESERVE: 1, EntryKind.CONFIRM: 0, EntryKind.RELEASE: -1}


def _append(
    session: Session, grant_id: int, grant: Mapping[str, Any], kind: EntryKind, at: datetime
) -> None:
    """Append a ledger entry for a grant, once per (grant, kind); the amount signed by kind."""
    table = table_of(SubsidyLedgerEntry)
    session.execute(
        dialect_insert(session, table)
        .values(
            grant_id=grant_id,
            program_id=grant["program_id"],
            firm_id=grant["firm_id"],
            vendor_id=grant["vendor_id"],
            kind=kind,
            amount_fen=SIGN[kind] * int(grant["amount_fen"]),
            at=at,
        )
        .on_conflict_do_nothing(index_elements=["grant_id", "kind"])
    )


def _stored(session: Session, invoice_id: int, keys: set[tuple[str, int]]) -> list[SubsidyGrant]:
    """Return the invoice's grants for the (line, program) keys, fresh from the database."""
    rows = session.scalars(
        sa.select(SubsidyGrant)
        .where(SubsidyGrant.invoice_id == invoice_id)
        .order_by(SubsidyGrant.id)
        .execution_options(populate_existing=True)
    ).all()
    return [row for row in rows if (row.line_key, row.program_id) in keys]


def invoice_grants(session: Session, invoice_id: int) -> list[SubsidyGrant]:
    """Return every grant of an invoice, oldest first."""
    return list(
        session.scalars(
            sa.select(SubsidyGrant)
            .where(SubsidyGrant.invoice_id == invoice_id)
            .order_by(SubsidyGrant.id)
            .execution_options(populate_existing=True)
        )
    )


# Settling grants -------------------------------------------------------------------------


def confirm_invoice(session: Session, clock: Clock, invoice_id: int) -> int:
    """Confirm the invoice's held grants once it is paid; return how many moved."""
    return _settle(session, clock, invoice_id, (GrantStatus.RESERVED,), GrantStatus.CONFIRMED)


def release_invoice(session: Session, clock: Clock, invoice_id: int) -> int:
    """Give back the invoice's live grants (void, refund, uncollectible); return how many."""
    return _settle(session, clock, invoice_id, LIVE_GRANTS, GrantStatus.RELEASED)


def _settle(
    session: Session,
    clock: Clock,
    invoice_id: int,
    from_statuses: Sequence[GrantStatus],
    to_status: GrantStatus,
) -> int:
    """Move an invoice's grants between statuses and append one entry for each moved."""
    now = clock.now()
    grant = SubsidyGrant
    moved = session.execute(
        sa.update(grant)
        .where(grant.invoice_id == invoice_id, grant.status.in_(from_statuses))
        .values(status=to_status, settled_at=now)
        .returning(grant.id, grant.program_id, grant.firm_id, grant.vendor_id, grant.amount_fen),
        execution_options={"synchronize_session": "fetch"},
    ).all()
    kind = EntryKind.CONFIRM if to_status is GrantStatus.CONFIRMED else EntryKind.RELEASE
    for row in moved:
        _append(session, row.id, row._asdict(), kind, now)
    return len(moved)


# Reading the budget ----------------------------------------------------------------------


def program_usage(session: Session, program_id: int) -> ProgramUsage:
    """Return what a program holds, has settled, and has left, from its grants and ledger."""
    program = session.get(SubsidyProgram, program_id)
    if program is None:
        raise NotFound(f"subsidy program {program_id} not found")
    return programs_usage(session, [program])[program_id]


def programs_usage(session: Session, programs: Sequence[SubsidyProgram]) -> dict[int, ProgramUsage]:
    """Return each program's held, settled and remaining budget, in two grouped queries."""
    ids = [program.id for program in programs]
    if not ids:
        return {}
    by_status: dict[tuple[int, str], int] = {
        (program_id, status): int(total)
        for program_id, status, total in session.execute(
            sa.select(
                SubsidyGrant.program_id, SubsidyGrant.status, sa.func.sum(SubsidyGrant.amount_fen)
            )
            .where(SubsidyGrant.program_id.in_(ids))
            .group_by(SubsidyGrant.program_id, SubsidyGrant.status)
        )
    }
    used = _sum_entries(session, ids)
    return {
        program.id: ProgramUsage(
            reserved_fen=by_status.get((program.id, GrantStatus.RESERVED), 0),
            confirmed_fen=by_status.get((program.id, GrantStatus.CONFIRMED), 0),
            remaining_fen=program.budget_fen - used.get(program.id, 0),
        )
        for program in programs
    }


def used_fen(session: Session, program_id: int) -> int:
    """Return what a program holds or has settled: the sum of its ledger entries."""
    return _sum_entries(session, [program_id]).get(program_id, 0)
