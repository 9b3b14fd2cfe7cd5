"""Lay an invoice out as a sheet of words and figures, then as an A4 PDF of that sheet.

The HTML page and the PDF both render the same InvoiceSheet, so they cannot say different
things. The PDF uses ReportLab's built-in CID font STSong-Light: it needs no font file and
every PDF reader can show its Chinese.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from xml.sax.saxutils import escape

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.invoicing import RECURRING_KEY, SEATS_KEY, USAGE_BEFORE_CHANGE, USAGE_KEY
from billing.models import InvoiceLine, InvoiceStatus, LineKind
from billing.services.finalization import CARRIED_CREDIT_KEY
from billing.services.invoice_reads import InvoiceRecord
from catalog.storefront_views import localized, quantity_text
from marketplace.clock import MARKET_TIME_ZONE, local_time_text
from marketplace.money import format_fen

FONT = "STSong-Light"


def _(text: str, **values: object) -> str:
    """Translate text for the reader, as a plain str (gettext itself is untyped)."""
    return str(gettext(text, **values))


KIND_LABELS: dict[str, object] = {
    LineKind.RECURRING: _l("Recurring"),
    LineKind.SEATS: _l("Seats"),
    LineKind.USAGE: _l("Usage"),
    LineKind.PRORATION: _l("Proration"),
    LineKind.SUBSIDY: _l("Subsidy"),
}
STATUS_LABELS: dict[str, object] = {
    InvoiceStatus.DRAFT: _l("Draft — may still change"),
    InvoiceStatus.OPEN: _l("Open"),
    InvoiceStatus.PAID: _l("Paid"),
    InvoiceStatus.VOID: _l("Void"),
    InvoiceStatus.UNCOLLECTIBLE: _l("Uncollectible"),
}
# Lines whose words need only the quantity, by description key.
COUNTED: dict[str, Callable[[str], str]] = {
    SEATS_KEY: lambda n: _("%(n)s seats", n=n),
    "seats_added": lambda n: _("%(n)s seats added for the rest of the period", n=n),
    "seats_removed": lambda n: _("%(n)s seats removed for the rest of the period", n=n),
}
FIXED: dict[str, object] = {
    RECURRING_KEY: _l("Recurring fee"),
    "unused_time": _l("Credit for the unused time of the old plan"),
    "remaining_time": _l("The new plan for the rest of the period"),
    CARRIED_CREDIT_KEY: _l("Credit carried over from an earlier invoice"),
}


@dataclass(frozen=True)
class Fact:
    """One labelled value of the sheet; key names it for pages and tests."""

    key: str
    label: str
    value: str


@dataclass(frozen=True)
class SheetLine:
    """One invoice line in words."""

    kind: str
    description: str
    period: str
    quantity: str
    amount: str
    tax: str


@dataclass(frozen=True)
class SheetCredit:
    """One credit note in words."""

    at: str
    amount: str
    reason: str


@dataclass(frozen=True)
class InvoiceSheet:
    """Everything an invoice says, in the reader's language, ready for HTML or PDF."""

    title: str
    status: str
    status_label: str
    parties: list[Fact]
    dates: list[Fact]
    lines: list[SheetLine]
    totals: list[Fact]
    credits: list[SheetCredit]
    note: str


def status_label(status: str) -> str:
    """Name an invoice's status in the reader's language."""
    label = STATUS_LABELS.get(status)
    return str(label) if label is not None else status


def line_description(line: InvoiceLine, record: InvoiceRecord) -> str:
    """Say what a line charges for, from its description key."""
    n = quantity_text(line.quantity)
    if line.kind == LineKind.SUBSIDY:
        program = record.programs.get(line.subsidy_program_id or 0)
        if program is None:
            return _("Park subsidy")
        return _("Park subsidy: %(program)s", program=program)
    if line.description_key == USAGE_KEY:
        dimension = line.dimension or ""
        component = record.components.get((line.plan_id or 0, dimension))
        unit = (localized(component, "unit_name") if component else "") or dimension
        return _(
            "Usage: %(quantity)s %(unit)s (%(dimension)s)",
            quantity=n,
            unit=unit,
            dimension=dimension,
        )
    if line.description_key == USAGE_BEFORE_CHANGE:
        return _(
            "Usage before the plan change: %(quantity)s (%(dimension)s)",
            quantity=n,
            dimension=line.dimension or "",
        )
    if line.description_key in COUNTED:
        return COUNTED[line.description_key](n)
    fixed = FIXED.get(line.description_key)
    return str(fixed) if fixed is not None else line.description_key


def _span(start: datetime | None, end: datetime | None) -> str:
    if start is None:
        return "—"
    if end is None:
        return _("from %(start)s", start=local_time_text(start))
    return f"{local_time_text(start)} – {local_time_text(end)}"


def _day(moment: datetime) -> str:
    return moment.astimezone(MARKET_TIME_ZONE).date().isoformat()


def _percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _title(record: InvoiceRecord) -> str:
    invoice = record.invoice
    if invoice.number:
        return _("Invoice %(number)s", number=invoice.number)
    return _("Sandbox invoice (no number)") if invoice.sandbox else _("Draft invoice")


def _parties(record: InvoiceRecord, service: str) -> list[Fact]:
    invoice = record.invoice
    facts = [Fact("firm", _("Firm"), invoice.organization.name)]
    if record.buyer is not None:
        facts.append(Fact("legal-name", _("Legal name"), record.buyer.legal_name))
        facts.append(Fact("uscc", _("Unified social credit code"), record.buyer.uscc))
    facts.append(Fact("vendor", _("Vendor"), invoice.vendor.name))
    facts.append(Fact("service", _("Service"), service))
    return facts


def _dates(record: InvoiceRecord) -> list[Fact]:
    invoice = record.invoice
    facts = [Fact("period", _("Service period"), _span(invoice.period_start, invoice.period_end))]
    if invoice.usage_period_start is not None:
        span = _span(invoice.usage_period_start, invoice.usage_period_end)
        facts.append(Fact("usage-period", _("Usage period"), span))
    optional = [
        ("finalized", _("Issued"), invoice.finalized_at, local_time_text),
        ("due", _("Due date"), invoice.due_at, _day),
        ("paid", _("Paid"), invoice.paid_at, local_time_text),
        ("voided", _("Voided"), invoice.voided_at, local_time_text),
    ]
    facts.extend(Fact(key, label, show(at)) for key, label, at, show in optional if at)
    return facts


def _lines(record: InvoiceRecord) -> list[SheetLine]:
    currency = record.invoice.currency
    return [
        SheetLine(
            kind=str(KIND_LABELS.get(line.kind, line.kind)),
            description=line_description(line, record),
            period=_span(line.period_start, line.period_end),
            quantity=quantity_text(line.quantity),
            amount=format_fen(line.amount_fen, currency),
            tax=format_fen(line.tax_fen, currency),
        )
        for line in record.invoice.lines
    ]


def _totals(record: InvoiceRecord) -> list[Fact]:
    invoice = record.invoice
    money = invoice.currency
    facts = [Fact("subtotal", _("Subtotal"), format_fen(invoice.subtotal_fen, money))]
    subsidy = invoice.total_fen - invoice.subtotal_fen
    if subsidy:
        facts.append(Fact("subsidy", _("Park subsidy"), format_fen(subsidy, money)))
    vat = _("VAT included (%(rate)s)", rate=_percent(invoice.vat_rate))
    facts.append(Fact("vat", vat, format_fen(invoice.tax_fen, money)))
    facts.append(Fact("total", _("Total"), format_fen(invoice.total_fen, money)))
    if record.credit_notes:
        credited = format_fen(-record.credited_fen, money)
        facts.append(Fact("credited", _("Credit notes"), credited))
    facts.append(Fact("amount-due", _("Amount due"), format_fen(invoice.amount_due_fen, money)))
    return facts


def invoice_sheet(record: InvoiceRecord, service: str) -> InvoiceSheet:
    """Put an invoice into words in the reader's language."""
    invoice = record.invoice
    return InvoiceSheet(
        title=_title(record),
        status=invoice.status,
        status_label=status_label(invoice.status),
        parties=_parties(record, service),
        dates=_dates(record),
        lines=_lines(record),
        totals=_totals(record),
        credits=[
            SheetCredit(
                local_time_text(note.created_at),
                format_fen(note.amount_fen, invoice.currency),
                note.reason,
            )
            for note in record.credit_notes
        ],
        note=_("Amounts include VAT. Times are Beijing time."),
    )


# --- PDF ---------------------------------------------------------------------------------


@cache
def _font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def _styles() -> dict[str, ParagraphStyle]:
    font = _font()
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=12)
    return {
        "body": body,
        "title": ParagraphStyle("title", parent=body, fontSize=16, leading=20),
        "heading": ParagraphStyle("heading", parent=body, fontSize=11, leading=15, spaceBefore=6),
        "right": ParagraphStyle("right", parent=body, alignment=TA_RIGHT),
        "small": ParagraphStyle("small", parent=body, fontSize=8, leading=10),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


GRID = [
    ("FONTNAME", (0, 0), (-1, -1), FONT),
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
]


def _facts(
    facts: list[Fact], styles: dict[str, ParagraphStyle], widths: list[float], value: str = "body"
) -> Table:
    rows = [[_p(f.label, styles["body"]), _p(f.value, styles[value])] for f in facts]
    return Table(rows, colWidths=widths, style=TableStyle(GRID), hAlign="LEFT")


def _line_table(sheet: InvoiceSheet, styles: dict[str, ParagraphStyle]) -> Table:
    body, right = styles["body"], styles["right"]
    head = [_("Kind"), _("Item"), _("Period"), _("Quantity"), _("Amount"), _("VAT")]
    rows = [[_p(text, right if n >= 3 else body) for n, text in enumerate(head)]]
    for line in sheet.lines:
        cells = (line.kind, line.description, line.period, line.quantity, line.amount, line.tax)
        rows.append([_p(text, right if n >= 3 else body) for n, text in enumerate(cells)])
    widths = [22 * mm, 52 * mm, 42 * mm, 18 * mm, 24 * mm, 22 * mm]
    style = [*GRID, ("LINEBELOW", (0, 0), (-1, 0), 0.75, colors.black)]
    # repeatRows: a long invoice carries the column heads onto every page.
    return Table(rows, colWidths=widths, repeatRows=1, style=TableStyle(style), hAlign="LEFT")


def _credit_table(sheet: InvoiceSheet, styles: dict[str, ParagraphStyle]) -> Table:
    body, right = styles["body"], styles["right"]
    rows = [[_p(_("Date"), body), _p(_("Amount"), right), _p(_("Reason"), body)]]
    rows += [[_p(c.at, body), _p(c.amount, right), _p(c.reason, body)] for c in sheet.credits]
    widths = [35 * mm, 28 * mm, 117 * mm]
    return Table(rows, colWidths=widths, repeatRows=1, style=TableStyle(GRID), hAlign="LEFT")


def _story(sheet: InvoiceSheet) -> list[Flowable]:
    styles = _styles()
    story: list[Flowable] = [
        _p(sheet.title, styles["title"]),
        _p(sheet.status_label, styles["heading"]),
        Spacer(0, 4 * mm),
        _facts(sheet.parties + sheet.dates, styles, [45 * mm, 135 * mm]),
        _p(_("Lines"), styles["heading"]),
        _line_table(sheet, styles),
        Spacer(0, 4 * mm),
        _facts(sheet.totals, styles, [45 * mm, 35 * mm], value="right"),
    ]
    if sheet.credits:
        story += [_p(_("Credit notes"), styles["heading"]), _credit_table(sheet, styles)]
    story += [Spacer(0, 4 * mm), _p(sheet.note, styles["small"])]
    return story


def _footer(title: str) -> Callable[[Canvas, SimpleDocTemplate], None]:
    def draw(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 8)
        text = _("%(title)s · page %(n)d", title=title, n=doc.page)
        canvas.drawRightString(A4[0] - doc.rightMargin, 10 * mm, text)
        canvas.restoreState()

    return draw


def invoice_pdf(sheet: InvoiceSheet) -> bytes:
    """Render an invoice sheet as a PDF of A4 pages."""
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=18 * mm,
        title=sheet.title,
        author="Yunshi",
    )
    footer = _footer(sheet.title)
    doc.build(_story(sheet), onFirstPage=footer, onLaterPages=footer)
    return out.getvalue()
