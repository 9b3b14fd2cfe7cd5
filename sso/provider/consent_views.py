"""Pages about consent: a user's connected apps, and the apps a firm approves for everyone.

Views parse, call a service of sso.provider.connected_apps, flash and render.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from marketplace.audit.services import Actor
from marketplace.clock import current_clock
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import ConfirmForm
from sso.provider import connected_apps
from sso.provider.apps import app_name
from sso.provider.consent import consents_of
from sso.scopes import scope_list

TEMPLATES = "sso/provider/"

connected_bp = Blueprint("connected_apps", __name__)
firm_bp = Blueprint("firm_apps", __name__)


@connected_bp.context_processor
@firm_bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"app_name": app_name, "scope_list": scope_list}


def _submitted(form: FlaskForm) -> None:
    """Refuse a posted form that fails validation (CSRF included)."""
    if not form.validate_on_submit():
        raise ValidationFailed(form.errors or {"form": [_("The form was not submitted.")]})


def _actor(org_id: int | None = None) -> Actor:
    """Return the signed-in user as the actor, for the firm when one is named."""
    return Actor(user_id=current_user.id, org_id=org_id, ip_address=request.remote_addr)


# ---- the user's connected apps ----------------------------------------------------------------


@connected_bp.get("/settings/apps")
@login_required
def connected_apps_page() -> str:
    """List the apps the user allowed to sign them in, newest first."""
    consents = consents_of(db.session(), current_user.id)
    return render_template(TEMPLATES + "connected_apps.html", consents=consents)


@connected_bp.post("/settings/apps/<int:consent_id>/withdraw")
@login_required
def withdraw(consent_id: int) -> Response:
    """Withdraw the user's consent to an app; the app's sign-ins for the user end."""
    _submitted(ConfirmForm())
    listing = connected_apps.withdraw_connected_app(
        db.session(), current_clock(), _actor(), current_user.id, consent_id
    )
    flash(
        _("%(app)s may no longer sign you in; it will ask again.", app=app_name(listing)),
        "success",
    )
    return redirect(url_for("connected_apps.connected_apps_page"))


# ---- a firm's approvals -----------------------------------------------------------------------


@firm_bp.get("/orgs/<int:org_id>/apps")
@login_required
def firm_apps_page(org_id: int) -> str:
    """List the firm's apps that sign users in, with their approval for everyone."""
    session = db.session()
    membership = connected_apps.managing_membership(
        session, current_user.id, org_id, changing=False
    )
    return render_template(
        TEMPLATES + "firm_apps.html",
        firm=membership.organization,
        apps=connected_apps.firm_apps(session, org_id),
        firm_scope=connected_apps.FIRM_SCOPE,
    )


@firm_bp.post("/orgs/<int:org_id>/apps/<int:subscription_id>/approve")
@login_required
def approve(org_id: int, subscription_id: int) -> Response:
    """Approve a subscribed app for everyone in the firm, so no member is asked to consent."""
    session = db.session()
    connected_apps.managing_membership(session, current_user.id, org_id, changing=True)
    _submitted(ConfirmForm())
    approved = connected_apps.approve_firm_app(
        session, current_clock(), _actor(org_id), org_id, subscription_id
    )
    name = app_name(approved.subscription.listing)
    flash(_("%(app)s is approved for everyone in the firm.", app=name), "success")
    return redirect(url_for("firm_apps.firm_apps_page", org_id=org_id))


@firm_bp.post("/orgs/<int:org_id>/apps/<int:subscription_id>/withdraw")
@login_required
def withdraw_approval(org_id: int, subscription_id: int) -> Response:
    """Withdraw the firm's approval of an app; members are asked for consent again."""
    session = db.session()
    connected_apps.managing_membership(session, current_user.id, org_id, changing=True)
    _submitted(ConfirmForm())
    found, withdrawn = connected_apps.withdraw_firm_app(
        session, current_clock(), _actor(org_id), org_id, subscription_id
    )
    name = app_name(found.subscription.listing)
    if withdrawn:
        flash(
            _("The approval of %(app)s is withdrawn; members are asked again.", app=name), "success"
        )
    else:
        flash(_("%(app)s was not approved for the firm.", app=name), "info")
    return redirect(url_for("firm_apps.firm_apps_page", org_id=org_id))
