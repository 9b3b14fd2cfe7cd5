"""Firms join subsidy programs; park admins decide on applications; the operator flags 严重失信."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from billing.subsidies import credit_flag, enrollment, enrollment_park
from billing.subsidies.enrollment import NotEligible
from billing.subsidies.enrollment_forms import ApplyForm, CreditFlagForm, RejectApplicationForm
from billing.subsidies.enrollment_labels import STATUS_BADGES, STATUS_LABELS
from billing.subsidies.enrollment_received import received_against_caps
from billing.subsidies.park_forms import LEGAL_FORM_LABELS, SIZE_LABELS
from catalog.search import page_number
from marketplace.clock import current_clock
from marketplace.console.services import ACTING_ROLES
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import ConfirmForm, apply_errors
from marketplace.orgs.context import acting_org, current_actor, require_org
from marketplace.orgs.models import OrgKind
from marketplace.orgs.roles import MANAGER_ROLES

bp = Blueprint("subsidy_enrollment", __name__)

MANAGERS = MANAGER_ROLES
OPERATOR = OrgKind.OPERATOR.value


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "MANAGERS": MANAGERS,
        "ENROLLMENT_STATUS_LABELS": STATUS_LABELS,
        "ENROLLMENT_STATUS_BADGES": STATUS_BADGES,
        "SIZE_LABELS": SIZE_LABELS,
        "LEGAL_FORM_LABELS": LEGAL_FORM_LABELS,
    }


def _form_page(template: str, form: FlaskForm, **context: Any) -> tuple[str, int]:
    """Render a form page, answering 422 when the submitted form was refused."""
    refused = bool(form.form_errors) or any(field.errors for field in form)
    html = render_template(f"billing/subsidies/{template}", form=form, **context)
    return html, 422 if refused else 200


def _flash_unmet(error: NotEligible) -> None:
    """Show each rule the firm does not meet as its own message."""
    for sentence in error.sentences:
        flash(sentence, "danger")


# The firm's side ---------------------------------------------------------------------------


@bp.get("/firm/subsidies")
@require_org("sme", allow_suspended=True)
def firm_programs() -> str:
    """List the programs the firm may join and why not, and what it has received so far."""
    session, now = db.session(), current_clock().now()
    return render_template(
        "billing/subsidies/firm/programs.html",
        choices=enrollment.programs_for_firm(session, acting_org().id, now),
        received=received_against_caps(session, acting_org().id, now),
        form=ConfirmForm(),
    )


@bp.route("/firm/subsidies/<int:program_id>/apply", methods=["GET", "POST"])
@require_org("sme", roles=MANAGERS)
def apply(program_id: int) -> tuple[str, int] | Response:
    """Apply to a program, with an optional message to the park."""
    session, clock = db.session(), current_clock()
    choice = enrollment.program_for_firm(session, acting_org().id, program_id, clock.now())
    form = ApplyForm()
    if form.validate_on_submit():
        try:
            enrollment.apply(
                session, clock, current_actor(), acting_org().id, program_id, form.message.data
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        except NotEligible as error:
            form.form_errors.extend(error.sentences)
        else:
            flash(
                _("Your application has been sent to %(park)s.", park=choice.park.name), "success"
            )
            return redirect(url_for(".firm_programs"))
    return _form_page("firm/apply.html", form, choice=choice)


# Button-only posts carry ConfirmForm's token; CSRFProtect checks it app-wide.
@bp.post("/firm/subsidies/<int:program_id>/withdraw")
@require_org("sme", roles=MANAGERS)
def withdraw(program_id: int) -> Response:
    """Take back the firm's pending application."""
    enrollment.withdraw(db.session(), current_clock(), current_actor(), acting_org().id, program_id)
    flash(_("Your application has been withdrawn."), "success")
    return redirect(url_for(".firm_programs"))


@bp.post("/firm/subsidies/<int:program_id>/join")
@require_org("sme", roles=MANAGERS)
def join(program_id: int) -> Response:
    """Join an automatic program now."""
    try:
        enrollment.join(db.session(), current_clock(), current_actor(), acting_org().id, program_id)
    except NotEligible as error:
        _flash_unmet(error)
    else:
        flash(_("The firm has joined the program."), "success")
    return redirect(url_for(".firm_programs"))


# The park's side ---------------------------------------------------------------------------


@bp.get("/park/subsidies/applications")
@require_org("park", allow_suspended=True)
def applications() -> str:
    """List the applications to the park's programs, pending first."""
    return render_template(
        "billing/subsidies/applications/list.html",
        items=enrollment_park.applications(
            db.session(), acting_org().id, page_number(request.args.get("page"))
        ),
        form=ConfirmForm(),
    )


@bp.post("/park/subsidies/applications/<int:enrollment_id>/approve")
@require_org("park", roles=MANAGERS)
def approve(enrollment_id: int) -> Response:
    """Enroll the firm, if it meets every rule of the program now."""
    try:
        enrollment_park.approve(
            db.session(), current_clock(), current_actor(), acting_org().id, enrollment_id
        )
    except NotEligible as error:
        flash(_("The firm cannot be enrolled:"), "danger")
        _flash_unmet(error)
    else:
        flash(_("The firm is enrolled in the program."), "success")
    return redirect(url_for(".applications"))


@bp.route("/park/subsidies/applications/<int:enrollment_id>/reject", methods=["GET", "POST"])
@require_org("park", roles=MANAGERS)
def reject(enrollment_id: int) -> tuple[str, int] | Response:
    """Turn an application down with a reason."""
    item = enrollment_park.application(db.session(), acting_org().id, enrollment_id)
    form = RejectApplicationForm()
    if form.validate_on_submit():
        try:
            enrollment_park.reject(
                db.session(),
                current_clock(),
                current_actor(),
                acting_org().id,
                enrollment_id,
                form.reason.data or "",
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("The application has been rejected."), "success")
            return redirect(url_for(".applications"))
    return _form_page("applications/reject.html", form, item=item)


@bp.get("/park/subsidies/<int:program_id>/firms")
@require_org("park", allow_suspended=True)
def program_firms(program_id: int) -> str:
    """List the firms enrolled in one of the park's programs."""
    page = page_number(request.args.get("page"))
    found = enrollment_park.enrolled_firms(db.session(), acting_org().id, program_id, page)
    return render_template("billing/subsidies/applications/firms.html", found=found)


# The operator's credit flag ----------------------------------------------------------------


@bp.get("/operator/firms/<int:firm_id>/credit-flag")
@require_org(OPERATOR)
def credit_flag_page(firm_id: int) -> tuple[str, int]:
    """Show a firm's 严重失信 flag, with the form to change it."""
    profile = credit_flag.firm_credit(db.session(), current_actor(), firm_id)
    form = CreditFlagForm(flagged=profile.seriously_dishonest, note=profile.dishonest_note)
    return _form_page("firm/credit_flag.html", form, profile=profile)


@bp.post("/operator/firms/<int:firm_id>/credit-flag")
@require_org(OPERATOR, roles=ACTING_ROLES)
def change_credit_flag(firm_id: int) -> tuple[str, int] | Response:
    """Flag a firm as seriously dishonest, or clear the flag."""
    profile = credit_flag.firm_credit(db.session(), current_actor(), firm_id)
    form = CreditFlagForm()
    if form.validate_on_submit():
        try:
            credit_flag.flag_dishonest(
                db.session(),
                current_clock(),
                current_actor(),
                firm_id,
                bool(form.flagged.data),
                form.note.data or "",
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("The firm's credit flag is saved."), "success")
            return redirect(url_for(".credit_flag_page", firm_id=firm_id))
    return _form_page("firm/credit_flag.html", form, profile=profile)
