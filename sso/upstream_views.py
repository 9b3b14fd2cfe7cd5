"""Pages of signing in through the upstream OpenID Connect provider (统一身份)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from marketplace.accounts.access import start_session
from marketplace.accounts.forms import LoginForm
from marketplace.accounts.models import User
from marketplace.clock import current_clock
from marketplace.errors import Conflict, RateLimited, ValidationFailed
from marketplace.extensions import db
from marketplace.forms import apply_errors
from marketplace.urls import external_url, safe_next
from sso import upstream
from sso.upstream import PasswordNeeded, UpstreamLoginFailed
from sso.upstream_rules import PendingLink, pending_from_session, pending_to_session

bp = Blueprint("upstream", __name__)
TEMPLATES = "sso/"


@bp.before_request
def _only_when_configured() -> None:
    """Answer 404 on every page of this part while no upstream provider is configured."""
    if not upstream.is_enabled():
        abort(404)


def _home() -> str:
    return url_for("web.home")


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _failed(error: UpstreamLoginFailed | Conflict) -> ResponseReturnValue:
    html = render_template(
        TEMPLATES + "upstream_error.html", detail=error.detail, name=upstream.provider_name()
    )
    return html, error.status


def _finish(user: User) -> ResponseReturnValue:
    """Sign user in on a fresh session and go where the sign-in was started for."""
    target = safe_next(session.get(upstream.NEXT_KEY), _home())
    start_session(user)
    return redirect(target)


@bp.get("/login/upstream")
def start() -> ResponseReturnValue:
    """Send the browser to the upstream provider to sign in."""
    target = safe_next(request.args.get("next"), "")
    if current_user.is_authenticated:
        return redirect(target or _home())
    session[upstream.NEXT_KEY] = target
    session.pop(upstream.PENDING_KEY, None)
    try:
        response: ResponseReturnValue = upstream.authorization_redirect(
            external_url("upstream.callback")
        )
    except UpstreamLoginFailed as error:
        return _failed(error)
    return response


@bp.get("/login/upstream/callback")
def callback() -> ResponseReturnValue:
    """Check the provider's answer and sign in, link, create, or ask for a Yunshi password."""
    try:
        claims = upstream.complete_authorization()
        outcome = upstream.sign_in_upstream(db.session(), current_clock(), claims, ip=_client_ip())
    except (UpstreamLoginFailed, Conflict) as error:
        return _failed(error)
    if isinstance(outcome, PasswordNeeded):
        session[upstream.PENDING_KEY] = pending_to_session(outcome.pending)
        return redirect(url_for("upstream.link"))
    return _finish(outcome.user)


@bp.route("/login/upstream/link", methods=["GET", "POST"])
def link() -> ResponseReturnValue:
    """Ask for a Yunshi password to link the waiting upstream account, then sign in."""
    pending = pending_from_session(session.get(upstream.PENDING_KEY), current_clock().now())
    if pending is None:
        session.pop(upstream.PENDING_KEY, None)
        return _failed(upstream.link_expired())
    form = LoginForm(email=pending.email or "")
    if form.validate_on_submit():
        try:
            user = upstream.link_with_password(
                db.session(),
                current_clock(),
                pending,
                email=str(form.email.data or ""),
                password=str(form.password.data or ""),
                ip=_client_ip(),
            )
        except RateLimited as error:
            form.form_errors.append(error.detail)
            return _link_page(form, pending), error.status, {"Retry-After": str(error.retry_after)}
        except ValidationFailed as error:
            apply_errors(form, error)
        except Conflict as error:
            return _failed(error)
        else:
            return _finish(user)
    refused = bool(form.form_errors) or any(field.errors for field in form)
    return _link_page(form, pending), 422 if refused else 200


def _link_page(form: LoginForm, pending: PendingLink) -> str:
    return render_template(
        TEMPLATES + "upstream_link.html", form=form, pending=pending, name=upstream.provider_name()
    )
