"""The exports: CSV with a byte-order mark, XLSX with yuan as numbers, no formula let through."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy.orm import Session

from billing.subsidies import exports, ledger
from billing.subsidies.exports import Column, ExportRequest, Table
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.errors import NotFound
from tests.billing.subsidies.test_reports import Scene, hold, make_scene, shanghai
from tests.billing.subsidies.world import SubsidyWorld, add_program, make_subsidy_world

HOSTILE = ['=HYPERLINK("http://x")', "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def sample(rows: list[list[exports.Cell]]) -> Table:
    """Return a table of a name, a credit code and an amount in fen."""
    columns = [Column("企业名称"), Column("统一社会信用代码"), Column("金额（元）", money=True)]
    return Table("福州软件园 · 2026-03", columns, rows, sheet="公示")


def read_csv(data: bytes) -> list[list[str]]:
    """Read CSV bytes as a spreadsheet would after the byte-order mark."""
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def read_xlsx(data: bytes) -> Worksheet:
    """Open XLSX bytes and return the first sheet."""
    sheet = load_workbook(io.BytesIO(data)).active
    assert isinstance(sheet, Worksheet)
    return sheet


@pytest.fixture
def scene(subsidy_world: SubsidyWorld, session: Session, clock: FrozenClock) -> Scene:
    """A park with two firms, two vendors and a program, in an English request."""
    return make_scene(session, clock, subsidy_world)


# The pure writers ---------------------------------------------------------------------------


def test_csv_starts_with_a_byte_order_mark_and_writes_fen_as_yuan() -> None:
    table = sample([["福州云帆软件有限公司", "91350100MA2XXXXX1X", 123_456], ["零", None, -5]])

    rows = read_csv(exports.to_csv(table))

    assert rows == [
        ["企业名称", "统一社会信用代码", "金额（元）"],
        ["福州云帆软件有限公司", "91350100MA2XXXXX1X", "1234.56"],
        ["零", "", "-0.05"],
    ]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_text_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(text: str) -> None:
    table = sample([[text, text, 100]])

    assert read_csv(exports.to_csv(table))[1] == ["'" + text, "'" + text, "1.00"]
    sheet = read_xlsx(exports.to_xlsx(table))
    # XML keeps no carriage return: the cell reads back with a newline, still guarded.
    assert str(sheet.cell(row=3, column=1).value).startswith("'" + text[0].replace("\r", "\n"))
    assert sheet.cell(row=3, column=1).data_type == "s"


def test_plain_text_and_negative_amounts_are_left_as_they_are() -> None:
    assert exports.guard_text("福州 = 软件") == "福州 = 软件"
    assert exports.guard_text("") == ""
    assert read_csv(exports.to_csv(sample([["a-b", "x@y", -150]])))[1] == ["a-b", "x@y", "-1.50"]


def test_xlsx_has_a_title_row_headings_and_yuan_as_two_decimal_numbers() -> None:
    table = sample([["福州云帆软件有限公司", "91350100MA2XXXXX1X", 123_456], ["零", None, 1]])

    sheet = read_xlsx(exports.to_xlsx(table))

    assert sheet.title == "公示"
    assert sheet.cell(row=1, column=1).value == "福州软件园 · 2026-03"
    assert [c.value for c in sheet[2]] == ["企业名称", "统一社会信用代码", "金额（元）"]
    assert [c.value for c in sheet[3]] == ["福州云帆软件有限公司", "91350100MA2XXXXX1X", 1234.56]
    assert sheet.cell(row=4, column=2).value is None
    assert sheet.cell(row=4, column=3).value == 0.01
    assert {sheet.cell(row=r, column=3).number_format for r in (3, 4)} == {"#,##0.00"}
    assert sheet.cell(row=3, column=3).data_type == "n"
    assert sheet.max_row == 4


def test_yuan_are_exact_to_the_fen() -> None:
    assert exports.fen_to_yuan(1) == Decimal("0.01")
    assert exports.fen_to_yuan(-123_456_789) == Decimal("-1234567.89")
    assert str(exports.fen_to_yuan(100)) == "1.00"


def test_the_attachment_header_names_the_file_in_ascii_and_in_utf8() -> None:
    header = exports.attachment_header("subsidy-announcement-2026-03.xlsx", "公示名单 2026-03.xlsx")

    assert header == (
        'attachment; filename="subsidy-announcement-2026-03.xlsx"; '
        "filename*=UTF-8''%E5%85%AC%E7%A4%BA%E5%90%8D%E5%8D%95%202026-03.xlsx"
    )
    assert exports.attachment_header('a"b\\c园.csv', "x").startswith(
        'attachment; filename="a_b_c_.csv"'
    )


# The tables from the reports ----------------------------------------------------------------


def test_the_announcement_export_lists_each_firm_its_credit_code_program_and_amount(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    program_id, firm = scene.program.id, scene.world.firm
    ledger.confirm_invoice(
        session,
        clock,
        hold(session, clock, scene.books, program_id, firm.organization_id, {"1": 12_345}),
    )
    hold(session, clock, scene.books, program_id, scene.second_firm.organization_id, {"1": 7})

    wanted = ExportRequest("announcement", "xlsx", program_id=program_id)
    sheet = read_xlsx(
        exports.to_xlsx(exports.build_table(session, scene.park_id, "福州软件园", wanted))
    )

    assert "福州软件园" in str(sheet.cell(row=1, column=1).value)
    assert [c.value for c in sheet[2]] == [
        "No.",
        "Firm",
        "Unified social credit code",
        "Program",
        "Subsidy (yuan)",
    ]
    assert [c.value for c in sheet[3]] == [1, firm.legal_name, firm.uscc, "上云券 A", 123.45]
    assert [c.value for c in sheet[4]] == [None, "Total", None, None, 123.45]


def test_the_statement_export_has_its_lines_program_totals_and_the_total_owed(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    program_id, firm_id = scene.program.id, scene.world.firm_id
    clock.set(shanghai(2026, 2, 20))
    earlier = hold(session, clock, scene.books, program_id, firm_id, {"1": 1_000})
    ledger.confirm_invoice(session, clock, earlier)
    clock.set(shanghai(2026, 3, 5))
    ledger.confirm_invoice(
        session, clock, hold(session, clock, scene.books, program_id, firm_id, {"1": 250})
    )
    ledger.release_invoice(session, clock, earlier)

    table = exports.build_table(
        session, scene.park_id, "福州软件园", ExportRequest("statement", "csv", month=(2026, 3))
    )
    rows = read_csv(exports.to_csv(table))

    assert rows[0][0] == "Entry" and rows[0][-1] == "Amount owed (yuan)"
    assert [(r[0], r[1], r[-1]) for r in rows[1:3]] == [
        ("Paid", "2026-03-05 12:00", "2.50"),
        ("Refunded after payment", "2026-03-05 12:00", "-10.00"),
    ]
    assert rows[3][-2:] == ["上云券 A", "-7.50"]
    assert (rows[4][0], rows[4][-1]) == ("Total owed", "-7.50")
    assert len(rows) == 5


def test_the_grants_export_is_scoped_to_the_park_and_refuses_another_parks_filters(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    program_id = scene.program.id
    hold(session, clock, scene.other_books, program_id, scene.world.firm_id, {"1": 42})
    elsewhere = make_subsidy_world(session, clock.now())
    there = add_program(session, elsewhere.park.id, clock.now())

    table = exports.build_table(session, scene.park_id, "P", ExportRequest("grants", "csv"))
    rows = read_csv(exports.to_csv(table))

    assert len(rows) == 2 and rows[1][-2:] == ["Reserved", "0.42"]
    assert rows[1][0].startswith("YS-T-")
    for wanted in [
        ExportRequest("grants", "csv", program_id=there.id),
        ExportRequest("grants", "csv", firm_id=elsewhere.firm_id),
        ExportRequest("grants", "csv", vendor_id=elsewhere.vendor.id),
        ExportRequest("announcement", "csv", program_id=there.id),
    ]:
        with pytest.raises(NotFound):
            exports.build_table(session, scene.park_id, "P", wanted)


def test_an_export_records_who_downloaded_what_in_the_audit_log(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    actor = Actor(scene.world.park_admin.id, scene.park_id, "203.0.113.9")
    wanted = ExportRequest(
        "announcement", "xlsx", program_id=scene.program.id, since=date(2026, 3, 1)
    )

    made = exports.export_file(session, clock, actor, scene.park_id, "福州软件园", wanted)

    entry = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.action == "subsidy_export.downloaded")
    ).one()
    assert (entry.actor_user_id, entry.actor_org_id, entry.subject_org_id) == (
        scene.world.park_admin.id,
        scene.park_id,
        scene.park_id,
    )
    assert entry.after == {
        "kind": "announcement",
        "format": "xlsx",
        "rows": 1,
        "program_id": scene.program.id,
        "since": "2026-03-01",
    }
    assert made.ascii_name == f"subsidy-announcement-park{scene.park_id}-2026-03-01_to_.xlsx"
    assert made.name.endswith("福州软件园-2026-03-01_to_.xlsx")
    assert made.mimetype == exports.XLSX_MIMETYPE
    assert read_xlsx(made.data).cell(row=3, column=2).value == "Total"
