"""Forms of the firm's subscription pages; the services check every value again."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from catalog.pricing import SeatFee

REASON_MAX_LENGTH = 500
WHOLE_NUMBER = _l("Enter a whole number.")


def _seat_bounds(seat_fee: SeatFee) -> NumberRange:
    if seat_fee.max_seats is None:
        message = _l("Choose at least %(min)d seats.", min=seat_fee.min_seats)
    else:
        message = _l(
            "Choose from %(min)d to %(max)d seats.", min=seat_fee.min_seats, max=seat_fee.max_seats
        )
    return NumberRange(min=seat_fee.min_seats, max=seat_fee.max_seats, message=message)


class SubscribeForm(FlaskForm):
    """Confirm a subscription to a plan, with the seats to start with."""

    seats = IntegerField(
        _l("Seats"),
        validators=[Optional()],
        render_kw={"inputmode": "numeric"},
        description=_l("One seat for each person of the firm who will use the service."),
    )
    submit = SubmitField(_l("Subscribe"))

    def require_seats(self, seat_fee: SeatFee | None) -> None:
        """Ask for seats within the plan's bounds, or for none when it sells none."""
        if seat_fee is None:
            del self.seats
            return
        self.seats.validators = [InputRequired(WHOLE_NUMBER), _seat_bounds(seat_fee)]
        self.seats.render_kw = {
            "inputmode": "numeric",
            "min": seat_fee.min_seats,
            **({"max": seat_fee.max_seats} if seat_fee.max_seats is not None else {}),
        }
        if self.seats.data is None and not self.is_submitted():
            self.seats.data = seat_fee.min_seats


class SeatsForm(FlaskForm):
    """Change how many seats a subscription has."""

    seats = IntegerField(
        _l("Number of seats"),
        validators=[InputRequired(WHOLE_NUMBER), NumberRange(min=0, message=WHOLE_NUMBER)],
        render_kw={"inputmode": "numeric", "min": 0},
    )
    submit = SubmitField(_l("Change seats"))

    def within(self, seat_fee: SeatFee | None) -> None:
        """Ask for a number of seats the plan sells."""
        if seat_fee is not None:
            self.seats.validators = [InputRequired(WHOLE_NUMBER), _seat_bounds(seat_fee)]


class SeatHolderForm(FlaskForm):
    """Give a seat to a member of the firm, or take it back."""

    user_id = IntegerField(validators=[InputRequired(_l("Choose a member of the firm."))])


class ChangePlanForm(FlaskForm):
    """Move the subscription to another plan of the same service."""

    plan = SelectField(
        _l("New plan"),
        coerce=int,
        validate_choice=False,
        validators=[InputRequired(_l("Choose a plan."))],
    )
    submit = SubmitField(_l("Change plan"))


CANCEL_CHOICES = [
    SelectChoice("period_end", _l("At the end of the current period: keep using it until then")),
    SelectChoice("now", _l("Now: the service stops at once and usage so far is billed")),
]


class CancelForm(FlaskForm):
    """Cancel a subscription now or at its period's end, with an optional reason."""

    when = RadioField(
        _l("When should the subscription end?"),
        choices=CANCEL_CHOICES,
        default="period_end",
        validators=[InputRequired(_l("Choose when the subscription ends."))],
    )
    reason = TextAreaField(
        _l("Reason (optional)"),
        validators=[
            Length(
                max=REASON_MAX_LENGTH,
                message=_l("Use at most %(max)d characters.", max=REASON_MAX_LENGTH),
            )
        ],
        render_kw={"rows": 3, "maxlength": REASON_MAX_LENGTH},
    )
    submit = SubmitField(_l("Cancel the subscription"))

    def only_now(self) -> None:
        """Offer only cancelling now (a pending subscription has no period to run out)."""
        self.when.choices = [c for c in CANCEL_CHOICES if c.value == "now"]
        self.when.data = self.when.data or "now"
