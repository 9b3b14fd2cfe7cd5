"""The account forms: they carry the fields and CSRF; the services judge the values."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)

from marketplace.accounts.inputs import MAX_DISPLAY_NAME_LENGTH
from marketplace.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from marketplace.i18n import LANGUAGES

# Attributes that let the browser help (autofill, password managers, phone keyboards);
# the same rules are enforced again by the services.
NAME_ATTRS = {"required": True, "maxlength": MAX_DISPLAY_NAME_LENGTH, "autocomplete": "name"}
EMAIL_ATTRS = {"required": True, "autocomplete": "email", "inputmode": "email"}
CURRENT_PASSWORD_ATTRS = {"required": True, "autocomplete": "current-password"}
NEW_PASSWORD_ATTRS = {
    "required": True,
    "minlength": MIN_PASSWORD_LENGTH,
    "maxlength": MAX_PASSWORD_LENGTH,
    "autocomplete": "new-password",
}
PASSWORD_HINT = _l("At least 10 characters; not your email address or a common password.")


class SignupForm(FlaskForm):
    """Create an account."""

    display_name = StringField(_l("Your name"), render_kw=NAME_ATTRS)
    email = EmailField(_l("Email address"), render_kw=EMAIL_ATTRS)
    password = PasswordField(
        _l("Password"), description=PASSWORD_HINT, render_kw=NEW_PASSWORD_ATTRS
    )
    password_confirm = PasswordField(_l("Repeat the password"), render_kw=NEW_PASSWORD_ATTRS)
    submit = SubmitField(_l("Create account"))


class LoginForm(FlaskForm):
    """Sign in with email address and password."""

    email = EmailField(_l("Email address"), render_kw=EMAIL_ATTRS)
    password = PasswordField(_l("Password"), render_kw=CURRENT_PASSWORD_ATTRS)
    remember = BooleanField(_l("Keep me signed in on this device"))
    next = HiddenField()
    submit = SubmitField(_l("Log in"))


class ForgotPasswordForm(FlaskForm):
    """Ask for a password-reset link."""

    email = EmailField(_l("Email address"), render_kw=EMAIL_ATTRS)
    submit = SubmitField(_l("Send me a link"))


class ResetPasswordForm(FlaskForm):
    """Choose a new password through a reset link."""

    password = PasswordField(
        _l("New password"), description=PASSWORD_HINT, render_kw=NEW_PASSWORD_ATTRS
    )
    password_confirm = PasswordField(_l("Repeat the new password"), render_kw=NEW_PASSWORD_ATTRS)
    submit = SubmitField(_l("Set the new password"))


class ChangePasswordForm(FlaskForm):
    """Replace the password, proving the current one."""

    current_password = PasswordField(_l("Current password"), render_kw=CURRENT_PASSWORD_ATTRS)
    new_password = PasswordField(
        _l("New password"), description=PASSWORD_HINT, render_kw=NEW_PASSWORD_ATTRS
    )
    new_password_confirm = PasswordField(
        _l("Repeat the new password"), render_kw=NEW_PASSWORD_ATTRS
    )
    submit = SubmitField(_l("Change password"))


class SettingsForm(FlaskForm):
    """The user's name and language."""

    display_name = StringField(_l("Your name"), render_kw=NAME_ATTRS)
    locale = SelectField(
        _l("Language"),
        choices=[SelectChoice(code, label) for code, label in LANGUAGES.items()],
        validate_choice=False,
    )
    submit = SubmitField(_l("Save"))
