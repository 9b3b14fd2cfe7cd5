"""The messages the accounts part mails, with their signed links."""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace.accounts import tokens
from marketplace.accounts.models import User
from marketplace.clock import Clock
from marketplace.mail.services import queue_email
from marketplace.urls import external_url

CONFIRM_EMAIL = "confirm_email"
PASSWORD_RESET = "password_reset"  # noqa: S105 (a mail kind, not a secret)


def secret_key() -> str:
    """Return the key that signs the links."""
    return str(current_app.config["SECRET_KEY"])


def queue_confirmation(session: Session, clock: Clock, user: User) -> None:
    """Queue the message asking the user to confirm the email address."""
    token = tokens.issue_confirmation_token(secret_key(), clock.now(), user.id, user.email)
    body = _(
        "Hello %(name)s,\n\nplease confirm your email address for Yunshi by opening this "
        "link:\n\n%(link)s\n\nThe link works for 3 days. If you did not sign up, ignore "
        "this message.",
        name=user.display_name,
        link=external_url("accounts.confirm", token=token),
    )
    subject = _("Confirm your email address for Yunshi")
    queue_email(session, clock, to=user.email, kind=CONFIRM_EMAIL, subject=subject, body=body)


def queue_password_reset(session: Session, clock: Clock, user: User) -> None:
    """Queue the message with a one-time link to choose a new password."""
    token = tokens.issue_reset_token(secret_key(), clock.now(), user.id, user.password_hash)
    body = _(
        "Hello %(name)s,\n\nsomeone asked to reset the password of your Yunshi account. "
        "To choose a new password, open this link:\n\n%(link)s\n\nThe link works for one "
        "hour and only once. If you did not ask for it, ignore this message: your password "
        "stays as it is.",
        name=user.display_name,
        link=external_url("accounts.reset_password", token=token),
    )
    subject = _("Reset your Yunshi password")
    queue_email(session, clock, to=user.email, kind=PASSWORD_RESET, subject=subject, body=body)
