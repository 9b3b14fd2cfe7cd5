"""Pages of the accounts part: sign up, confirm, log in and out, passwords, settings."""

from __future__ import annotations

from typing import cast

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import Field

from marketplace.accounts import services
from marketplace.accounts.access import end_session, start_session
from marketplace.accounts.errors import InvalidLink
from marketplace.accounts.forms import (
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ResetPasswordForm,
    SettingsForm,
    SignupForm,
)
from marketplace.accounts.models import User
from marketplace.clock import current_clock
from marketplace.errors import Conflict, RateLimited, ValidationFailed
from marketplace.extensions import db
from marketplace.forms import apply_errors
from marketplace.i18n import current_language
from marketplace.security import allow_form_targets_for_next
from marketplace.urls import safe_next

bp = Blueprint("accounts", __name__)
TEMPLATES = "marketplace/accounts/"


def _text(field: Field) -> str:
    return str(field.data or "")


def _client_ip() -> str:
    return request.remote_addr or "unknown"


def _signed_in_user() -> User:
    return cast(User, current_user._get_current_object())


def _form_page(template: str, form: FlaskForm, **context: object) -> ResponseReturnValue:
    """Render a form page, answering 422 when the submitted form was refused."""
    refused = bool(form.form_errors) or any(field.errors for field in form)
    html = render_template(TEMPLATES + template, form=form, **context)
    return html, 422 if refused else 200


def _home() -> str:
    return url_for("web.home")


# ---- sign up and confirm --------------------------------------------------------------------


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    """Show the sign-up form; create the account, sign it in and ask for confirmation."""
    if current_user.is_authenticated:
        return redirect(_home())
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = services.sign_up(
                db.session(),
                current_clock(),
                display_name=_text(form.display_name),
                email=_text(form.email),
                password=_text(form.password),
                password_confirm=_text(form.password_confirm),
                locale=current_language(),
                ip=_client_ip(),
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            start_session(user)
            return redirect(url_for("accounts.check_mail"))
    return _form_page("signup.html", form)


@bp.get("/signup/check-mail")
@login_required
def check_mail() -> str:
    """Ask the new user to follow the link we mailed."""
    return render_template(TEMPLATES + "check_mail.html")


@bp.get("/confirm/<token>")
def confirm(token: str) -> ResponseReturnValue:
    """Confirm the email address a mailed link vouches for."""
    try:
        outcome = services.confirm_email(db.session(), current_clock(), token)
    except InvalidLink as error:
        return _invalid_link(error, "confirm")
    return render_template(TEMPLATES + "confirmed.html", outcome=outcome)


@bp.post("/confirm/resend")
@login_required
def resend_confirmation() -> ResponseReturnValue:
    """Mail the signed-in user a new confirmation link."""
    try:
        services.resend_confirmation(db.session(), current_clock(), _signed_in_user())
    except (Conflict, RateLimited) as error:
        flash(error.detail, "warning")
    else:
        flash(_("We sent a new link to %(email)s.", email=current_user.email), "success")
    return redirect(safe_next(request.form.get("next"), url_for("accounts.check_mail")))


def _invalid_link(error: InvalidLink, purpose: str) -> ResponseReturnValue:
    html = render_template(TEMPLATES + "link_invalid.html", error=error, purpose=purpose)
    return html, error.status


# ---- log in and out -------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the sign-in form and sign the user in, under the failed-attempt throttle."""
    # An app may ask a signed-in user to prove it is them again (OpenID prompt=login).
    again = current_user.is_authenticated and request.args.get("again") == "1"
    email = request.args.get("email") or (current_user.email if again else "")
    form = LoginForm(next=request.args.get("next", ""), email=email)
    allow_form_targets_for_next(_text(form.next))
    if current_user.is_authenticated and request.method == "GET" and not again:
        return redirect(safe_next(_text(form.next), _home()))
    if form.validate_on_submit():
        try:
            user = services.log_in(
                db.session(),
                current_clock(),
                email=_text(form.email),
                password=_text(form.password),
                ip=_client_ip(),
            )
        except RateLimited as error:
            return _locked_out(form, error)
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            start_session(user, remember=bool(form.remember.data))
            return redirect(safe_next(_text(form.next), _home()))
    return _form_page("login.html", form, again=again)


def _locked_out(form: LoginForm, error: RateLimited) -> ResponseReturnValue:
    form.form_errors.append(error.detail)
    html = render_template(TEMPLATES + "login.html", form=form)
    return html, error.status, {"Retry-After": str(error.retry_after)}


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out and clear the session."""
    end_session()
    flash(_("You are logged out."), "info")
    return redirect(_home())


# ---- passwords ------------------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password() -> ResponseReturnValue:
    """Ask for an address and mail a reset link if it has an account (same answer either way)."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            services.request_password_reset(db.session(), current_clock(), email=_text(form.email))
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            return render_template(TEMPLATES + "reset_sent.html", email=_text(form.email))
    return _form_page("forgot_password.html", form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> ResponseReturnValue:
    """Let the holder of a reset link choose a new password, then sign them in afresh."""
    form = ResetPasswordForm()
    try:
        if not form.validate_on_submit():
            services.user_for_reset_token(db.session(), current_clock(), token)
            return _form_page("reset_password.html", form)
        user = services.reset_password(
            db.session(),
            current_clock(),
            token,
            password=_text(form.password),
            password_confirm=_text(form.password_confirm),
            ip=_client_ip(),
        )
    except InvalidLink as error:
        return _invalid_link(error, "reset")
    except ValidationFailed as error:
        apply_errors(form, error)
        return _form_page("reset_password.html", form)
    start_session(user)
    flash(_("Your new password is set, and every other session is signed out."), "success")
    return redirect(_home())


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def change_password() -> ResponseReturnValue:
    """Change the password; this browser stays signed in, every other session ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = services.change_password(
                db.session(),
                current_clock(),
                _signed_in_user(),
                current_password=_text(form.current_password),
                new_password=_text(form.new_password),
                new_password_confirm=_text(form.new_password_confirm),
                ip=_client_ip(),
            )
        except RateLimited as error:
            form.form_errors.append(error.detail)
            return render_template(TEMPLATES + "change_password.html", form=form), error.status
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            start_session(user)
            flash(_("Your password is changed; other sessions are signed out."), "success")
            return redirect(url_for("accounts.settings"))
    return _form_page("change_password.html", form)


# ---- settings -------------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> ResponseReturnValue:
    """Show and save the user's name and language."""
    user = _signed_in_user()
    form = SettingsForm(obj=user)
    if request.method == "GET" and not user.locale:
        form.locale.data = current_language()
    if form.validate_on_submit():
        try:
            services.update_settings(
                db.session(),
                current_clock(),
                user,
                display_name=_text(form.display_name),
                locale=_text(form.locale),
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        else:
            # The saved language now decides; a choice made with the switch would override it.
            session.pop("lang", None)
            flash(_("Your settings are saved."), "success")
            return redirect(url_for("accounts.settings"))
    return _form_page("settings.html", form, user=user)
