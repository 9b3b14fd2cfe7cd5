"""The operator's listing review pages: the queue, one review with its diff, the decisions."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from catalog.services import review
from catalog.services.review import REASON_MAX
from marketplace.clock import current_clock
from marketplace.console.forms import show_errors, validated
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import ConfirmForm
from marketplace.orgs.context import acting_membership, current_actor, require_org
from marketplace.orgs.models import OrgKind
from marketplace.orgs.roles import MANAGER_ROLES

bp = Blueprint("catalog_review", __name__, url_prefix="/console/listings")

OPERATOR = OrgKind.OPERATOR.value


class RejectForm(FlaskForm):
    """Reject a listing; the reason is what the vendor reads."""

    reason = TextAreaField(
        _l("Reason the vendor will see"),
        validators=[DataRequired(), Length(min=1, max=REASON_MAX)],
    )


def _review_page(listing_id: int, reject_form: RejectForm | None = None) -> str:
    return render_template(
        "catalog/review/review.html",
        detail=review.review_detail(db.session(), current_actor(), listing_id),
        approve_form=ConfirmForm(prefix="approve"),
        reject_form=reject_form or RejectForm(prefix="reject"),
        can_act=acting_membership().role in MANAGER_ROLES,
    )


@bp.get("/reviews")
@require_org(OPERATOR)
def queue() -> ResponseReturnValue:
    """List the listings waiting for review, the longest waiting first."""
    reviews = review.review_queue(db.session(), current_actor())
    return render_template("catalog/review/queue.html", reviews=reviews)


@bp.get("/<int:listing_id>/review")
@require_org(OPERATOR)
def show(listing_id: int) -> ResponseReturnValue:
    """Show the submitted version beside the last published one, with what changed."""
    return _review_page(listing_id)


@bp.post("/<int:listing_id>/approve")
@require_org(OPERATOR, roles=MANAGER_ROLES)
def approve(listing_id: int) -> ResponseReturnValue:
    """Publish the version in review."""
    review.approve(db.session(), current_clock(), current_actor(), listing_id)
    flash(_("The listing is published."), "success")
    return redirect(url_for(".queue"))


@bp.post("/<int:listing_id>/reject")
@require_org(OPERATOR, roles=MANAGER_ROLES)
def reject(listing_id: int) -> ResponseReturnValue:
    """Send the version in review back to the vendor with a reason."""
    form = RejectForm(prefix="reject")
    try:
        validated(form)
        review.reject(db.session(), current_clock(), current_actor(), listing_id, form.reason.data)
    except ValidationFailed as error:
        show_errors(form, error)
        return _review_page(listing_id, form), 422
    flash(_("The listing is rejected; the vendor sees your reason."), "success")
    return redirect(url_for(".queue"))
