"""Errors of the accounts part."""

from __future__ import annotations

from marketplace.errors import AppError, Forbidden


class InvalidLink(AppError):
    """A mailed link is not valid, was already used, or has expired."""

    status = 400
    code = "invalid_link"
    title = "This link cannot be used"


class EmailNotConfirmed(Forbidden):
    """The user must confirm the email address before doing this."""

    code = "email_not_confirmed"
    title = "Email address not confirmed"
