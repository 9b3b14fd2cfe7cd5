"""Pages of the firms part: registration, the firm profile, parks for firms and for parks."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from marketplace.accounts.access import require_confirmed
from marketplace.accounts.errors import EmailNotConfirmed
from marketplace.clock import current_clock
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.firms import services
from marketplace.firms.forms import (
    FirmForm,
    JoinParkForm,
    RejectRequestForm,
    local_name,
)
from marketplace.firms.regions import region_by_code
from marketplace.forms import ConfirmForm, apply_errors
from marketplace.money import fen_to_wan
from marketplace.orgs.context import acting_org, choose_acting_org, current_actor, require_org
from marketplace.orgs.roles import MANAGER_ROLES

bp = Blueprint("firms", __name__)

MANAGERS = MANAGER_ROLES
# "Small" alone is ambiguous to a translator: the context says it is a size class (小型).
SIZE_LABELS = {
    "large": lazy_pgettext("size class", "Large"),
    "medium": lazy_pgettext("size class", "Medium"),
    "small": lazy_pgettext("size class", "Small"),
    "micro": lazy_pgettext("size class", "Micro"),
}
INDICATOR_LABELS = {
    "staff": _l("staff"),
    "revenue": _l("revenue"),
    "assets": _l("total assets"),
}


def region_name(code: str) -> str:
    """Return a region's name in the reader's language (the code if it is not listed)."""
    region = region_by_code(code)
    return local_name(region) if region is not None else code


def size_label(size_class: str) -> str:
    """Return a size class as the reader says it: 小型 or Small."""
    label = SIZE_LABELS.get(size_class)
    return str(label) if label is not None else size_class


def indicator_label(indicator: str) -> str:
    """Name a size indicator (staff, revenue, total assets) in the reader's language."""
    label = INDICATOR_LABELS.get(indicator)
    return str(label) if label is not None else indicator


def wan(amount_fen: int | None) -> str:
    """Show an amount in fen as 万元 without trailing zeros (1,234.5)."""
    return "" if amount_fen is None else format(fen_to_wan(amount_fen).normalize(), ",f")


def _form_page(template: str, form: FlaskForm, **context: Any) -> tuple[str, int]:
    """Render a form page, answering 422 when the submitted form was refused."""
    refused = bool(form.form_errors) or any(field.errors for field in form)
    html = render_template(f"marketplace/firms/{template}", form=form, **context)
    return html, 422 if refused else 200


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "local_name": local_name,
        "region_name": region_name,
        "size_label": size_label,
        "indicator_label": indicator_label,
        "wan": wan,
        "MANAGERS": MANAGERS,
    }


@bp.errorhandler(EmailNotConfirmed)
def _confirm_email_first(error: EmailNotConfirmed) -> tuple[str, int]:
    return render_template("marketplace/firms/confirm_email_first.html", detail=error.detail), 403


@bp.route("/firm/register", methods=["GET", "POST"])
@require_confirmed
def register() -> tuple[str, int] | Response:
    """Register a new firm, owned by the signed-in user."""
    standard = services.current_standard(db.session(), current_clock())
    form = FirmForm()
    form.offer_choices(standard)
    if form.validate_on_submit():
        try:
            profile = services.register_firm(
                db.session(), current_clock(), current_actor(), form.details()
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            choose_acting_org(profile.organization_id)
            flash(_("The firm is registered."), "success")
            return redirect(url_for("firms.profile"))
    return _form_page("register.html", form, standard=standard)


@bp.get("/firm")
@require_org("sme", allow_suspended=True)
def profile() -> str:
    """Show the acting firm's registration and size class."""
    firm = services.firm_profile(db.session(), current_clock(), acting_org().id)
    return render_template("marketplace/firms/profile.html", firm=firm)


@bp.route("/firm/edit", methods=["GET", "POST"])
@require_org("sme", roles=MANAGERS)
def edit() -> tuple[str, int] | Response:
    """Change the acting firm's details; the size class is worked out again."""
    firm = services.firm_profile(db.session(), current_clock(), acting_org().id)
    form = FirmForm(data=asdict(services.details_of(firm.profile)))
    form.offer_choices(firm.in_force)
    if form.validate_on_submit():
        try:
            services.update_firm(
                db.session(), current_clock(), current_actor(), acting_org().id, form.details()
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("The firm's details are saved."), "success")
            return redirect(url_for("firms.profile"))
    return _form_page("edit.html", form, firm=firm)


@bp.get("/firm/parks")
@require_org("sme", allow_suspended=True)
def parks() -> str:
    """List the parks and where the firm's request to each stands."""
    choices = services.parks_for_firm(db.session(), acting_org().id)
    return render_template("marketplace/firms/parks.html", choices=choices, form=ConfirmForm())


@bp.route("/firm/parks/<int:park_id>/join", methods=["GET", "POST"])
@require_org("sme", roles=MANAGERS)
def join_park(park_id: int) -> tuple[str, int] | Response:
    """Ask a park to take the firm in, with an optional message."""
    choice = services.park_for_firm(db.session(), acting_org().id, park_id)
    form = JoinParkForm()
    if form.validate_on_submit():
        try:
            services.request_to_join_park(
                db.session(),
                current_clock(),
                current_actor(),
                acting_org().id,
                park_id,
                form.message.data or "",
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("Your request has been sent to %(park)s.", park=choice.park.name), "success")
            return redirect(url_for("firms.parks"))
    return _form_page("join_park.html", form, choice=choice)


# Button-only posts (withdraw, approve) carry ConfirmForm's token; CSRFProtect checks it app-wide.
@bp.post("/firm/parks/<int:park_id>/withdraw")
@require_org("sme", roles=MANAGERS)
def withdraw_park_request(park_id: int) -> Response:
    """Take back the firm's pending request to a park."""
    services.withdraw_park_request(
        db.session(), current_clock(), current_actor(), acting_org().id, park_id
    )
    flash(_("Your request has been withdrawn."), "success")
    return redirect(url_for("firms.parks"))


@bp.get("/park/requests")
@require_org("park", allow_suspended=True)
def park_requests() -> str:
    """List the requests to the acting park and its members."""
    overview = services.park_requests(db.session(), acting_org().id)
    return render_template(
        "marketplace/firms/park_requests.html", overview=overview, form=ConfirmForm()
    )


@bp.post("/park/requests/<int:membership_id>/approve")
@require_org("park", roles=MANAGERS)
def approve_request(membership_id: int) -> Response:
    """Take a firm into the acting park."""
    services.approve_park_request(
        db.session(), current_clock(), current_actor(), acting_org().id, membership_id
    )
    flash(_("The firm is now a member of the park."), "success")
    return redirect(url_for("firms.park_requests"))


@bp.route("/park/requests/<int:membership_id>/reject", methods=["GET", "POST"])
@require_org("park", roles=MANAGERS)
def reject_request(membership_id: int) -> tuple[str, int] | Response:
    """Turn a firm's request down with a reason."""
    item = services.park_request(db.session(), acting_org().id, membership_id)
    form = RejectRequestForm()
    if form.validate_on_submit():
        try:
            services.reject_park_request(
                db.session(),
                current_clock(),
                current_actor(),
                acting_org().id,
                membership_id,
                form.reason.data or "",
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("The request has been rejected."), "success")
            return redirect(url_for("firms.park_requests"))
    return _form_page("reject_request.html", form, item=item)
