"""Forms of the orgs part."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length

from marketplace.orgs.labels import ROLE_LABELS
from marketplace.orgs.services import NAME_MAX_LENGTH, NAME_MIN_LENGTH

ROLE_CHOICES = [SelectChoice(role, label) for role, label in ROLE_LABELS.items()]


def role_choices(roles: tuple[str, ...]) -> list[SelectChoice]:
    """Return select options for the given roles, in their order."""
    return [SelectChoice(role, ROLE_LABELS[role]) for role in roles]


def _stripped(value: str | None) -> str | None:
    return value.strip() if value else value


class SwitchOrganizationForm(FlaskForm):
    """Choose which organization to act for."""

    org_id = IntegerField(_l("Organization"), validators=[InputRequired()])
    next = HiddenField()


class VendorApplicationForm(FlaskForm):
    """Apply to sell on the marketplace as a vendor."""

    name = StringField(
        _l("Vendor name"),
        validators=[DataRequired(), Length(min=NAME_MIN_LENGTH, max=NAME_MAX_LENGTH)],
        description=_l("The company name buyers will see on your listings."),
    )
    submit = SubmitField(_l("Create vendor organization"))


class InvitationForm(FlaskForm):
    """Invite someone by email with a role."""

    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(), Length(max=254)],
        filters=[_stripped],
    )
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="member")
    submit = SubmitField(_l("Send invitation"))


class RoleForm(FlaskForm):
    """Change a member's role."""

    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
