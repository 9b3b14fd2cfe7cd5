"""Helpers shared by the Flask-WTF forms."""

from __future__ import annotations

from flask_wtf import FlaskForm

from marketplace.errors import ValidationFailed


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token travels with it."""


def apply_errors(form: FlaskForm, error: ValidationFailed) -> None:
    """Show a service's validation errors on the form fields they name."""
    for name, messages in error.errors.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = [*field.errors, *messages]
