"""The vendor console's webhook pages: endpoints, their delivery log, tests and redelivery."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from marketplace.clock import current_clock
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import ConfirmForm, apply_errors
from marketplace.orgs.context import acting_membership, current_actor, require_org
from marketplace.orgs.roles import MANAGER_ROLES
from marketplace.pagination import PageRequest
from marketplace.webhooks import redelivery, services
from marketplace.webhooks.forms import EndpointForm
from marketplace.webhooks.services import IssuedSecret, Owner

bp = Blueprint("webhooks", __name__)
VENDOR = "vendor"
LOG_SIZE = 50


def _owner() -> Owner:
    return Owner(acting_membership().organization_id)


def _confirmed() -> None:
    if not ConfirmForm().validate_on_submit():
        raise ValidationFailed({"form": [_("The form was not submitted.")]})


def _list_page(form: EndpointForm, status: int = 200) -> tuple[str, int]:
    membership = acting_membership()
    endpoints = services.endpoints_of(db.session(), _owner())
    html = render_template(
        "marketplace/webhooks/endpoints.html",
        endpoints=endpoints,
        form=form,
        organization=membership.organization,
    )
    return html, status


def _secret_page(issued: IssuedSecret, rotated: bool) -> Response:
    """Show a new signing secret once; no cache may keep the page."""
    html = render_template("marketplace/webhooks/secret.html", issued=issued, rotated=rotated)
    response = Response(html, mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/vendor/webhooks")
@require_org(VENDOR, roles=MANAGER_ROLES, allow_suspended=True)
def endpoints_page() -> tuple[str, int]:
    """List the vendor's webhook endpoints, with a form to add one."""
    return _list_page(EndpointForm(formdata=None))


@bp.post("/vendor/webhooks")
@require_org(VENDOR, roles=MANAGER_ROLES)
def create_endpoint() -> Response | tuple[str, int]:
    """Register an endpoint and show its signing secret, this once."""
    form = EndpointForm()
    if form.validate_on_submit():
        fields = {
            "url": form.url.data,
            "event_types": list(form.event_types.data or []),
            "description": form.description.data or "",
        }
        try:
            issued = services.create_endpoint(
                db.session(),
                current_clock(),
                current_actor(),
                _owner(),
                fields,
                sandbox=bool(form.sandbox.data),
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            return _secret_page(issued, rotated=False)
    return _list_page(form, 422)


@bp.get("/vendor/webhooks/<int:endpoint_id>")
@require_org(VENDOR, roles=MANAGER_ROLES, allow_suspended=True)
def endpoint_page(endpoint_id: int) -> str:
    """Show an endpoint and the log of its latest deliveries."""
    session = db.session()
    endpoint = services.endpoint_of(session, _owner(), endpoint_id)
    page = services.deliveries_page(session, _owner(), endpoint.id, PageRequest(LOG_SIZE))
    return render_template(
        "marketplace/webhooks/endpoint.html",
        endpoint=endpoint,
        deliveries=page.items,
        attempts=services.attempts_of(session, page.items),
        organization=acting_membership().organization,
    )


@bp.post("/vendor/webhooks/<int:endpoint_id>/test")
@require_org(VENDOR, roles=MANAGER_ROLES)
def send_test_event(endpoint_id: int) -> Response:
    """Send the endpoint a test event."""
    _confirmed()
    redelivery.send_test_event(
        db.session(), current_clock(), current_actor(), _owner(), endpoint_id
    )
    flash(_("A test event is on its way."), "success")
    return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint_id))


@bp.post("/vendor/webhooks/<int:endpoint_id>/rotate")
@require_org(VENDOR, roles=MANAGER_ROLES)
def rotate_secret(endpoint_id: int) -> Response:
    """Give the endpoint a new signing secret and show it, this once."""
    _confirmed()
    issued = services.rotate_secret(
        db.session(), current_clock(), current_actor(), _owner(), endpoint_id
    )
    return _secret_page(issued, rotated=True)


@bp.post("/vendor/webhooks/<int:endpoint_id>/disable")
@require_org(VENDOR, roles=MANAGER_ROLES)
def disable_endpoint(endpoint_id: int) -> Response:
    """Stop sending events to the endpoint."""
    return _switch(endpoint_id, enabled=False)


@bp.post("/vendor/webhooks/<int:endpoint_id>/enable")
@require_org(VENDOR, roles=MANAGER_ROLES)
def enable_endpoint(endpoint_id: int) -> Response:
    """Send events to a disabled endpoint again."""
    return _switch(endpoint_id, enabled=True)


def _switch(endpoint_id: int, *, enabled: bool) -> Response:
    _confirmed()
    services.update_endpoint(
        db.session(), current_clock(), current_actor(), _owner(), endpoint_id, {"enabled": enabled}
    )
    return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint_id))


@bp.post("/vendor/webhooks/<int:endpoint_id>/delete")
@require_org(VENDOR, roles=MANAGER_ROLES)
def delete_endpoint(endpoint_id: int) -> Response:
    """Delete the endpoint and its log."""
    _confirmed()
    services.delete_endpoint(db.session(), current_clock(), current_actor(), _owner(), endpoint_id)
    flash(_("The endpoint was deleted."), "success")
    return redirect(url_for("webhooks.endpoints_page"))


@bp.post("/vendor/webhooks/deliveries/<int:delivery_id>/redeliver")
@require_org(VENDOR, roles=MANAGER_ROLES)
def redeliver(delivery_id: int) -> Response:
    """Send a delivery's event to its endpoint again."""
    _confirmed()
    session = db.session()
    delivery = services.delivery_of(session, _owner(), delivery_id)
    endpoint_id, event_id = delivery.endpoint_id, delivery.event_id
    redelivery.redeliver_event(
        session, current_clock(), current_actor(), _owner(), event_id, endpoint_id=endpoint_id
    )
    flash(_("The event will be sent again."), "success")
    return redirect(url_for("webhooks.endpoint_page", endpoint_id=endpoint_id))
