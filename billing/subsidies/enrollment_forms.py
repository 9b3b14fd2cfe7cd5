"""Forms of enrollment: a firm's application, a park's rejection, the operator's credit flag.

The services check the text (required, at most 500 characters) and name the field, so a
refused form shows the message beside the box; the forms only carry what was typed.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField, TextAreaField

TEXT_BOX = {"maxlength": 500, "rows": 3}


class ApplyForm(FlaskForm):
    """Apply to a subsidy program, with an optional message to the park."""

    message = TextAreaField(_l("Message to the park (optional)"), render_kw=TEXT_BOX)
    submit = SubmitField(_l("Apply"))


class RejectApplicationForm(FlaskForm):
    """Turn a firm's application down with a reason the firm will see."""

    reason = TextAreaField(_l("Reason"), render_kw=TEXT_BOX)
    submit = SubmitField(_l("Reject application"))


class CreditFlagForm(FlaskForm):
    """Flag a firm as seriously dishonest (严重失信), or clear the flag."""

    flagged = BooleanField(_l("Listed as seriously dishonest (严重失信)"))
    note = TextAreaField(
        _l("Note: where the firm is listed, or why the flag is cleared"), render_kw=TEXT_BOX
    )
    submit = SubmitField(_l("Save"))
