"""Invoice pages: the firm's (HTML, PDF, CSV), the vendor's, and the operator's corrections."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SearchField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from billing.invoice_pdf import invoice_pdf, invoice_sheet, status_label
from billing.models import Invoice, InvoiceStatus
from billing.services import invoice_reads, invoices
from billing.services.invoice_reads import InvoiceRecord
from billing.spreadsheets import guard_text
from billing.views import service_name
from marketplace.clock import MARKET_TIME_ZONE, current_clock, local_time_text
from marketplace.console.forms import FilterForm, show_errors
from marketplace.errors import Conflict, ValidationFailed
from marketplace.extensions import db
from marketplace.forms import ConfirmForm
from marketplace.money import FEN_PER_YUAN, format_fen, parse_decimal
from marketplace.orgs.context import acting_membership, acting_org, current_actor, require_org
from marketplace.orgs.models import OrgKind
from marketplace.orgs.roles import MANAGER_ROLES

bp = Blueprint("invoices", __name__)
vendor_bp = Blueprint("invoices_vendor", __name__, url_prefix="/vendor")
operator_bp = Blueprint("billing_invoices_operator", __name__, url_prefix="/console/billing")

SME = OrgKind.SME.value
VENDOR = OrgKind.VENDOR.value
OPERATOR = OrgKind.OPERATOR.value
PAGE = "billing/invoice.html"
CSV_HEADER = [
    "number",
    "status",
    "period_start_beijing",
    "period_end_beijing",
    "subtotal_yuan",
    "vat_yuan",
    "total_yuan",
    "amount_due_yuan",
    "due_date",
    "finalized_at_beijing",
]


def _service(invoice: Invoice) -> str:
    return service_name(invoice.subscription.listing)


def _sheet_page(record: InvoiceRecord, viewer: str, **context: object) -> str:
    service = _service(record.invoice)
    return render_template(
        PAGE if viewer != "operator" else "billing/operator/invoice.html",
        invoice=record.invoice,
        sheet=invoice_sheet(record, service),
        service=service,
        viewer=viewer,
        **context,
    )


# --- The firm ----------------------------------------------------------------------------


@bp.get("/invoices")
@require_org(SME, allow_suspended=True)
def index() -> ResponseReturnValue:
    """List the firm's finalized invoices, of one subscription when asked."""
    session, org_id = db.session(), acting_org().id
    subscription_id = request.args.get("subscription", type=int)
    subscription = (
        invoice_reads.firm_subscription(session, org_id, subscription_id)
        if subscription_id
        else None
    )
    rows = invoice_reads.firm_invoices(session, org_id, subscription_id)
    return render_template(
        "billing/invoices.html",
        rows=rows,
        subscription_service=service_name(subscription.listing) if subscription else None,
        subscription_id=subscription_id,
        service_of=_service,
        status_label=status_label,
    )


@bp.get("/invoices/<int:invoice_id>")
@require_org(SME, allow_suspended=True)
def detail(invoice_id: int) -> ResponseReturnValue:
    """Show one of the firm's invoices."""
    record = invoice_reads.firm_invoice(db.session(), acting_org().id, invoice_id)
    return _sheet_page(record, "firm")


@bp.get("/invoices/<int:invoice_id>.pdf")
@require_org(SME, allow_suspended=True)
def pdf(invoice_id: int) -> ResponseReturnValue:
    """Send one of the firm's invoices as a PDF of A4 pages."""
    record = invoice_reads.firm_invoice(db.session(), acting_org().id, invoice_id)
    body = invoice_pdf(invoice_sheet(record, _service(record.invoice)))
    name = record.invoice.number or f"invoice-{record.invoice.id}"
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


@bp.get("/invoices.csv")
@require_org(SME, allow_suspended=True)
def export() -> ResponseReturnValue:
    """Export the firm's finalized invoices as CSV (UTF-8 with a byte-order mark)."""
    subscription_id = request.args.get("subscription", type=int)
    rows = invoice_reads.firm_invoices(db.session(), acting_org().id, subscription_id)
    return Response(
        "\ufeff" + invoices_csv_text(rows),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=invoices.csv"},
    )


def invoices_csv_text(rows: list[Invoice]) -> str:
    """Write invoices as CSV: one row each, amounts in yuan, times in Beijing time."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for invoice in rows:
        writer.writerow(
            [
                guard_text(invoice.number or ""),
                guard_text(invoice.status),
                local_time_text(invoice.period_start),
                local_time_text(invoice.period_end) if invoice.period_end else "",
                _yuan(invoice.subtotal_fen),
                _yuan(invoice.tax_fen),
                _yuan(invoice.total_fen),
                _yuan(invoice.amount_due_fen),
                invoice.due_at.astimezone(MARKET_TIME_ZONE).date().isoformat()
                if invoice.due_at
                else "",
                local_time_text(invoice.finalized_at) if invoice.finalized_at else "",
            ]
        )
    return out.getvalue()


def _yuan(amount_fen: int) -> str:
    """Write fen as yuan with two decimals and no currency sign, for spreadsheets."""
    return f"{Decimal(amount_fen) / FEN_PER_YUAN:.2f}"


# --- The vendor --------------------------------------------------------------------------


def _sandbox() -> bool:
    return request.args.get("mode") == "sandbox"


@vendor_bp.get("/invoices")
@require_org(VENDOR, allow_suspended=True)
def vendor_index() -> ResponseReturnValue:
    """List the finalized invoices of the vendor's subscriptions (or of its sandbox)."""
    sandbox = _sandbox()
    rows = invoice_reads.vendor_invoices(db.session(), acting_org().id, sandbox=sandbox)
    return render_template(
        "billing/vendor/invoices.html",
        rows=rows,
        sandbox=sandbox,
        service_of=_service,
        status_label=status_label,
    )


@vendor_bp.get("/invoices/<int:invoice_id>")
@require_org(VENDOR, allow_suspended=True)
def vendor_detail(invoice_id: int) -> ResponseReturnValue:
    """Show one invoice of the vendor's subscriptions."""
    sandbox = _sandbox()
    record = invoice_reads.vendor_invoice(
        db.session(), acting_org().id, invoice_id, sandbox=sandbox
    )
    return _sheet_page(record, "vendor", sandbox=sandbox)


# --- The operator ------------------------------------------------------------------------


class InvoiceSearchForm(FilterForm):
    """Search invoices by number or firm."""

    q = SearchField(_l("Invoice number or firm"), validators=[Optional(), Length(max=200)])


class CreditNoteForm(FlaskForm):
    """Take an amount in yuan off a finalized invoice, saying why."""

    amount = StringField(
        _l("Amount (yuan)"),
        validators=[InputRequired(_l("Enter an amount in yuan."))],
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    reason = TextAreaField(
        _l("Reason"),
        validators=[
            InputRequired(_l("Say why the invoice is corrected.")),
            Length(max=500, message=_l("Keep the reason under 500 characters.")),
        ],
    )
    left_fen = 0
    amount_fen = 0

    def within(self, left_fen: int) -> None:
        """Allow at most what is left to credit."""
        self.left_fen = left_fen

    def validate_amount(self, field: StringField) -> None:
        """Read yuan with at most two decimals as fen, positive and no more than is left."""
        try:
            yuan = parse_decimal(field.data or "")
        except ValueError:
            raise ValidationError(_("Enter an amount in yuan, such as 12.50.")) from None
        fen = yuan * FEN_PER_YUAN
        if fen != fen.to_integral_value():
            raise ValidationError(_("Use at most two decimals."))
        if fen <= 0:
            raise ValidationError(_("Credit a positive amount."))
        if fen > self.left_fen:
            left = format_fen(self.left_fen)
            raise ValidationError(_("At most %(left)s can still be credited.", left=left))
        self.amount_fen = int(fen)

    def validate_reason(self, field: TextAreaField) -> None:
        """Refuse a reason of blanks only."""
        if not (field.data or "").strip():
            raise ValidationError(_("Say why the invoice is corrected."))


def _can_act() -> bool:
    return acting_membership().role in MANAGER_ROLES


def _operator_page(
    invoice_id: int, credit_form: CreditNoteForm | None = None
) -> ResponseReturnValue:
    session = db.session()
    record = invoice_reads.operator_invoice(session, current_actor(), invoice_id)
    left = invoice_reads.creditable_fen(session, record.invoice)
    if credit_form is None:
        credit_form = CreditNoteForm(prefix="credit", formdata=None)
    html = _sheet_page(
        record,
        "operator",
        left_fen=left,
        credit_form=credit_form,
        confirm_form=ConfirmForm(),
        can_act=_can_act(),
        can_void=record.invoice.status in (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE),
        can_give_up=record.invoice.status == InvoiceStatus.OPEN,
    )
    refused = bool(credit_form.errors) or bool(credit_form.form_errors)
    return html, 422 if refused else 200


@operator_bp.get("/invoices")
@require_org(OPERATOR)
def operator_index() -> ResponseReturnValue:
    """Search every invoice by number or firm, latest first."""
    form = InvoiceSearchForm(formdata=request.args)
    if not form.validate():
        return render_template("billing/operator/invoices.html", form=form, result=None), 422
    result = invoice_reads.search_invoices(
        db.session(),
        current_actor(),
        query=form.q.data,
        page=request.args.get("page", 1, type=int) or 1,
    )
    return render_template(
        "billing/operator/invoices.html", form=form, result=result, status_label=status_label
    )


@operator_bp.get("/invoices/<int:invoice_id>")
@require_org(OPERATOR)
def operator_detail(invoice_id: int) -> ResponseReturnValue:
    """Show any invoice, with the corrections the operator may make."""
    return _operator_page(invoice_id)


def _back(invoice_id: int) -> ResponseReturnValue:
    return redirect(url_for(".operator_detail", invoice_id=invoice_id))


def _refused(invoice_id: int, error: Conflict) -> ResponseReturnValue:
    db.session.expire_all()  # the services refuse before they change anything
    flash(error.detail or _("This invoice cannot make that move now."), "danger")
    return _back(invoice_id)


@operator_bp.post("/invoices/<int:invoice_id>/void")
@require_org(OPERATOR, roles=MANAGER_ROLES)
def void(invoice_id: int) -> ResponseReturnValue:
    """Void an invoice that should never have been owed."""
    session = db.session()
    record = invoice_reads.operator_invoice(session, current_actor(), invoice_id, acting=True)
    try:
        invoices.void_invoice(session, current_clock(), current_actor(), record.invoice)
    except Conflict as error:
        return _refused(invoice_id, error)
    flash(_("The invoice is void."), "success")
    return _back(invoice_id)


@operator_bp.post("/invoices/<int:invoice_id>/uncollectible")
@require_org(OPERATOR, roles=MANAGER_ROLES)
def give_up(invoice_id: int) -> ResponseReturnValue:
    """Mark an open invoice uncollectible."""
    session = db.session()
    record = invoice_reads.operator_invoice(session, current_actor(), invoice_id, acting=True)
    try:
        invoices.mark_uncollectible(session, current_clock(), current_actor(), record.invoice)
    except Conflict as error:
        return _refused(invoice_id, error)
    flash(_("The invoice is marked uncollectible."), "success")
    return _back(invoice_id)


@operator_bp.post("/invoices/<int:invoice_id>/credit-notes")
@require_org(OPERATOR, roles=MANAGER_ROLES)
def credit(invoice_id: int) -> ResponseReturnValue:
    """Issue a credit note that takes an amount off a finalized invoice."""
    session = db.session()
    record = invoice_reads.operator_invoice(session, current_actor(), invoice_id, acting=True)
    form = CreditNoteForm(prefix="credit")
    form.within(invoice_reads.creditable_fen(session, record.invoice))
    if not form.validate_on_submit():
        return _operator_page(invoice_id, form)
    try:
        invoices.create_credit_note(
            session,
            current_clock(),
            current_actor(),
            record.invoice,
            form.amount_fen,
            form.reason.data or "",
        )
    except ValidationFailed as error:
        show_errors(form, _renamed(error))
        return _operator_page(invoice_id, form)
    except Conflict as error:
        return _refused(invoice_id, error)
    flash(_("The credit note is issued."), "success")
    return _back(invoice_id)


def _renamed(error: ValidationFailed) -> ValidationFailed:
    """Put the service's errors on the form's fields (the form asks for yuan, not fen)."""
    names = {"amount_fen": "amount"}
    return ValidationFailed({names.get(k, k): v for k, v in error.errors.items()})
