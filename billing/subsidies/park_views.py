"""Park admins define and run subsidy programs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from billing.subsidies import program_reads, programs
from billing.subsidies.models import SubsidyProgram
from billing.subsidies.park_forms import (
    ENROLLMENT_LABELS,
    LEGAL_FORM_LABELS,
    SIZE_LABELS,
    DetailsForm,
    PolicyForm,
    ProgramForm,
    RuleChoices,
    RulesForm,
    apply_form_errors,
)
from billing.subsidies.programs import ProgramAction
from billing.subsidies.rules_form_data import (
    cap_from_form,
    details_from_form,
    form_from_details,
    form_from_rules,
    percent_text,
    program_from_form,
    revision_from_form,
    starting_rules,
    yuan_text,
)
from marketplace.clock import current_clock, market_day
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.firms.forms import local_name
from marketplace.forms import ConfirmForm
from marketplace.orgs.context import acting_org, current_actor, require_org
from marketplace.orgs.roles import MANAGER_ROLES

bp = Blueprint("subsidy_park", __name__)

MANAGERS = MANAGER_ROLES
STATUS_LABELS = {
    "draft": _l("Draft"),
    "active": lazy_pgettext("subsidy program", "Active"),
    "paused": _l("Paused"),
    "closed": _l("Closed"),
}
STATUS_BADGES = {"draft": "secondary", "active": "success", "paused": "warning", "closed": "dark"}
DONE = {
    ProgramAction.ACTIVATE: _l("The program is active: it grants from now on."),
    ProgramAction.PAUSE: _l("The program is paused: it grants nothing until resumed."),
    ProgramAction.RESUME: _l("The program is active again."),
    ProgramAction.CLOSE: _l("The program is closed."),
}


def percent(rate: Any) -> str:
    """Show a stored rate ("0.35") as 35%."""
    return f"{percent_text(rate)}%"


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "MANAGERS": MANAGERS,
        "STATUS_LABELS": STATUS_LABELS,
        "STATUS_BADGES": STATUS_BADGES,
        "ENROLLMENT_LABELS": ENROLLMENT_LABELS,
        "SIZE_LABELS": SIZE_LABELS,
        "LEGAL_FORM_LABELS": LEGAL_FORM_LABELS,
        "percent": percent,
    }


def _form_page(template: str, form: FlaskForm, **context: Any) -> tuple[str, int]:
    """Render a form page, answering 422 when the submitted form was refused."""
    refused = bool(form.form_errors) or any(_has_errors(field) for field in form)
    html = render_template(f"billing/subsidies/park/{template}", form=form, **context)
    return html, 422 if refused else 200


def _has_errors(field: Any) -> bool:
    """Say whether a field, or any field inside a list or subform, has errors."""
    errors = field.errors
    if isinstance(errors, dict):
        return any(errors.values())
    return any(item if not isinstance(item, dict) else any(item.values()) for item in errors)


def rule_choices(stored: dict[str, Any] | None = None) -> RuleChoices:
    """Return what the rules form offers, in the reader's language, keeping stored picks."""
    options = program_reads.rule_options(db.session(), current_clock())
    return RuleChoices(
        categories=[(c.id, local_name(c)) for c in options.categories],
        listings=[(listing.id, local_name(version)) for listing, version in options.listings],
        vendors=[(vendor.id, vendor.name) for vendor in options.vendors],
        industries=[(rule.code, local_name(rule)) for rule in options.industries],
    ).keeping(stored)


@bp.get("/park/subsidies")
@require_org("park", allow_suspended=True)
def programs_page() -> str:
    """List the park's programs with what each has used of its budget."""
    session = db.session()
    return render_template(
        "billing/subsidies/park/list.html",
        summaries=program_reads.park_programs(session, acting_org().id),
        year_cap_fen=program_reads.park_policy(session, acting_org().id),
    )


@bp.route("/park/subsidies/new", methods=["GET", "POST"])
@require_org("park", roles=MANAGERS)
def new_program() -> tuple[str, int] | Response:
    """Define a new program; it starts as a draft with version 1 of its rules."""
    today = market_day(current_clock().now())
    form = ProgramForm(data={**form_from_rules(starting_rules(today)), "enrollment": "application"})
    form.offer_choices(rule_choices())
    if form.validate_on_submit():
        try:
            details, rules = program_from_form(form.data)
            program = programs.create_program(
                db.session(),
                current_clock(),
                current_actor(),
                acting_org().id,
                details.name,
                details.description,
                details.enrollment,
                details.budget_fen,
                rules,
            )
        except ValidationFailed as error:
            apply_form_errors(form, error)
        else:
            flash(_("The program is saved as a draft. Activate it when it is ready."), "success")
            return redirect(url_for("subsidy_park.program_page", program_id=program.id))
    return _form_page("new.html", form)


@bp.get("/park/subsidies/<int:program_id>")
@require_org("park", allow_suspended=True)
def program_page(program_id: int) -> str:
    """Show a program: its status, budget, versions and the rules in force."""
    detail = program_reads.program_detail(
        db.session(), acting_org().id, program_id, current_clock().now()
    )
    stored = detail.in_force.rules if detail.in_force else None
    return render_template(
        "billing/subsidies/park/detail.html",
        detail=detail,
        labels=_labels(rule_choices(stored)),
        now=current_clock().now(),
        form=ConfirmForm(),
    )


def _labels(choices: RuleChoices) -> dict[str, dict[Any, str]]:
    """Return the names of what rules may pick, by kind and value, for showing rules."""
    return {
        "categories": dict(choices.categories),
        "listings": dict(choices.listings),
        "vendors": {**dict(choices.vendors), **{str(k): v for k, v in choices.vendors}},
        "industries": dict(choices.industries),
    }


@bp.route("/park/subsidies/<int:program_id>/rules", methods=["GET", "POST"])
@require_org("park", roles=MANAGERS)
def edit_rules(program_id: int) -> tuple[str, int] | Response:
    """Write the next version of a program's rules, in force now or from a later moment."""
    detail = program_reads.program_detail(
        db.session(), acting_org().id, program_id, current_clock().now()
    )
    form = RulesForm(data=form_from_rules(detail.newest.rules))
    form.offer_choices(rule_choices(detail.newest.rules))
    if form.validate_on_submit():
        try:
            takes_effect_at, rules = revision_from_form(form.data)
            version = programs.revise_program(
                db.session(),
                current_clock(),
                current_actor(),
                acting_org().id,
                program_id,
                rules,
                takes_effect_at,
            )
        except ValidationFailed as error:
            apply_form_errors(form, error)
        else:
            flash(_("Version %(number)d of the rules is saved.", number=version.version), "success")
            return redirect(url_for("subsidy_park.program_page", program_id=program_id))
    return _form_page("rules.html", form, detail=detail)


@bp.route("/park/subsidies/<int:program_id>/edit", methods=["GET", "POST"])
@require_org("park", roles=MANAGERS)
def edit_details(program_id: int) -> tuple[str, int] | Response:
    """Change a program's name, description, enrollment mode and budget."""
    detail = program_reads.program_detail(
        db.session(), acting_org().id, program_id, current_clock().now()
    )
    program = detail.program
    form = DetailsForm(data=_details_data(program))
    if form.validate_on_submit():
        try:
            details = details_from_form(form.data)
            programs.update_details(
                db.session(),
                current_clock(),
                current_actor(),
                acting_org().id,
                program_id,
                details.name,
                details.description,
                details.enrollment,
                details.budget_fen,
            )
        except ValidationFailed as error:
            apply_form_errors(form, error)
        else:
            flash(_("The program's details are saved."), "success")
            return redirect(url_for("subsidy_park.program_page", program_id=program_id))
    return _form_page("edit.html", form, detail=detail)


def _details_data(program: SubsidyProgram) -> dict[str, Any]:
    """Return the data that fills the details form of a program."""
    return form_from_details(
        program.name, program.description, program.enrollment, program.budget_fen
    )


def _status_change(program_id: int, action: ProgramAction) -> Response:
    """Move a program's status and go back to its page."""
    programs.change_status(
        db.session(), current_clock(), current_actor(), acting_org().id, program_id, action
    )
    flash(str(DONE[action]), "success")
    return redirect(url_for("subsidy_park.program_page", program_id=program_id))


# Button-only posts carry ConfirmForm's token; CSRFProtect checks it app-wide.
@bp.post("/park/subsidies/<int:program_id>/activate")
@require_org("park", roles=MANAGERS)
def activate(program_id: int) -> Response:
    """Start a draft program granting."""
    return _status_change(program_id, ProgramAction.ACTIVATE)


@bp.post("/park/subsidies/<int:program_id>/pause")
@require_org("park", roles=MANAGERS)
def pause(program_id: int) -> Response:
    """Stop an active program granting for a while."""
    return _status_change(program_id, ProgramAction.PAUSE)


@bp.post("/park/subsidies/<int:program_id>/resume")
@require_org("park", roles=MANAGERS)
def resume(program_id: int) -> Response:
    """Let a paused program grant again."""
    return _status_change(program_id, ProgramAction.RESUME)


@bp.route("/park/subsidies/<int:program_id>/close", methods=["GET", "POST"])
@require_org("park", roles=MANAGERS)
def close(program_id: int) -> str | Response:
    """Ask before closing a program for good; close it on the confirming post."""
    form = ConfirmForm()
    if form.validate_on_submit():
        return _status_change(program_id, ProgramAction.CLOSE)
    detail = program_reads.program_detail(
        db.session(), acting_org().id, program_id, current_clock().now()
    )
    return render_template("billing/subsidies/park/close.html", detail=detail, form=form)


@bp.get("/park/subsidies/policy")
@require_org("park", allow_suspended=True)
def policy_page() -> str:
    """Show the park's cap on a firm's subsidy per calendar year."""
    cap = program_reads.park_policy(db.session(), acting_org().id)
    form = PolicyForm(data={"firm_year_cap": yuan_text(cap)})
    return render_template("billing/subsidies/park/policy.html", form=form, cap=cap)


@bp.post("/park/subsidies/policy")
@require_org("park", roles=MANAGERS)
def save_policy() -> tuple[str, int] | Response:
    """Set or lift the park's cap on a firm's subsidy per calendar year."""
    form = PolicyForm()
    if form.validate_on_submit():
        try:
            programs.set_park_policy(
                db.session(),
                current_clock(),
                current_actor(),
                acting_org().id,
                cap_from_form(form.firm_year_cap.data),
            )
        except ValidationFailed as error:
            apply_form_errors(form, error)
        else:
            flash(_("The park's cap is saved."), "success")
            return redirect(url_for("subsidy_park.programs_page"))
    cap = program_reads.park_policy(db.session(), acting_org().id)
    return _form_page("policy.html", form, cap=cap)
