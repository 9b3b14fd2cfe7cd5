"""Open app: start single sign-on from a firm's subscription (OIDC Core section 4).

The app is sent to its login-initiation URI with our issuer; it then starts the code flow.
The firm the user opened it from is remembered, so a user of several firms signs in as the
one they chose.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, redirect, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from billing.lifecycle import SERVING
from billing.models import Subscription
from marketplace.accounts.access import require_confirmed
from marketplace.errors import Conflict, NotFound
from marketplace.extensions import db
from marketplace.orgs.tenancy import membership_of_user
from sso.provider.apps import app_client_of_listing
from sso.provider.server import issuer

PREFERRED_FIRM_KEY = "sso_firm"

bp = Blueprint("launch", __name__)


def login_initiation_url(initiate_login_uri: str, iss: str, target_link_uri: str | None) -> str:
    """Return the app's login-initiation URI with `iss` (and `target_link_uri`) added."""
    parts = urlsplit(initiate_login_uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.append(("iss", iss))
    if target_link_uri:
        query.append(("target_link_uri", target_link_uri))
    return urlunsplit(parts._replace(query=urlencode(query)))


@bp.get("/subscriptions/<int:subscription_id>/open")
@require_confirmed
def open_app(subscription_id: int) -> ResponseReturnValue:
    """Send a member of the subscribing firm to the app, which signs them in through us."""
    session_db = db.session()
    subscription = session_db.get(Subscription, subscription_id)
    if (
        subscription is None
        or membership_of_user(session_db, subscription.organization_id, current_user.id) is None
    ):
        raise NotFound()
    if subscription.status not in SERVING:
        raise Conflict(_("This subscription does not serve now, so its app cannot be opened."))
    client = app_client_of_listing(session_db, subscription.listing_id)
    if client is None or not client.initiate_login_uri:
        raise NotFound(_("This app does not offer sign-in from Yunshi."))
    session[PREFERRED_FIRM_KEY] = subscription.organization_id
    return redirect(login_initiation_url(client.initiate_login_uri, issuer(), None))
