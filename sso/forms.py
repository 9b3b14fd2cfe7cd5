"""Forms of the vendor console's API client pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from sso.scopes import ALLOWED_SCOPES
from sso.services import NAME_MAX_LENGTH, NAME_MIN_LENGTH

SCOPE_LABELS = {
    "catalog:read": _l("Read your listings and plans"),
    "catalog:write": _l("Create and change listings and plans"),
    "usage:write": _l("Report metered usage"),
    "subscriptions:read": _l("Read subscriptions and entitlements"),
    "subscriptions:write": _l("Activate and change subscriptions"),
    "webhooks:read": _l("Read webhook endpoints and their deliveries"),
    "webhooks:write": _l("Manage webhook endpoints, send test events, redeliver"),
}


class ApiClientForm(FlaskForm):
    """Create an API client: a name, its scopes and whether it works on sandbox data."""

    name = StringField(
        _l("Name"),
        validators=[DataRequired(), Length(min=NAME_MIN_LENGTH, max=NAME_MAX_LENGTH)],
        description=_l("Say which system uses it, e.g. “billing sync”."),
    )
    scopes = SelectMultipleField(
        _l("Scopes"),
        choices=[SelectChoice(scope, scope) for scope in ALLOWED_SCOPES],
        validators=[DataRequired(message=_l("Choose at least one scope."))],
    )
    sandbox = BooleanField(
        _l("Sandbox client"),
        description=_l("A sandbox client sees only test firms and test subscriptions."),
    )
    submit = SubmitField(_l("Create API client"))
