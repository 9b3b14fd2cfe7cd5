"""Attach the marketplace's extensions to an app."""

from __future__ import annotations

from flask import Flask, g, url_for
from flask_login import AnonymousUserMixin
from werkzeug.routing import BuildError

from marketplace.accounts.models import User
from marketplace.clock import SystemClock, local_time_text
from marketplace.extensions import bootstrap, csrf, db, login_manager, login_throttle, redis_store
from marketplace.jobs import init_jobs
from marketplace.money import format_fen
from marketplace.orgs.context import load_acting_membership
from marketplace.settings import Settings


class AnonymousUser(AnonymousUserMixin):
    """The visitor who has not signed in."""

    locale = None


def load_user(session_id: str) -> User | None:
    """Find the signed-in user, refusing sessions from before the last password change."""
    user_id, _, epoch = session_id.partition(":")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_epoch != int(epoch) or not user.is_active:
        return None
    return user


def init_extensions(app: Flask, settings: Settings) -> None:
    """Attach database, Redis, CSRF, login and throttling to the app."""
    db.init_app(app, settings.database_url)
    redis_store.init_app(app, settings.redis_url)
    init_jobs(app, settings)
    csrf.init_app(app)
    app.config["BOOTSTRAP_SERVE_LOCAL"] = True
    bootstrap.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = ""  # the login page itself says why when it has a `next`
    login_manager.user_loader(load_user)
    login_manager.anonymous_user = AnonymousUser
    login_manager.session_protection = "basic"
    login_throttle.init_app(
        app,
        settings.redis_url,
        prefix=settings.rate_limit_prefix,
        max_per_account=settings.login_max_failures_per_account,
        max_per_ip=settings.login_max_failures_per_ip,
        window_seconds=settings.login_lockout_seconds,
    )
    app.extensions["clock"] = SystemClock()
    app.before_request(load_acting_membership)
    app.jinja_env.filters["fen"] = format_fen
    app.jinja_env.globals["local_time"] = local_time_text
    app.jinja_env.globals["acting"] = lambda: g.get("membership")
    app.jinja_env.globals["nav_url"] = nav_url


def nav_url(endpoint: str) -> str:
    """Return a navigation link, or "#" for a page this build does not have."""
    try:
        return url_for(endpoint)
    except BuildError:
        return "#"
