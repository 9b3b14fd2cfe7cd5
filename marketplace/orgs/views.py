"""Pages of the orgs part: my organizations, members, invitations, vendor application."""

from __future__ import annotations

from typing import cast
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from marketplace.accounts.models import User
from marketplace.clock import current_clock
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import ConfirmForm, apply_errors
from marketplace.orgs import invitations, services
from marketplace.orgs.context import (
    acting_membership,
    choose_acting_org,
    current_actor,
    forget_acting_org,
    require_org,
)
from marketplace.orgs.forms import (
    InvitationForm,
    RoleForm,
    SwitchOrganizationForm,
    VendorApplicationForm,
    role_choices,
)
from marketplace.orgs.labels import KIND_LABELS, ROLE_LABELS
from marketplace.orgs.roles import MANAGER_ROLES
from marketplace.urls import safe_next

bp = Blueprint("orgs", __name__)
LABELS = {"role_labels": ROLE_LABELS, "kind_labels": KIND_LABELS}


def _user() -> User:
    return cast(User, current_user._get_current_object())


def _submitted(form: FlaskForm) -> None:
    """Refuse a posted form that fails validation (CSRF included), naming its fields."""
    if not form.validate_on_submit():
        raise ValidationFailed(form.errors or {"form": [_("The form was not submitted.")]})


def _back(next_path: str | None) -> str:
    """Return where to go after a switch: the page the user came from, on this site."""
    referrer = urlsplit(request.referrer or "")
    came_from = referrer.path if referrer.netloc == request.host else None
    return safe_next(next_path or came_from, url_for("orgs.index"))


@bp.get("/orgs")
@login_required
def index() -> str:
    """List the user's organizations and which one they act for."""
    memberships = services.organizations_of(db.session(), current_user.id)
    return render_template("marketplace/orgs/index.html", memberships=memberships, **LABELS)


@bp.post("/orgs/switch")
@login_required
def switch() -> Response:
    """Act for another of the user's organizations, then go back."""
    form = SwitchOrganizationForm()
    _submitted(form)
    membership = services.membership_to_act_as(db.session(), current_user.id, form.org_id.data)
    choose_acting_org(membership.organization_id)
    return redirect(_back(form.next.data))


@bp.route("/vendors/new", methods=["GET", "POST"])
@login_required
def new_vendor() -> Response | tuple[str, int]:
    """Create a vendor organization owned by the user."""
    form = VendorApplicationForm()
    if form.validate_on_submit():
        try:
            org = services.apply_as_vendor(
                db.session(), current_clock(), _user(), name=form.name.data, actor=current_actor()
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            choose_acting_org(org.id)
            flash(_("%(name)s was created; you are its owner.", name=org.name), "success")
            return redirect(url_for("orgs.index"))
    html = render_template("marketplace/orgs/new_vendor.html", form=form)
    return html, 422 if form.errors else 200


def _members_page(invite_form: InvitationForm, status: int = 200) -> tuple[str, int]:
    directory = services.member_directory(db.session(), current_clock(), acting_membership())
    invite_form.role.choices = role_choices(directory.roles_to_invite)
    html = render_template(
        "marketplace/orgs/members.html",
        directory=directory,
        invite_form=invite_form,
        **LABELS,
    )
    return html, status


@bp.get("/org/members")
@require_org(allow_suspended=True)
def members() -> tuple[str, int]:
    """List the acting organization's members, with controls for owners and admins."""
    return _members_page(InvitationForm(formdata=None))


@bp.post("/org/invitations")
@require_org(roles=MANAGER_ROLES)
def invite() -> Response | tuple[str, int]:
    """Invite someone into the acting organization by email."""
    form = InvitationForm()
    if form.validate_on_submit():
        try:
            invitation = invitations.invite_member(
                db.session(),
                current_clock(),
                acting_membership(),
                email=form.email.data,
                role=form.role.data,
                actor=current_actor(),
                accept_url=invitations.invitation_link,
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            flash(_("Invitation sent to %(email)s.", email=invitation.email), "success")
            return redirect(url_for("orgs.members"))
    return _members_page(form, 422)


@bp.post("/org/invitations/<int:invitation_id>/revoke")
@require_org(roles=MANAGER_ROLES)
def revoke_invitation(invitation_id: int) -> Response:
    """Withdraw an open invitation of the acting organization."""
    _submitted(ConfirmForm())
    invitation = invitations.revoke_invitation(
        db.session(), current_clock(), acting_membership(), invitation_id, actor=current_actor()
    )
    flash(_("The invitation to %(email)s was revoked.", email=invitation.email), "success")
    return redirect(url_for("orgs.members"))


@bp.post("/org/members/<int:membership_id>/role")
@require_org(roles=MANAGER_ROLES)
def change_role(membership_id: int) -> Response:
    """Give a member of the acting organization another role."""
    form = RoleForm()
    _submitted(form)
    membership = services.change_member_role(
        db.session(),
        current_clock(),
        acting_membership(),
        membership_id,
        role=form.role.data,
        actor=current_actor(),
    )
    flash(_("%(name)s's role was changed.", name=membership.user.display_name), "success")
    return redirect(url_for("orgs.members"))


@bp.post("/org/members/<int:membership_id>/remove")
@require_org(roles=MANAGER_ROLES)
def remove_member(membership_id: int) -> Response:
    """Take a member out of the acting organization."""
    _submitted(ConfirmForm())
    services.remove_member(
        db.session(), current_clock(), acting_membership(), membership_id, actor=current_actor()
    )
    flash(_("The member was removed."), "success")
    return redirect(url_for("orgs.members"))


@bp.post("/org/leave")
@require_org()
def leave() -> Response:
    """Leave the acting organization."""
    _submitted(ConfirmForm())
    membership = acting_membership()
    name = membership.organization.name
    services.leave_organization(db.session(), current_clock(), membership, actor=current_actor())
    forget_acting_org()
    flash(_("You left %(name)s.", name=name), "success")
    return redirect(url_for("orgs.index"))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@login_required
def accept_invitation(token: str) -> Response | str:
    """Show an invitation to the invited user, and accept it when they confirm."""
    form = ConfirmForm()
    if form.validate_on_submit():
        membership = invitations.accept_invitation(
            db.session(), current_clock(), token, _user(), actor=current_actor()
        )
        choose_acting_org(membership.organization_id)
        flash(_("You joined %(name)s.", name=membership.organization.name), "success")
        return redirect(url_for("orgs.members"))
    invitation = invitations.review_invitation(db.session(), current_clock(), token, _user())
    return render_template(
        "marketplace/orgs/accept.html", invitation=invitation, form=form, **LABELS
    )
