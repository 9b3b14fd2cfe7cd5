"""Checks of what a person types into the account forms, with messages naming the problem."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _

from marketplace.accounts.passwords import (
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordProblem,
    password_problems,
)

MAX_DISPLAY_NAME_LENGTH = 100
Errors = dict[str, list[str]]


def display_name(raw: str, errors: Errors) -> str:
    """Return the name with spacing tidied, noting in errors if it is empty or too long."""
    name = " ".join(raw.split())
    if not name:
        errors["display_name"] = [_("Enter the name other people will see.")]
    elif len(name) > MAX_DISPLAY_NAME_LENGTH:
        errors["display_name"] = [_("Use at most %(num)d characters.", num=MAX_DISPLAY_NAME_LENGTH)]
    return name


def normalize_email(raw: str) -> str:
    """Return the canonical, lower-case form of an address, or raise EmailNotValidError."""
    return validate_email(raw.strip(), check_deliverability=False).normalized.lower()


def email(raw: str, errors: Errors) -> str:
    """Return the normalized address, noting in errors if it is missing or malformed."""
    if not raw.strip():
        errors["email"] = [_("Enter your email address.")]
        return ""
    try:
        return normalize_email(raw)
    except EmailNotValidError:
        errors["email"] = [_("Enter a valid email address, like name@example.com.")]
        return raw.strip().lower()


def _password_message(problem: PasswordProblem) -> str:
    if problem is PasswordProblem.TOO_SHORT:
        message = _("Use at least %(num)d characters.", num=MIN_PASSWORD_LENGTH)
    elif problem is PasswordProblem.TOO_LONG:
        message = _("Use at most %(num)d characters.", num=MAX_PASSWORD_LENGTH)
    elif problem is PasswordProblem.SAME_AS_EMAIL:
        message = _("Do not use your email address as your password.")
    else:
        message = _("This password is too common and easy to guess; choose another.")
    return str(message)


def new_password(
    password: str,
    confirm: str,
    address: str,
    errors: Errors,
    *,
    field: str = "password",
    confirm_field: str = "password_confirm",
) -> None:
    """Note in errors what is wrong with a new password and its repetition."""
    if not password:
        errors[field] = [_("Choose a password.")]
    else:
        problems = password_problems(password, address)
        if problems:
            errors[field] = [_password_message(problem) for problem in problems]
    if password and confirm != password:
        errors[confirm_field] = [_("The two passwords do not match.")]


def email_unavailable() -> list[str]:
    """Return the message for an address that already has an account."""
    # Says no more than needed: not whether the account is confirmed, active or whose it is.
    return [
        _(
            "This email address cannot be used to sign up. If it is yours, log in "
            "or reset your password."
        )
    ]
