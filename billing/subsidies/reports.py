"""What a park reads about its subsidy programs: burn-down, rankings, details, statements.

Every read is scoped by the park: another park's program, firm or vendor is not found.
Amounts are integer fen and agree with the quota ledger to the fen: what is left of a
budget is always the budget minus the sum of the program's ledger entries.

Statements and announcements read the ledger's entries, not the grants' current status,
so a month's statement never changes once the month is over: a refund after payment is a
release entry of a later month, and that later month's statement takes it off.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, aliased

from billing.models import Invoice
from billing.statements import FIRST_YEAR, LAST_YEAR, Month
from billing.subsidies.ledger import LIVE_GRANTS, ProgramUsage
from billing.subsidies.models import (
    EntryKind,
    GrantStatus,
    SubsidyBudgetAlert,
    SubsidyGrant,
    SubsidyLedgerEntry,
    SubsidyProgram,
)
from billing.subsidies.program_reads import park_program, park_programs
from marketplace.clock import MARKET_TIME_ZONE, Clock, market_day
from marketplace.errors import NotFound
from marketplace.firms.models import ParkMembership, ParkMembershipStatus, SmeProfile
from marketplace.orgs.models import Organization, OrgKind


def day_bounds(since: date | None, until: date | None) -> tuple[datetime | None, datetime | None]:
    """Return the first instant of `since` and the one after `until` (inclusive), local time."""
    start = datetime.combine(since, datetime.min.time(), MARKET_TIME_ZONE) if since else None
    end = (
        datetime.combine(until + timedelta(days=1), datetime.min.time(), MARKET_TIME_ZONE)
        if until
        else None
    )
    return start, end


# The overview ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramOverview:
    """One program's budget split, share used and the alerts it raised."""

    program: SubsidyProgram
    usage: ProgramUsage
    alerts: list[SubsidyBudgetAlert]

    @property
    def used_fen(self) -> int:
        """Return what the ledger holds of the budget: reserved and confirmed."""
        return self.program.budget_fen - self.usage.remaining_fen

    @property
    def used_percent(self) -> float | None:
        """Return the share of the budget used, to one decimal; None for a budget of nothing."""
        budget = self.program.budget_fen
        return round(100 * self.used_fen / budget, 1) if budget else None


def park_overview(session: Session, park_id: int) -> list[ProgramOverview]:
    """Return every program of the park with its usage and alerts, newest program first."""
    summaries = park_programs(session, park_id)
    alerts: dict[int, list[SubsidyBudgetAlert]] = {s.program.id: [] for s in summaries}
    for alert in session.scalars(
        sa.select(SubsidyBudgetAlert)
        .where(SubsidyBudgetAlert.program_id.in_(list(alerts)))
        .order_by(SubsidyBudgetAlert.at.desc(), SubsidyBudgetAlert.id.desc())
    ):
        alerts[alert.program_id].append(alert)
    return [ProgramOverview(s.program, s.usage, alerts[s.program.id]) for s in summaries]


# The burn-down -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerMove:
    """One ledger entry as the burn-down reads it: the grant's amount and the entry's sign."""

    grant_id: int
    kind: str
    amount_fen: int  # the entry's signed amount (0 for a confirmation)
    grant_amount_fen: int
    at: datetime


@dataclass(frozen=True)
class BurnDownDay:
    """Where a program's budget stood at the end of one day (Asia/Shanghai)."""

    day: date
    reserved_fen: int
    confirmed_fen: int
    remaining_fen: int


@dataclass(frozen=True)
class BurnDown:
    """A program and its budget day by day."""

    program: SubsidyProgram
    days: list[BurnDownDay]


def daily_series(
    moves: Iterable[LedgerMove], budget_fen: int, first_day: date, last_day: date
) -> list[BurnDownDay]:
    """Turn ledger moves into one point a day from first_day to last_day, both included.

    Reserved is what is held and not yet paid, confirmed what is paid and not given back;
    remaining is the budget minus the entries' running sum. Moves outside the days widen them.
    """
    ordered = sorted(moves, key=lambda move: move.at)
    by_day: dict[date, list[LedgerMove]] = {}
    for move in ordered:
        by_day.setdefault(market_day(move.at), []).append(move)
    if by_day:
        first_day, last_day = min(first_day, *by_day), max(last_day, *by_day)
    confirmed_grants: set[int] = set()
    reserved = confirmed = entries = 0
    series = []
    day = first_day
    while day <= last_day:
        for move in by_day.get(day, []):
            entries += move.amount_fen
            if move.kind == EntryKind.RESERVE:
                reserved += move.grant_amount_fen
            elif move.kind == EntryKind.CONFIRM:
                reserved -= move.grant_amount_fen
                confirmed += move.grant_amount_fen
                confirmed_grants.add(move.grant_id)
            elif move.grant_id in confirmed_grants:
                confirmed -= move.grant_amount_fen
            else:
                reserved -= move.grant_amount_fen
        series.append(BurnDownDay(day, reserved, confirmed, budget_fen - entries))
        day += timedelta(days=1)
    return series


def burn_down(session: Session, clock: Clock, park_id: int, program_id: int) -> BurnDown:
    """Return a program's budget day by day, from its creation to today."""
    program = park_program(session, park_id, program_id)
    moves = [
        LedgerMove(row.grant_id, row.kind, row.amount_fen, row.grant_amount_fen, row.at)
        for row in session.execute(
            sa.select(
                SubsidyLedgerEntry.grant_id,
                SubsidyLedgerEntry.kind,
                SubsidyLedgerEntry.amount_fen,
                SubsidyGrant.amount_fen.label("grant_amount_fen"),
                SubsidyLedgerEntry.at,
            )
            .join(SubsidyGrant, SubsidyGrant.id == SubsidyLedgerEntry.grant_id)
            .where(SubsidyLedgerEntry.program_id == program.id)
            .order_by(SubsidyLedgerEntry.at, SubsidyLedgerEntry.id)
        )
    ]
    days = daily_series(
        moves, program.budget_fen, market_day(program.created_at), market_day(clock.now())
    )
    return BurnDown(program, days)


# Rankings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """A firm or vendor with the live subsidy (reserved and confirmed) its grants hold."""

    org_id: int
    name: str
    amount_fen: int
    grants: int


def _firm_name() -> sa.ColumnElement[str]:
    """Return a firm's legal name where it registered one, else its organization's name."""
    return sa.func.coalesce(SmeProfile.legal_name, Organization.name)


def top_firms(session: Session, park_id: int, limit: int = 10) -> list[Ranked]:
    """Return the firms holding the most live subsidy of the park's programs."""
    return _ranked(session, park_id, SubsidyGrant.firm_id, _firm_name(), limit, with_profile=True)


def top_vendors(session: Session, park_id: int, limit: int = 10) -> list[Ranked]:
    """Return the vendors whose sales hold the most live subsidy of the park's programs."""
    return _ranked(session, park_id, SubsidyGrant.vendor_id, Organization.name, limit)


def _ranked(
    session: Session,
    park_id: int,
    org_column: sa.orm.InstrumentedAttribute[int],
    name: sa.ColumnElement[str] | sa.orm.InstrumentedAttribute[str],
    limit: int,
    *,
    with_profile: bool = False,
) -> list[Ranked]:
    """Sum live grants by one organization column, largest first (ties by name, then id)."""
    total = sa.func.sum(SubsidyGrant.amount_fen)
    stmt = (
        sa.select(org_column, name, total, sa.func.count(SubsidyGrant.id))
        .join(SubsidyProgram, SubsidyProgram.id == SubsidyGrant.program_id)
        .join(Organization, Organization.id == org_column)
        .where(SubsidyProgram.park_id == park_id, SubsidyGrant.status.in_(LIVE_GRANTS))
        .group_by(org_column, name)
        .order_by(total.desc(), name, org_column)
        .limit(limit)
    )
    if with_profile:
        stmt = stmt.outerjoin(SmeProfile, SmeProfile.organization_id == org_column)
    return [Ranked(int(o), str(n), int(t), int(c)) for o, n, t, c in session.execute(stmt)]


# Grants, per firm and per vendor -----------------------------------------------------------


@dataclass(frozen=True)
class GrantLine:
    """One grant with what a reader needs to know it: invoice, firm, vendor, program."""

    grant_id: int
    invoice_id: int
    invoice_number: str | None
    invoice_at: datetime
    program_id: int
    program_name: str
    firm_id: int
    firm_name: str
    uscc: str | None
    vendor_id: int
    vendor_name: str
    amount_fen: int
    status: str


@dataclass(frozen=True)
class GrantFilters:
    """Which of a park's grants to list; None leaves a filter out. Days are local, inclusive."""

    program_id: int | None = None
    firm_id: int | None = None
    vendor_id: int | None = None
    since: date | None = None
    until: date | None = None


_FIRM = aliased(Organization, name="firm_org")
_VENDOR = aliased(Organization, name="vendor_org")


def _invoice_at() -> sa.ColumnElement[datetime]:
    """Return when a grant's invoice was issued (when it was held, for an invoice not issued)."""
    return sa.func.coalesce(Invoice.finalized_at, SubsidyGrant.reserved_at)


def _grant_select(park_id: int) -> sa.Select[*tuple[Any, ...]]:
    """Select the park's grants with their invoice, program, firm and vendor."""
    stmt: sa.Select[*tuple[Any, ...]] = (
        sa.select(
            SubsidyGrant.id.label("grant_id"),
            SubsidyGrant.invoice_id,
            Invoice.number.label("invoice_number"),
            _invoice_at().label("invoice_at"),
            SubsidyGrant.program_id,
            SubsidyProgram.name.label("program_name"),
            SubsidyGrant.firm_id,
            sa.func.coalesce(SmeProfile.legal_name, _FIRM.name).label("firm_name"),
            SmeProfile.uscc,
            SubsidyGrant.vendor_id,
            _VENDOR.name.label("vendor_name"),
            SubsidyGrant.amount_fen,
            SubsidyGrant.status,
        )
        .join(SubsidyProgram, SubsidyProgram.id == SubsidyGrant.program_id)
        .join(Invoice, Invoice.id == SubsidyGrant.invoice_id)
        .join(_FIRM, _FIRM.id == SubsidyGrant.firm_id)
        .outerjoin(SmeProfile, SmeProfile.organization_id == SubsidyGrant.firm_id)
        .join(_VENDOR, _VENDOR.id == SubsidyGrant.vendor_id)
        .where(SubsidyProgram.park_id == park_id)
    )
    return stmt


def _grant_line(row: sa.Row[Any]) -> GrantLine:
    """Build a GrantLine from a row of _grant_select (extra columns are ignored)."""
    values = row._mapping
    return GrantLine(**{name: values[name] for name in GrantLine.__dataclass_fields__})


def grant_lines(session: Session, park_id: int, filters: GrantFilters) -> list[GrantLine]:
    """Return the park's grants that pass the filters, newest invoice first."""
    stmt = _grant_select(park_id)
    if filters.program_id is not None:
        stmt = stmt.where(SubsidyGrant.program_id == filters.program_id)
    if filters.firm_id is not None:
        stmt = stmt.where(SubsidyGrant.firm_id == filters.firm_id)
    if filters.vendor_id is not None:
        stmt = stmt.where(SubsidyGrant.vendor_id == filters.vendor_id)
    start, end = day_bounds(filters.since, filters.until)
    if start is not None:
        stmt = stmt.where(_invoice_at() >= start)
    if end is not None:
        stmt = stmt.where(_invoice_at() < end)
    stmt = stmt.order_by(_invoice_at().desc(), SubsidyGrant.id.desc())
    return [_grant_line(row) for row in session.execute(stmt)]


@dataclass(frozen=True)
class PartyDetail:
    """A firm's or vendor's grants in the park, with their live and confirmed totals."""

    org_id: int
    name: str
    uscc: str | None
    lines: list[GrantLine]

    @property
    def live_fen(self) -> int:
        """Return the reserved and confirmed grants' sum."""
        return sum(line.amount_fen for line in self.lines if line.status in LIVE_GRANTS)

    @property
    def confirmed_fen(self) -> int:
        """Return the confirmed grants' sum."""
        return sum(line.amount_fen for line in self.lines if line.status == GrantStatus.CONFIRMED)


def park_firm(session: Session, park_id: int, firm_id: int) -> tuple[str, str | None]:
    """Return a firm's name and credit code if it is, or was granted as, a park member."""
    member = sa.exists().where(
        ParkMembership.park_id == park_id,
        ParkMembership.firm_id == firm_id,
        ParkMembership.status == ParkMembershipStatus.APPROVED,
    )
    row = session.execute(
        sa.select(sa.func.coalesce(SmeProfile.legal_name, Organization.name), SmeProfile.uscc)
        .select_from(Organization)
        .outerjoin(SmeProfile, SmeProfile.organization_id == Organization.id)
        .where(
            Organization.id == firm_id,
            Organization.kind == OrgKind.SME,
            sa.or_(member, _granted_in_park(park_id, SubsidyGrant.firm_id == firm_id)),
        )
    ).first()
    if row is None:
        raise NotFound(_("No such firm in this park."))
    return str(row[0]), row[1]


def park_vendor(session: Session, park_id: int, vendor_id: int) -> str:
    """Return a vendor's name if the park's programs ever granted on its sales."""
    name = session.scalar(
        sa.select(Organization.name).where(
            Organization.id == vendor_id,
            _granted_in_park(park_id, SubsidyGrant.vendor_id == vendor_id),
        )
    )
    if name is None:
        raise NotFound(_("No such vendor among this park's grants."))
    return name


def _granted_in_park(park_id: int, condition: sa.ColumnElement[bool]) -> sa.Exists:
    """Say whether a grant of the park's programs meets the condition."""
    return (
        sa.exists()
        .where(condition, SubsidyProgram.id == SubsidyGrant.program_id)
        .where(SubsidyProgram.park_id == park_id)
    )


def firm_detail(session: Session, park_id: int, firm_id: int) -> PartyDetail:
    """Return a firm's grants from the park's programs, per invoice."""
    name, uscc = park_firm(session, park_id, firm_id)
    lines = grant_lines(session, park_id, GrantFilters(firm_id=firm_id))
    return PartyDetail(firm_id, name, uscc, lines)


def vendor_detail(session: Session, park_id: int, vendor_id: int) -> PartyDetail:
    """Return the park's grants on a vendor's sales, per invoice."""
    name = park_vendor(session, park_id, vendor_id)
    lines = grant_lines(session, park_id, GrantFilters(vendor_id=vendor_id))
    return PartyDetail(vendor_id, name, None, lines)


# The monthly statement ---------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    """A grant paid this month (+) or a paid grant given back this month (−)."""

    kind: str  # "confirm" or "release"
    at: datetime
    amount_fen: int  # signed: what the park owes for this line
    grant: GrantLine


@dataclass(frozen=True)
class ProgramTotal:
    """What the park owes for one program in the month."""

    program_id: int
    program_name: str
    amount_fen: int


@dataclass(frozen=True)
class MonthlyStatement:
    """What a park owes the marketplace for a month's paid subsidies."""

    park_id: int
    month: Month
    lines: list[StatementLine]

    @property
    def by_program(self) -> list[ProgramTotal]:
        """Return the month's total per program, by program name."""
        totals: dict[tuple[str, int], int] = {}
        for line in self.lines:
            key = (line.grant.program_name, line.grant.program_id)
            totals[key] = totals.get(key, 0) + line.amount_fen
        return [ProgramTotal(pid, name, total) for (name, pid), total in sorted(totals.items())]

    @property
    def total_fen(self) -> int:
        """Return what the park owes for the month."""
        return sum(line.amount_fen for line in self.lines)


def checked_month(year: int, month: int) -> Month:
    """Return the month, or raise NotFound for a month no calendar has."""
    if not (FIRST_YEAR <= year <= LAST_YEAR and 1 <= month <= 12):
        raise NotFound(_("No such month."))
    return Month(year, month)


def monthly_statement(session: Session, park_id: int, year: int, month: int) -> MonthlyStatement:
    """Return the grants confirmed in the month, less paid grants released in it.

    A grant both paid and given back within the month shows twice and nets to nothing.
    Months are calendar months in Asia/Shanghai.
    """
    period = checked_month(year, month)
    start, end = period.bounds(MARKET_TIME_ZONE)
    confirmed = aliased(SubsidyLedgerEntry, name="confirmed")
    paid_before = (
        sa.exists()
        .where(confirmed.grant_id == SubsidyLedgerEntry.grant_id)
        .where(confirmed.kind == EntryKind.CONFIRM)
    )
    stmt = (
        _grant_select(park_id)
        .add_columns(SubsidyLedgerEntry.kind.label("entry_kind"), SubsidyLedgerEntry.at)
        .join(SubsidyLedgerEntry, SubsidyLedgerEntry.grant_id == SubsidyGrant.id)
        .where(SubsidyLedgerEntry.at >= start, SubsidyLedgerEntry.at < end)
        .where(
            sa.or_(
                SubsidyLedgerEntry.kind == EntryKind.CONFIRM,
                sa.and_(SubsidyLedgerEntry.kind == EntryKind.RELEASE, paid_before),
            )
        )
        .order_by(SubsidyLedgerEntry.at, SubsidyLedgerEntry.id)
    )
    lines = []
    for row in session.execute(stmt):
        sign = 1 if row.entry_kind == EntryKind.CONFIRM else -1
        lines.append(StatementLine(row.entry_kind, row.at, sign * row.amount_fen, _grant_line(row)))
    return MonthlyStatement(park_id, period, lines)


# The public announcement list (公示名单) ----------------------------------------------------


@dataclass(frozen=True)
class AnnouncementRow:
    """A firm's confirmed subsidy from one program, as the park publishes it."""

    firm_id: int
    legal_name: str
    uscc: str | None
    program_id: int
    program_name: str
    amount_fen: int


def announcement_list(
    session: Session,
    park_id: int,
    program_id: int | None = None,
    since: date | None = None,
    until: date | None = None,
) -> list[AnnouncementRow]:
    """Return per firm and program the grants paid in the days and not given back since.

    A grant released after payment is not announced: it is no longer a subsidy.
    """
    if program_id is not None:
        park_program(session, park_id, program_id)
    amount = sa.func.sum(SubsidyGrant.amount_fen)
    firm_name = sa.func.coalesce(SmeProfile.legal_name, Organization.name)
    stmt = (
        sa.select(
            SubsidyGrant.firm_id,
            firm_name,
            SmeProfile.uscc,
            SubsidyGrant.program_id,
            SubsidyProgram.name,
            amount,
        )
        .join(SubsidyProgram, SubsidyProgram.id == SubsidyGrant.program_id)
        .join(Organization, Organization.id == SubsidyGrant.firm_id)
        .outerjoin(SmeProfile, SmeProfile.organization_id == SubsidyGrant.firm_id)
        .join(
            SubsidyLedgerEntry,
            sa.and_(
                SubsidyLedgerEntry.grant_id == SubsidyGrant.id,
                SubsidyLedgerEntry.kind == EntryKind.CONFIRM,
            ),
        )
        .where(SubsidyProgram.park_id == park_id, SubsidyGrant.status == GrantStatus.CONFIRMED)
        .group_by(
            SubsidyGrant.firm_id,
            firm_name,
            SmeProfile.uscc,
            SubsidyGrant.program_id,
            SubsidyProgram.name,
        )
        .order_by(SubsidyProgram.name, SubsidyGrant.program_id, amount.desc(), firm_name)
    )
    if program_id is not None:
        stmt = stmt.where(SubsidyGrant.program_id == program_id)
    start, end = day_bounds(since, until)
    if start is not None:
        stmt = stmt.where(SubsidyLedgerEntry.at >= start)
    if end is not None:
        stmt = stmt.where(SubsidyLedgerEntry.at < end)
    return [
        AnnouncementRow(f, str(n), u, p, pn, int(a)) for f, n, u, p, pn, a in session.execute(stmt)
    ]


def program_names(session: Session, park_id: int) -> Sequence[tuple[int, str]]:
    """Return the park's programs as (id, name), by name, for filters."""
    return [
        (int(pid), str(name))
        for pid, name in session.execute(
            sa.select(SubsidyProgram.id, SubsidyProgram.name)
            .where(SubsidyProgram.park_id == park_id)
            .order_by(SubsidyProgram.name, SubsidyProgram.id)
        )
    ]
