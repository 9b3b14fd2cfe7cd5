"""Free text a person types into a service (a message, a reason, a note), checked one way."""

from __future__ import annotations

from flask_babel import gettext as _

from marketplace.errors import ValidationFailed

TEXT_MAX = 500


def checked_text(
    value: str | None,
    field: str,
    *,
    required: bool,
    max_length: int = TEXT_MAX,
    missing: str | None = None,
) -> str | None:
    """Return the text stripped (None when blank); refuse it blank when required, or too long.

    `missing` is what to say of a required text left blank (by default: give a reason).
    """
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed({field: missing or _("Give a reason.")})
    if len(text) > max_length:
        raise ValidationFailed({field: _("Use at most %(count)d characters.", count=max_length)})
    return text or None
