"""Where a sign-in returning to an SSO page will finally send the browser.

A sign-in form whose `next` is the authorization endpoint ends, through redirects, at the
app's redirect URI; one whose `next` is "Open app" ends at the app's login-initiation URI.
Browsers apply form-action to every redirect after a post, so the sign-in page must name
that origin. Only URIs registered for the app are ever named.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask import Flask, current_app
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from billing.models import Subscription
from marketplace.extensions import db
from marketplace.orgs.tenancy import membership_of_user
from marketplace.security import register_form_target_resolver
from sso.provider.apps import app_client_by_client_id, app_client_of_listing


def _authorize_destination(query: str) -> list[str]:
    values = {k: v[0] for k, v in parse_qs(query).items()}
    client = app_client_by_client_id(db.session(), values.get("client_id", ""))
    redirect_uri = values.get("redirect_uri", "")
    if client is None or redirect_uri not in client.redirect_uris:
        return []
    return [redirect_uri]


def _open_app_destination(subscription_id: int) -> list[str]:
    subscription = db.session.get(Subscription, subscription_id)
    if subscription is None or not current_user.is_authenticated:
        return []
    if membership_of_user(db.session(), subscription.organization_id, current_user.id) is None:
        return []
    client = app_client_of_listing(db.session(), subscription.listing_id)
    return [client.initiate_login_uri] if client and client.initiate_login_uri else []


def sign_in_destinations(next_url: str) -> list[str]:
    """Return the registered app URIs a sign-in returning to next_url may end at."""
    parts = urlsplit(next_url)
    if parts.scheme or parts.netloc:
        return []
    try:
        endpoint, args = current_app.url_map.bind("localhost").match(parts.path)
    except HTTPException:
        return []
    if endpoint == "provider.authorize":
        return _authorize_destination(parts.query)
    if endpoint == "launch.open_app":
        return _open_app_destination(int(args["subscription_id"]))
    return []


def init_form_targets(app: Flask) -> None:
    """Let sign-in pages lead on to the app an SSO flow is heading for."""
    register_form_target_resolver(app, sign_in_destinations)
