"""Write a park's subsidy reports as CSV and XLSX files, and record who downloaded them.

The writers are pure: a Table of rows in, bytes out. Money is integer fen in a Table and
yuan in a file: a CSV cell "1234.50", an XLSX number with a two-decimal format. A text
cell a spreadsheet would read as a formula (= + - @, or a tab or return first) is written
with a leading apostrophe, so an exported name can never run in the reader's spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy.orm import Session

from billing.spreadsheets import guard_text
from billing.subsidies import reports
from billing.subsidies.program_reads import park_program
from billing.subsidies.reports import AnnouncementRow, GrantLine, MonthlyStatement
from marketplace.audit.services import Actor, record
from marketplace.clock import MARKET_TIME_ZONE, Clock

YUAN_FORMAT = "#,##0.00"
CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
KINDS = ("announcement", "statement", "grants")
FORMATS = ("csv", "xlsx")

Cell = str | int | None


@dataclass(frozen=True)
class Column:
    """A column's heading, and whether its cells are money in fen."""

    heading: str
    money: bool = False


@dataclass(frozen=True)
class Table:
    """Rows to write under headings, with a title naming park and period (XLSX only)."""

    title: str
    columns: Sequence[Column]
    rows: Sequence[Sequence[Cell]]
    sheet: str = "Sheet1"


# Pure writers -------------------------------------------------------------------------------


def fen_to_yuan(amount_fen: int) -> Decimal:
    """Return fen as yuan, exactly (two decimals)."""
    return (Decimal(amount_fen) / 100).quantize(Decimal("0.01"))


def _csv_cell(value: Cell, money: bool) -> str:
    if value is None:
        return ""
    if money and isinstance(value, int):
        return f"{fen_to_yuan(value)}"
    return guard_text(str(value))


def to_csv(table: Table) -> bytes:
    """Write a table as CSV: a heading row, then the rows; UTF-8 with a byte-order mark."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([guard_text(column.heading) for column in table.columns])
    for row in table.rows:
        writer.writerow([_csv_cell(v, c.money) for v, c in zip(row, table.columns, strict=True)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    """Write a table as an XLSX workbook: a title row, a heading row, then the rows."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = table.sheet[:31]
    sheet.append([guard_text(table.title)])
    sheet.cell(row=1, column=1).font = Font(bold=True, size=13)
    sheet.append([guard_text(column.heading) for column in table.columns])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for row in table.rows:
        sheet.append([_xlsx_cell(v, c.money) for v, c in zip(row, table.columns, strict=True)])
    for index, column in enumerate(table.columns, start=1):
        if column.money:
            for (cell,) in sheet.iter_rows(min_row=3, min_col=index, max_col=index):
                cell.number_format = YUAN_FORMAT
        width = max([len(column.heading), *(len(str(r[index - 1] or "")) for r in table.rows)])
        sheet.column_dimensions[sheet.cell(row=2, column=index).column_letter].width = min(
            max(width * 1.6, 10), 60
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_cell(value: Cell, money: bool) -> Any:
    if value is None:
        return None
    if money and isinstance(value, int):
        return fen_to_yuan(value)
    return guard_text(str(value)) if isinstance(value, str) else value


def attachment_header(ascii_name: str, name: str) -> str:
    """Return a Content-Disposition naming the file in ASCII and, per RFC 5987, in UTF-8."""
    fallback = "".join(ch if ch.isascii() and ch not in '"\\' else "_" for ch in ascii_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# The tables ---------------------------------------------------------------------------------

STATUS_LABELS = {
    "reserved": _l("Reserved"),
    "confirmed": _l("Confirmed"),
    "released": _l("Released"),
}
ENTRY_LABELS = {"confirm": _l("Paid"), "release": _l("Refunded after payment")}


def local_text(moment: datetime) -> str:
    """Write an instant as its local date and time, to the minute."""
    return moment.astimezone(MARKET_TIME_ZONE).strftime("%Y-%m-%d %H:%M")


def announcement_table(title: str, rows: Sequence[AnnouncementRow]) -> Table:
    """Lay out the public announcement list (公示名单): firm, credit code, program, amount."""
    columns = [
        Column(_("No.")),
        Column(_("Firm")),
        Column(_("Unified social credit code")),
        Column(_("Program")),
        Column(_("Subsidy (yuan)"), money=True),
    ]
    body: list[list[Cell]] = [
        [n, r.legal_name, r.uscc, r.program_name, r.amount_fen] for n, r in enumerate(rows, 1)
    ]
    body.append([None, _("Total"), None, None, sum(r.amount_fen for r in rows)])
    return Table(title, columns, body, sheet=_("Announcement"))


def statement_table(title: str, statement: MonthlyStatement) -> Table:
    """Lay out a monthly statement: its lines, each program's total, and the total owed."""
    columns = [
        Column(_("Entry")),
        Column(_("Date")),
        Column(_("Invoice")),
        Column(_("Firm")),
        Column(_("Unified social credit code")),
        Column(_("Vendor")),
        Column(_("Program")),
        Column(_("Amount owed (yuan)"), money=True),
    ]
    body: list[list[Cell]] = [
        [
            str(ENTRY_LABELS.get(line.kind, line.kind)),
            local_text(line.at),
            line.grant.invoice_number or f"#{line.grant.invoice_id}",
            line.grant.firm_name,
            line.grant.uscc,
            line.grant.vendor_name,
            line.grant.program_name,
            line.amount_fen,
        ]
        for line in statement.lines
    ]
    for total in statement.by_program:
        label = _("Total for %(program)s", program=total.program_name)
        body.append([label, None, None, None, None, None, total.program_name, total.amount_fen])
    body.append([_("Total owed"), None, None, None, None, None, None, statement.total_fen])
    return Table(title, columns, body, sheet=str(statement.month))


def grants_table(title: str, lines: Sequence[GrantLine]) -> Table:
    """Lay out a list of grants, one row per grant."""
    columns = [
        Column(_("Invoice")),
        Column(_("Invoice date")),
        Column(_("Firm")),
        Column(_("Unified social credit code")),
        Column(_("Vendor")),
        Column(_("Program")),
        Column(_("Status")),
        Column(_("Subsidy (yuan)"), money=True),
    ]
    body: list[list[Cell]] = [
        [
            line.invoice_number or f"#{line.invoice_id}",
            local_text(line.invoice_at),
            line.firm_name,
            line.uscc,
            line.vendor_name,
            line.program_name,
            str(STATUS_LABELS.get(line.status, line.status)),
            line.amount_fen,
        ]
        for line in lines
    ]
    return Table(title, columns, body, sheet=_("Grants"))


# Downloading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRequest:
    """What a park asked to export: the kind, the format and the filters (checked already)."""

    kind: str
    fmt: str
    program_id: int | None = None
    firm_id: int | None = None
    vendor_id: int | None = None
    since: date | None = None
    until: date | None = None
    month: tuple[int, int] | None = None  # (year, month), for a statement

    def filters(self) -> dict[str, Any]:
        """Return the filters asked for, as the audit log records them."""
        values = {
            "program_id": self.program_id,
            "firm_id": self.firm_id,
            "vendor_id": self.vendor_id,
            "since": self.since,
            "until": self.until,
            "month": f"{self.month[0]:04d}-{self.month[1]:02d}" if self.month else None,
        }
        return {key: value for key, value in values.items() if value is not None}


@dataclass(frozen=True)
class ExportFile:
    """A file to send: its names (ASCII and local), its type and its bytes."""

    ascii_name: str
    name: str
    mimetype: str
    data: bytes


def _period_text(wanted: ExportRequest) -> str:
    """Name the period of an export: a month, a span of days, or all time."""
    if wanted.month:
        return f"{wanted.month[0]:04d}-{wanted.month[1]:02d}"
    if wanted.since or wanted.until:
        return f"{wanted.since or ''}~{wanted.until or ''}"
    return str(_("all time"))


def build_table(session: Session, park_id: int, park_name: str, wanted: ExportRequest) -> Table:
    """Read what an export asks for, scoped by the park, and lay it out."""
    title = f"{park_name} · {_period_text(wanted)}"
    if wanted.kind == "announcement":
        rows = reports.announcement_list(
            session, park_id, wanted.program_id, wanted.since, wanted.until
        )
        return announcement_table(_("Subsidy announcement list: %(title)s", title=title), rows)
    if wanted.kind == "statement":
        assert wanted.month is not None  # the view refuses a statement without its month
        statement = reports.monthly_statement(session, park_id, *wanted.month)
        return statement_table(_("Subsidy statement: %(title)s", title=title), statement)
    if wanted.firm_id is not None:
        reports.park_firm(session, park_id, wanted.firm_id)
    if wanted.vendor_id is not None:
        reports.park_vendor(session, park_id, wanted.vendor_id)
    if wanted.program_id is not None:
        park_program(session, park_id, wanted.program_id)
    filters = reports.GrantFilters(
        wanted.program_id, wanted.firm_id, wanted.vendor_id, wanted.since, wanted.until
    )
    lines = reports.grant_lines(session, park_id, filters)
    return grants_table(_("Subsidy grants: %(title)s", title=title), lines)


LOCAL_NAMES = {
    "announcement": _l("Subsidy announcement list"),
    "statement": _l("Subsidy statement"),
    "grants": _l("Subsidy grants"),
}


def export_file(
    session: Session,
    clock: Clock,
    actor: Actor,
    park_id: int,
    park_name: str,
    wanted: ExportRequest,
) -> ExportFile:
    """Write the export asked for, record the download in the audit log, and commit."""
    table = build_table(session, park_id, park_name, wanted)
    data = to_csv(table) if wanted.fmt == "csv" else to_xlsx(table)
    record(
        session,
        clock,
        actor,
        "subsidy_export.downloaded",
        ("park", park_id),
        after={"kind": wanted.kind, "format": wanted.fmt, "rows": len(table.rows)}
        | wanted.filters(),
        subject_org_id=park_id,
    )
    session.commit()
    dated = wanted.month or wanted.since or wanted.until
    period = _period_text(wanted).replace("~", "_to_") if dated else "all"
    stem = f"subsidy-{wanted.kind}-park{park_id}-{period}"
    local = f"{LOCAL_NAMES[wanted.kind]}-{park_name}-{period}.{wanted.fmt}"
    mimetype = CSV_MIMETYPE if wanted.fmt == "csv" else XLSX_MIMETYPE
    return ExportFile(f"{stem}.{wanted.fmt}", local, mimetype, data)
