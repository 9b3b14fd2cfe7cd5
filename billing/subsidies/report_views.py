"""Park admins follow how their subsidy budget is spent, and export it."""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from datetime import date
from typing import Any

import pygal
from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from pygal.style import Style
from werkzeug.wrappers import Response as BaseResponse

from billing.charts import CHART_STYLE, HEIGHT, WIDTH
from billing.statements import Month, parse_month
from billing.subsidies import exports, reports
from billing.subsidies.exports import ExportRequest
from billing.subsidies.reports import BurnDownDay
from marketplace.clock import MARKET_TIME_ZONE, current_clock
from marketplace.errors import AppError, NotFound
from marketplace.extensions import db
from marketplace.orgs.context import acting_org, current_actor, require_org

bp = Blueprint("subsidy_reports", __name__)

PARK = "park"
TOP_LIMIT = 10
STATUS_LABELS = exports.STATUS_LABELS
STATUS_BADGES = {"reserved": "warning", "confirmed": "success", "released": "secondary"}
ENTRY_LABELS = exports.ENTRY_LABELS
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ID = re.compile(r"[1-9][0-9]{0,17}")
# Burn-down colours: confirmed (green), reserved (amber), remaining (Bootstrap blue).
BURN_DOWN_STYLE = Style(**{**CHART_STYLE.to_dict(), "colors": ("#198754", "#ffc107", "#0d6efd")})


class BadQueryArgument(AppError):
    """A query argument of a report or export cannot be read; `argument` names it."""

    status = 400
    code = "bad_query_argument"
    title = "Bad query argument"

    def __init__(self, argument: str, reason: str) -> None:
        super().__init__(f"{argument}: {reason}", argument=argument)


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "STATUS_LABELS": STATUS_LABELS,
        "STATUS_BADGES": STATUS_BADGES,
        "ENTRY_LABELS": ENTRY_LABELS,
    }


# Reading query arguments --------------------------------------------------------------------


def id_arg(name: str) -> int | None:
    """Read an optional positive id from the query string."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if _ID.fullmatch(raw) is None:
        raise BadQueryArgument(name, _("must be a positive whole number"))
    return int(raw)


def day_arg(name: str) -> date | None:
    """Read an optional day written YYYY-MM-DD from the query string."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        if _DAY.fullmatch(raw) is None:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise BadQueryArgument(name, _("must be a day written YYYY-MM-DD")) from None


def month_arg(name: str) -> tuple[int, int]:
    """Read a required month written YYYY-MM from the query string."""
    try:
        month = parse_month(request.args.get(name, "").strip())
    except ValueError:
        raise BadQueryArgument(name, _("is required, written YYYY-MM")) from None
    return month.year, month.month


def limit_arg(name: str, default: int) -> int:
    """Read an optional count from 1 to 100 from the query string."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise BadQueryArgument(name, _("must be a whole number from 1 to 100"))
    return int(raw)


def export_request(kind: str, fmt: str) -> ExportRequest:
    """Read the filters an export of a kind takes; refuse, naming it, an argument unread."""
    if kind == "statement":
        return ExportRequest(kind, fmt, month=month_arg("month"))
    since, until = day_arg("from"), day_arg("until")
    if since and until and until < since:
        raise BadQueryArgument("until", _("must not be before from"))
    program_id = id_arg("program")
    if kind == "announcement":
        return ExportRequest(kind, fmt, program_id=program_id, since=since, until=until)
    return ExportRequest(
        kind,
        fmt,
        program_id=program_id,
        firm_id=id_arg("firm"),
        vendor_id=id_arg("vendor"),
        since=since,
        until=until,
    )


# The chart ----------------------------------------------------------------------------------


def burn_down_chart(days: Sequence[BurnDownDay]) -> str:
    """Return a data: URI of a line chart of confirmed, reserved and remaining yuan per day.

    Embedded as an image, as billing.charts explains, so the page's CSP stays strict.
    """
    chart = pygal.Line(
        width=WIDTH,
        height=HEIGHT + 60,
        style=BURN_DOWN_STYLE,
        js=[],
        disable_xml_declaration=True,
        x_label_rotation=-45,
        show_minor_x_labels=False,
        x_labels_major_every=max(len(days) // 10, 1),
        show_dots=len(days) <= 31,
        legend_at_bottom=True,
        margin=12,
    )
    chart.x_labels = [day.day.strftime("%m-%d") for day in days]
    chart.add(_("Confirmed"), [day.confirmed_fen / 100 for day in days])
    chart.add(_("Reserved"), [day.reserved_fen / 100 for day in days])
    chart.add(_("Remaining"), [day.remaining_fen / 100 for day in days])
    svg = chart.render(is_unicode=True).encode()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


# Pages --------------------------------------------------------------------------------------


@bp.get("/park/subsidies/overview")
@require_org(PARK, allow_suspended=True)
def overview() -> str:
    """Show every program's budget: reserved, confirmed, remaining, share used, alerts."""
    session = db.session()
    park_id = acting_org().id
    return render_template(
        "billing/subsidies/reports/overview.html",
        programs=reports.park_overview(session, park_id),
        this_month=current_clock().now().astimezone(MARKET_TIME_ZONE),
    )


@bp.get("/park/subsidies/<int:program_id>/burn-down")
@require_org(PARK, allow_suspended=True)
def burn_down(program_id: int) -> str:
    """Show a program's budget day by day, as a chart and as a table."""
    series = reports.burn_down(db.session(), current_clock(), acting_org().id, program_id)
    return render_template(
        "billing/subsidies/reports/burn_down.html",
        burn=series,
        chart=burn_down_chart(series.days),
    )


@bp.get("/park/subsidies/top")
@require_org(PARK, allow_suspended=True)
def top() -> str:
    """Show the firms and vendors holding the most live subsidy."""
    limit = limit_arg("limit", TOP_LIMIT)
    session, park_id = db.session(), acting_org().id
    return render_template(
        "billing/subsidies/reports/top.html",
        firms=reports.top_firms(session, park_id, limit),
        vendors=reports.top_vendors(session, park_id, limit),
        limit=limit,
    )


@bp.get("/park/subsidies/firms/<int:firm_id>")
@require_org(PARK, allow_suspended=True)
def firm_page(firm_id: int) -> str:
    """Show a firm's grants from the park's programs, per invoice."""
    detail = reports.firm_detail(db.session(), acting_org().id, firm_id)
    return render_template(
        "billing/subsidies/reports/party.html", detail=detail, party="firm", filter_arg="firm"
    )


@bp.get("/park/subsidies/vendors/<int:vendor_id>")
@require_org(PARK, allow_suspended=True)
def vendor_page(vendor_id: int) -> str:
    """Show the park's grants on a vendor's sales, per invoice."""
    detail = reports.vendor_detail(db.session(), acting_org().id, vendor_id)
    return render_template(
        "billing/subsidies/reports/party.html", detail=detail, party="vendor", filter_arg="vendor"
    )


@bp.get("/park/subsidies/statements")
@require_org(PARK, allow_suspended=True)
def current_statement() -> BaseResponse:
    """Send the reader to this month's statement."""
    now = current_clock().now().astimezone(MARKET_TIME_ZONE)
    return redirect(url_for(".statement", year=now.year, month=now.month))


@bp.get("/park/subsidies/statements/<int:year>/<int:month>")
@require_org(PARK, allow_suspended=True)
def statement(year: int, month: int) -> str:
    """Show what the park owes the marketplace for a month's paid subsidies."""
    found = reports.monthly_statement(db.session(), acting_org().id, year, month)
    period = found.month
    after = (
        Month(period.year + 1, 1) if period.month == 12 else Month(period.year, period.month + 1)
    )
    return render_template(
        "billing/subsidies/reports/statement.html",
        statement=found,
        before=period.previous(),
        after=after,
    )


@bp.get("/park/subsidies/exports/<kind>.<fmt>")
@require_org(PARK, allow_suspended=True)
def export(kind: str, fmt: str) -> Response:
    """Download a report as CSV or XLSX; the download is recorded in the audit log."""
    if kind not in exports.KINDS or fmt not in exports.FORMATS:
        raise NotFound(_("No such export."))
    wanted = export_request(kind, fmt)
    park = acting_org()
    made = exports.export_file(
        db.session(), current_clock(), current_actor(), park.id, park.name, wanted
    )
    return Response(
        made.data,
        mimetype=made.mimetype,
        headers={
            "Content-Disposition": exports.attachment_header(made.ascii_name, made.name),
            "Cache-Control": "no-store",
        },
    )
