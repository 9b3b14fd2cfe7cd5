"""Forms of the operator console."""

from __future__ import annotations

from collections.abc import Mapping

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    SearchField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from marketplace.errors import ValidationFailed
from marketplace.orgs.labels import KIND_LABELS
from marketplace.orgs.models import OrgStatus

STATUS_LABELS = {OrgStatus.ACTIVE.value: _l("Active"), OrgStatus.SUSPENDED.value: _l("Suspended")}


def _choices(blank: object, labels: Mapping[str, object]) -> list[SelectChoice]:
    return [SelectChoice("", blank), *(SelectChoice(v, label) for v, label in labels.items())]


class FilterForm(FlaskForm):
    """A GET form: read from the query string, no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False


class OrganizationSearchForm(FilterForm):
    """Search organizations by name or credit code, by kind and status."""

    q = SearchField(_l("Name or credit code"), validators=[Optional(), Length(max=200)])
    kind = SelectField(
        _l("Kind"),
        choices=_choices(_l("All kinds"), KIND_LABELS),
        validators=[Optional()],
    )
    status = SelectField(
        _l("Status"),
        choices=_choices(_l("Any status"), STATUS_LABELS),
        validators=[Optional()],
    )


class UserSearchForm(FilterForm):
    """Search users by email or name."""

    q = SearchField(_l("Email or name"), validators=[Optional(), Length(max=254)])


class AuditFilterForm(FilterForm):
    """Filter the audit log by action and organization."""

    # The service checks the action against the log, so the field takes any value here.
    action = SelectField(
        _l("Action"), choices=[SelectChoice("", _l("All actions"))], validate_choice=False
    )
    organization = IntegerField(_l("Organization id"), validators=[Optional(), NumberRange(min=1)])

    def offer_actions(self, actions: list[str]) -> None:
        """Offer the actions the log holds as the filter's choices."""
        self.action.choices = [SelectChoice("", _l("All actions")), *map(SelectChoice, actions)]


class ReasonForm(FlaskForm):
    """A change that must say why: suspension or deactivation."""

    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(min=1, max=500)])


class UsccConfirmForm(FlaskForm):
    """Confirm an unverified credit code, optionally with a note."""

    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=500)])


class UsccRejectForm(FlaskForm):
    """Reject an unverified credit code; the note tells the firm what to correct."""

    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(min=1, max=500)])


class NewParkForm(FlaskForm):
    """Create an industrial park and invite its first admin."""

    name = StringField(_l("Park name"), validators=[DataRequired(), Length(min=2, max=200)])
    admin_email = EmailField(
        _l("Email of the park's first admin"), validators=[DataRequired(), Email(), Length(max=254)]
    )


def show_errors(form: FlaskForm, error: ValidationFailed) -> None:
    """Show a service's validation errors on the form without repeating the form's own."""
    for name, messages in error.errors.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.extend(m for m in messages if m not in form.form_errors)
        else:
            field.errors = [*field.errors, *(m for m in messages if m not in field.errors)]


def validated(form: FlaskForm) -> None:
    """Validate a submitted form, raising ValidationFailed with its field errors."""
    if not form.validate():
        errors = {name or "form": list(msgs) for name, msgs in form.errors.items()}
        raise ValidationFailed(errors)
