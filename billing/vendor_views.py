"""The vendor console's billing pages: subscribers, and monthly statements with CSV export."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from flask import Blueprint, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from billing.services import statements
from billing.services.subscriptions import subscription_of_vendor
from billing.services.vendor_reads import period_usage
from billing.spreadsheets import guard_text
from billing.statements import Statement, parse_month
from marketplace.clock import current_clock, local_time_text
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.orgs.context import acting_org, require_org
from marketplace.orgs.models import OrgKind, Role

bp = Blueprint("billing_vendor", __name__, url_prefix="/vendor")

FINANCE_ROLES = (Role.OWNER.value, Role.ADMIN.value, Role.BILLING.value)


def _commission_rate() -> Decimal:
    rate: Decimal = current_app.config["SETTINGS"].commission_rate
    return rate


@bp.get("/subscribers")
@require_org(OrgKind.VENDOR.value, allow_suspended=True)
def subscribers_page() -> ResponseReturnValue:
    """List the firms subscribed to the vendor's listings (or its sandbox's test firms)."""
    sandbox = request.args.get("mode") == "sandbox"
    rows = statements.subscribers_of(db.session(), acting_org().id, sandbox=sandbox)
    return render_template("billing/vendor/subscribers.html", rows=rows, sandbox=sandbox)


@bp.get("/subscribers/<int:subscription_id>")
@require_org(OrgKind.VENDOR.value, allow_suspended=True)
def subscriber_page(subscription_id: int) -> ResponseReturnValue:
    """Show one subscriber: plan, seats, and the current period's usage so far."""
    sandbox = request.args.get("mode") == "sandbox"
    vendor_id = acting_org().id
    subscription = subscription_of_vendor(db.session(), vendor_id, subscription_id, sandbox=sandbox)
    usage = period_usage(db.session(), vendor_id, sandbox, subscription_id)
    return render_template(
        "billing/vendor/subscriber.html", s=subscription, usage=usage, sandbox=sandbox
    )


@bp.get("/statements")
@require_org(OrgKind.VENDOR.value, roles=FINANCE_ROLES, allow_suspended=True)
def statements_page() -> ResponseReturnValue:
    """Show the last twelve months' gross, commission and net."""
    recent = statements.recent_statements(
        db.session(), acting_org().id, current_clock().now(), _commission_rate()
    )
    return render_template("billing/vendor/statements.html", statements=recent)


def _statement(month_text: str) -> Statement:
    try:
        month = parse_month(month_text)
    except ValueError:
        raise NotFound(_("No such month.")) from None
    return statements.statement_for(db.session(), acting_org().id, month, _commission_rate())


@bp.get("/statement")
@require_org(OrgKind.VENDOR.value, roles=FINANCE_ROLES, allow_suspended=True)
def statement_page() -> ResponseReturnValue:
    """Show one month's statement (?month=YYYY-MM), entry by entry."""
    statement = _statement(request.args.get("month", ""))
    return render_template("billing/vendor/statement.html", statement=statement)


@bp.get("/statement.csv")
@require_org(OrgKind.VENDOR.value, roles=FINANCE_ROLES, allow_suspended=True)
def statement_csv() -> ResponseReturnValue:
    """Export one month's statement as CSV (UTF-8 with a byte-order mark, for spreadsheets)."""
    statement = _statement(request.args.get("month", ""))
    return Response(
        "\ufeff" + statement_csv_text(statement),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=statement-{statement.month}.csv"},
    )


def statement_csv_text(statement: Statement) -> str:
    """Write a statement as CSV: one row per entry, then the three totals."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["kind", "reference", "firm", "at_beijing_time", "amount_yuan"])
    for entry in statement.entries:
        writer.writerow(
            [
                entry.kind,
                entry.reference,
                guard_text(entry.firm_name),
                local_time_text(entry.at),
                _yuan(entry.amount_fen),
            ]
        )
    writer.writerow(["gross", "", "", "", _yuan(statement.gross_fen)])
    writer.writerow(
        [f"commission@{statement.commission_rate}", "", "", "", _yuan(-statement.commission_fen)]
    )
    writer.writerow(["net", "", "", "", _yuan(statement.net_fen)])
    return out.getvalue()


def _yuan(amount_fen: int) -> str:
    """Write fen as yuan with two decimals and no currency sign, for spreadsheets."""
    return f"{Decimal(amount_fen) / 100:.2f}"
