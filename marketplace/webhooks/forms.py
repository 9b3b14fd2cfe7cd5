"""Forms of the vendor console's webhook pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from marketplace.webhooks.event_types import EVENT_TYPES


class EndpointForm(FlaskForm):
    """Register an endpoint: its URL, the events it takes, a note, live or sandbox."""

    url = StringField(
        _l("URL"),
        validators=[DataRequired(), Length(max=2000)],
        description=_l("An https address of yours that answers 2xx within 10 seconds."),
    )
    description = StringField(_l("Description"), validators=[Length(max=200)])
    event_types = SelectMultipleField(
        _l("Events"),
        choices=[SelectChoice(t, t) for t in EVENT_TYPES],
        validators=[DataRequired(message=_l("Choose at least one event type."))],
    )
    sandbox = BooleanField(
        _l("Sandbox endpoint"),
        description=_l(
            "A sandbox endpoint gets only the events of test firms and sandbox listings."
        ),
    )
    submit = SubmitField(_l("Add endpoint"))
