"""The "Open app" link for billing's pages, which may not import sso.

A Jinja global answers, for a subscription, where "Open app" starts single sign-on, or
nothing when the subscription does not serve or its app offers no sign-in from Yunshi.
"""

from __future__ import annotations

from flask import Flask, url_for

from billing.lifecycle import SERVING
from billing.models import Subscription
from marketplace.extensions import db
from sso.provider.apps import app_client_of_listing


def sso_launch_url(subscription: Subscription) -> str | None:
    """Return the "Open app" URL of a subscription, or None when it cannot be opened now."""
    if subscription.status not in SERVING:
        return None
    client = app_client_of_listing(db.session(), subscription.listing_id)
    if client is None or not client.initiate_login_uri:
        return None
    return url_for("launch.open_app", subscription_id=subscription.id)


def init_launch_links(app: Flask) -> None:
    """Let every template ask for a subscription's "Open app" URL."""
    app.jinja_env.globals["sso_launch_url"] = sso_launch_url
