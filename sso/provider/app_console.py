"""The vendor console's single sign-on page of a listing: its app client, made and changed.

Every member of the vendor may look; owners and admins make the client, change its
addresses and logo, and give it a new secret, which is shown once on a page no cache keeps.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template
from flask import url_for as flask_url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import InputRequired

from catalog.models import Listing
from catalog.services.listings import latest_version
from marketplace.clock import current_clock
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.orgs.context import acting_membership, current_actor, require_org
from marketplace.orgs.models import OrgKind
from marketplace.orgs.roles import MANAGER_ROLES
from sso.provider import apps
from sso.provider.models import AppClient
from sso.provider.server import issuer

bp = Blueprint("app_client_console", __name__, url_prefix="/vendor/listings")
VENDOR = OrgKind.VENDOR.value
PAGE = "/<int:listing_id>/single-sign-on"
TEMPLATE = "sso/provider/console_app_client.html"


class AppClientForm(FlaskForm):
    """The client's addresses, one per line, its login-initiation URI and logo."""

    redirect_uris = TextAreaField(
        _l("Redirect URIs"),
        render_kw={"rows": 4},
        description=_l("One per line, at most 10; https (http only on localhost)."),
    )
    post_logout_redirect_uris = TextAreaField(
        _l("Post-logout redirect URIs"),
        render_kw={"rows": 3},
        description=_l("Where the app may send users after they log out; one per line."),
    )
    initiate_login_uri = StringField(
        _l("Login initiation URI"),
        description=_l("“Open app” sends users here, and the app then asks us to sign them in."),
    )
    logo_url = StringField(
        _l("Logo URL"), description=_l("Shown when users are asked to allow the app.")
    )


class RotateSecretForm(FlaskForm):
    """Give the client a new secret, once the vendor confirms the old one stops at once."""

    confirm = BooleanField(
        _l("I understand that the current secret stops working at once."),
        validators=[InputRequired(message=_l("Tick the box to confirm."))],
    )


def _lines(text: str | None) -> list[tuple[int, str]]:
    """Return the non-empty lines of a text area with their line numbers."""
    return [
        (n, line.strip()) for n, line in enumerate((text or "").splitlines(), 1) if line.strip()
    ]


def _settings(form: AppClientForm) -> dict[str, Any]:
    """Return the form's settings as the service takes them."""
    return {
        "redirect_uris": [line for _n, line in _lines(form.redirect_uris.data)],
        "post_logout_redirect_uris": [
            line for _n, line in _lines(form.post_logout_redirect_uris.data)
        ],
        "initiate_login_uri": form.initiate_login_uri.data,
        "logo_url": form.logo_url.data,
    }


def _show_errors(form: AppClientForm, error: ValidationFailed) -> None:
    """Put the service's errors on the fields they name, a list's items by line number."""
    for key, messages in error.errors.items():
        name, _dot, index = key.partition(".")
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.extend(messages)
            continue
        if index.isdigit():
            line = _lines(field.data)[int(index)][0]
            messages = [_("Line %(line)d: %(reason)s", line=line, reason=m) for m in messages]
        field.errors = [*field.errors, *messages]


def _filled(listing: Listing, client: AppClient | None) -> AppClientForm:
    """Return the form filled from the client, or from the listing's content before there is one."""
    if client is None:
        seeded = latest_version(listing).sso_redirect_uris or []
        return AppClientForm(formdata=None, data={"redirect_uris": "\n".join(seeded)})
    data = {
        "redirect_uris": "\n".join(client.redirect_uris),
        "post_logout_redirect_uris": "\n".join(client.post_logout_redirect_uris),
        "initiate_login_uri": client.initiate_login_uri or "",
        "logo_url": client.logo_url or "",
    }
    return AppClientForm(formdata=None, data=data)


def _page(
    listing_id: int,
    *,
    form: AppClientForm | None = None,
    rotate_form: RotateSecretForm | None = None,
    issued: apps.IssuedSecret | None = None,
    status: int = 200,
) -> Response:
    """Render the listing's single sign-on page; a page showing a secret is never cached."""
    membership = acting_membership()
    listing, client = apps.listing_sign_on(db.session(), membership.organization_id, listing_id)
    html = render_template(
        TEMPLATE,
        listing=listing,
        name=latest_version(listing).name_zh,
        client=client,
        form=form or _filled(listing, client),
        rotate_form=rotate_form or RotateSecretForm(formdata=None),
        issued=issued,
        issuer=issuer(),
        may_change=membership.role in MANAGER_ROLES and membership.organization.is_active,
    )
    response = Response(html, status=status, mimetype="text/html")
    if issued is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get(PAGE)
@require_org(VENDOR, allow_suspended=True)
def app_client_page(listing_id: int) -> Response:
    """Show the listing's single sign-on client, with forms for owners and admins."""
    return _page(listing_id)


@bp.post(PAGE)
@require_org(VENDOR, roles=MANAGER_ROLES)
def save_app_client(listing_id: int) -> Response:
    """Make the listing's client (showing its secret once) or save its changed settings."""
    form = AppClientForm()
    if form.validate_on_submit():
        try:
            saved = apps.save_listing_app_client(
                db.session(),
                current_clock(),
                current_actor(),
                acting_membership().organization_id,
                listing_id,
                _settings(form),
            )
        except ValidationFailed as error:
            _show_errors(form, error)
        else:
            if saved.client_secret is not None:
                return _page(
                    listing_id, issued=apps.IssuedSecret(saved.client, saved.client_secret)
                )
            flash(_("The single sign-on settings were saved."), "success")
            return redirect(flask_url_for(".app_client_page", listing_id=listing_id))
    return _page(listing_id, form=form, status=422)


@bp.post(f"{PAGE}/secret")
@require_org(VENDOR, roles=MANAGER_ROLES)
def rotate_secret(listing_id: int) -> Response:
    """Give the listing's client a new secret, once confirmed, and show it once."""
    rotate_form = RotateSecretForm()
    if not rotate_form.validate_on_submit():
        return _page(listing_id, rotate_form=rotate_form, status=422)
    issued = apps.rotate_listing_app_client_secret(
        db.session(),
        current_clock(),
        current_actor(),
        acting_membership().organization_id,
        listing_id,
    )
    return _page(listing_id, issued=issued)
