"""The vendor console's API client pages: list, create, rotate the secret, revoke."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from marketplace.clock import current_clock
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import ConfirmForm, apply_errors
from marketplace.orgs.context import acting_membership, current_actor, require_org
from marketplace.orgs.roles import MANAGER_ROLES
from sso import services
from sso.forms import SCOPE_LABELS, ApiClientForm

bp = Blueprint("sso", __name__)
VENDOR = "vendor"


def _submitted(form: FlaskForm) -> None:
    """Refuse a posted form that fails validation (CSRF included), naming its fields."""
    if not form.validate_on_submit():
        raise ValidationFailed(form.errors or {"form": [_("The form was not submitted.")]})


def _list_page(form: ApiClientForm, status: int = 200) -> tuple[str, int]:
    membership = acting_membership()
    clients = services.api_clients_of(db.session(), membership)
    html = render_template(
        "sso/api_clients.html",
        clients=clients,
        form=form,
        organization=membership.organization,
        scope_labels=SCOPE_LABELS,
    )
    return html, status


def _secret_page(issued: services.IssuedSecret, rotated: bool) -> Response:
    """Show a new secret once; no cache may keep the page."""
    html = render_template("sso/secret.html", issued=issued, rotated=rotated)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/vendor/api-clients")
@require_org(VENDOR, roles=MANAGER_ROLES, allow_suspended=True)
def api_clients() -> tuple[str, int]:
    """List the acting vendor's API clients, with a form to create one."""
    return _list_page(ApiClientForm(formdata=None))


@bp.post("/vendor/api-clients")
@require_org(VENDOR, roles=MANAGER_ROLES)
def create_api_client() -> Response | tuple[str, int]:
    """Create an API client and show its secret, this once."""
    form = ApiClientForm()
    if form.validate_on_submit():
        try:
            issued = services.create_api_client(
                db.session(),
                current_clock(),
                acting_membership(),
                name=form.name.data,
                scopes=list(form.scopes.data or []),
                sandbox=bool(form.sandbox.data),
                actor=current_actor(),
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            return _secret_page(issued, rotated=False)
    return _list_page(form, 422)


@bp.post("/vendor/api-clients/<int:api_client_id>/rotate")
@require_org(VENDOR, roles=MANAGER_ROLES)
def rotate_secret(api_client_id: int) -> Response:
    """Give an API client a new secret and show it, this once."""
    _submitted(ConfirmForm())
    issued = services.rotate_client_secret(
        db.session(), current_clock(), acting_membership(), api_client_id, actor=current_actor()
    )
    return _secret_page(issued, rotated=True)


@bp.post("/vendor/api-clients/<int:api_client_id>/revoke")
@require_org(VENDOR, roles=MANAGER_ROLES)
def revoke_api_client(api_client_id: int) -> Response:
    """Revoke an API client and its tokens."""
    _submitted(ConfirmForm())
    client = services.revoke_api_client(
        db.session(), current_clock(), acting_membership(), api_client_id, actor=current_actor()
    )
    flash(_("The API client %(name)s was revoked.", name=client.name), "success")
    return redirect(url_for("sso.api_clients"))
