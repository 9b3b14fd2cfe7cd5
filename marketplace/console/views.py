"""Pages of the operator console; to anyone outside the operator they do not exist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from marketplace.clock import current_clock
from marketplace.console import queries, services
from marketplace.console.forms import (
    AuditFilterForm,
    NewParkForm,
    OrganizationSearchForm,
    ReasonForm,
    UsccConfirmForm,
    UsccRejectForm,
    UserSearchForm,
    show_errors,
    validated,
)
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import ConfirmForm
from marketplace.orgs.context import acting_membership, current_actor, require_org
from marketplace.orgs.invitations import invitation_link
from marketplace.orgs.labels import KIND_LABELS, ROLE_LABELS
from marketplace.orgs.models import OrgKind

bp = Blueprint("console", __name__, url_prefix="/console")

OPERATOR = OrgKind.OPERATOR.value
ACTING = services.ACTING_ROLES


@bp.context_processor
def labels() -> dict[str, Any]:
    """Offer the display names of kinds and roles to the console's templates."""
    return {"kind_labels": KIND_LABELS, "role_labels": ROLE_LABELS}


def _page_number() -> int:
    return request.args.get("page", 1, type=int) or 1


def _can_act() -> bool:
    return services.may_act(acting_membership().role)


def _filtered(template: str, form: FlaskForm, load: Callable[[], Any]) -> ResponseReturnValue:
    """Render a filtered list, or the filter's errors with 422 when it does not hold."""
    try:
        validated(form)
        result = load()
    except ValidationFailed as error:
        show_errors(form, error)
        return render_template(template, form=form, result=None), 422
    return render_template(template, form=form, result=result)


@bp.get("/orgs")
@require_org(OPERATOR)
def organizations() -> ResponseReturnValue:
    """List and search organizations."""
    form = OrganizationSearchForm(formdata=request.args)
    return _filtered(
        "marketplace/console/organizations.html",
        form,
        lambda: queries.search_organizations(
            db.session(),
            current_actor(),
            query=form.q.data,
            kind=form.kind.data,
            status=form.status.data,
            page=_page_number(),
        ),
    )


def _organization_page(org_id: int, suspend_form: ReasonForm | None = None) -> str:
    return render_template(
        "marketplace/console/organization.html",
        detail=queries.organization_detail(db.session(), current_actor(), org_id),
        suspend_form=suspend_form or ReasonForm(),
        reactivate_form=ConfirmForm(),
        can_act=_can_act(),
    )


@bp.get("/orgs/<int:org_id>")
@require_org(OPERATOR)
def organization(org_id: int) -> ResponseReturnValue:
    """Show an organization: members, firm profile, parks and audit trail."""
    return _organization_page(org_id)


@bp.post("/orgs/<int:org_id>/suspend")
@require_org(OPERATOR, roles=ACTING)
def suspend_organization(org_id: int) -> ResponseReturnValue:
    """Suspend an organization, giving the reason."""
    form = ReasonForm()
    try:
        validated(form)
        services.suspend_organization(
            db.session(), current_clock(), current_actor(), org_id, form.reason.data
        )
    except ValidationFailed as error:
        show_errors(form, error)
        return _organization_page(org_id, form), 422
    flash(_("The organization is suspended."), "success")
    return redirect(url_for(".organization", org_id=org_id))


@bp.post("/orgs/<int:org_id>/reactivate")
@require_org(OPERATOR, roles=ACTING)
def reactivate_organization(org_id: int) -> ResponseReturnValue:
    """Let a suspended organization act again."""
    services.reactivate_organization(db.session(), current_clock(), current_actor(), org_id)
    flash(_("The organization is active again."), "success")
    return redirect(url_for(".organization", org_id=org_id))


@bp.get("/users")
@require_org(OPERATOR)
def users() -> ResponseReturnValue:
    """List and search users with their organizations."""
    form = UserSearchForm(formdata=request.args)
    return _filtered(
        "marketplace/console/users.html",
        form,
        lambda: queries.search_users(
            db.session(), current_actor(), query=form.q.data, page=_page_number()
        ),
    )


def _user_page(user_id: int, deactivate_form: ReasonForm | None = None) -> str:
    return render_template(
        "marketplace/console/user.html",
        detail=queries.user_detail(db.session(), current_actor(), user_id),
        deactivate_form=deactivate_form or ReasonForm(),
        reactivate_form=ConfirmForm(),
        can_act=_can_act(),
    )


@bp.get("/users/<int:user_id>")
@require_org(OPERATOR)
def user(user_id: int) -> ResponseReturnValue:
    """Show a user, their organizations and the audit entries by or about them."""
    return _user_page(user_id)


@bp.post("/users/<int:user_id>/deactivate")
@require_org(OPERATOR, roles=ACTING)
def deactivate_user(user_id: int) -> ResponseReturnValue:
    """Stop a user from signing in, giving the reason."""
    form = ReasonForm()
    try:
        validated(form)
        services.deactivate_user(
            db.session(), current_clock(), current_actor(), user_id, form.reason.data
        )
    except ValidationFailed as error:
        show_errors(form, error)
        return _user_page(user_id, form), 422
    flash(_("The user is deactivated."), "success")
    return redirect(url_for(".user", user_id=user_id))


@bp.post("/users/<int:user_id>/reactivate")
@require_org(OPERATOR, roles=ACTING)
def reactivate_user(user_id: int) -> ResponseReturnValue:
    """Let a deactivated user sign in again."""
    services.reactivate_user(db.session(), current_clock(), current_actor(), user_id)
    flash(_("The user can sign in again."), "success")
    return redirect(url_for(".user", user_id=user_id))


@bp.get("/uscc-reviews")
@require_org(OPERATOR)
def uscc_reviews() -> ResponseReturnValue:
    """List the credit codes waiting for an operator, oldest first."""
    reviews = queries.uscc_reviews(db.session(), current_actor())
    return render_template("marketplace/console/uscc_reviews.html", reviews=reviews)


def _uscc_review_page(
    org_id: int, confirm: UsccConfirmForm | None = None, reject: UsccRejectForm | None = None
) -> str:
    review = queries.uscc_review(db.session(), current_actor(), org_id)
    return render_template(
        "marketplace/console/uscc_review.html",
        review=review,
        confirm_form=confirm or UsccConfirmForm(prefix="confirm"),
        reject_form=reject or UsccRejectForm(prefix="reject"),
        can_act=_can_act(),
    )


@bp.get("/uscc-reviews/<int:org_id>")
@require_org(OPERATOR)
def uscc_review(org_id: int) -> ResponseReturnValue:
    """Show one unverified credit code with what failed and the forms to decide it."""
    return _uscc_review_page(org_id)


@bp.post("/uscc-reviews/<int:org_id>/confirm")
@require_org(OPERATOR, roles=ACTING)
def confirm_uscc(org_id: int) -> ResponseReturnValue:
    """Confirm an unverified credit code."""
    form = UsccConfirmForm(prefix="confirm")
    try:
        validated(form)
        services.confirm_uscc_code(
            db.session(), current_clock(), current_actor(), org_id, form.note.data
        )
    except ValidationFailed as error:
        show_errors(form, error)
        return _uscc_review_page(org_id, confirm=form), 422
    flash(_("The credit code is confirmed."), "success")
    return redirect(url_for(".uscc_reviews"))


@bp.post("/uscc-reviews/<int:org_id>/reject")
@require_org(OPERATOR, roles=ACTING)
def reject_uscc(org_id: int) -> ResponseReturnValue:
    """Reject an unverified credit code with a note saying what to correct."""
    form = UsccRejectForm(prefix="reject")
    try:
        validated(form)
        services.reject_uscc_code(
            db.session(), current_clock(), current_actor(), org_id, form.note.data
        )
    except ValidationFailed as error:
        show_errors(form, error)
        return _uscc_review_page(org_id, reject=form), 422
    flash(_("The credit code is rejected; the firm has been asked to correct it."), "success")
    return redirect(url_for(".uscc_reviews"))


@bp.get("/parks/new")
@require_org(OPERATOR)
def new_park() -> ResponseReturnValue:
    """Show the form that creates a park and invites its first admin."""
    return render_template(
        "marketplace/console/new_park.html", form=NewParkForm(), can_act=_can_act()
    )


@bp.post("/parks/new", endpoint="create_park")
@require_org(OPERATOR, roles=ACTING)
def create_park() -> ResponseReturnValue:
    """Create a park and invite its first admin by email."""
    form = NewParkForm()
    try:
        validated(form)
        park = services.create_park(
            db.session(),
            current_clock(),
            current_actor(),
            form.name.data,
            form.admin_email.data,
            accept_url=invitation_link,
        )
    except ValidationFailed as error:
        show_errors(form, error)
        page = render_template("marketplace/console/new_park.html", form=form, can_act=True)
        return page, 422
    flash(_("The park is created and its first admin invited."), "success")
    return redirect(url_for(".organization", org_id=park.id))


@bp.get("/audit")
@require_org(OPERATOR)
def audit_log() -> ResponseReturnValue:
    """Show the audit log, newest first, filtered by action and organization."""
    form = AuditFilterForm(formdata=request.args)
    template = "marketplace/console/audit_log.html"
    try:
        validated(form)
        log = queries.audit_log(
            db.session(),
            current_actor(),
            action=form.action.data,
            organization_id=form.organization.data,
            before_id=request.args.get("before", type=int),
        )
    except ValidationFailed as error:
        show_errors(form, error)
        return render_template(template, form=form, result=None), 422
    form.offer_actions(log.actions)
    return render_template(template, form=form, result=log)
