"""The firm's subscription pages: subscribe to a plan, then manage seats, plan and the end."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from billing import checkout_views
from billing.charts import daily_usage_chart
from billing.forms import CancelForm, ChangePlanForm, SeatHolderForm, SeatsForm
from billing.models import Subscription, SubscriptionStatus
from billing.services import changes, seats, subscriptions
from billing.services.overview import (
    DimensionUsage,
    SubscriptionOverview,
    firm_subscription_rows,
    scheduled_plan_of,
    seat_fee,
    subscription_overview,
)
from catalog.models import Listing, ListingVersion, ReviewStatus
from catalog.plans import plan_price
from catalog.storefront_views import localized
from marketplace.clock import current_clock
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.forms import apply_errors
from marketplace.orgs.context import acting_org, current_actor, require_org
from marketplace.orgs.models import Membership
from marketplace.orgs.roles import MANAGER_ROLES

bp = Blueprint("subscriptions", __name__)

MANAGERS = MANAGER_ROLES
# Where the firm's invoices will be listed; the link shows once that page exists.
INVOICES_ENDPOINT = "invoices.index"


def service_name(listing: Listing) -> str:
    """Name a subscribed service by its newest approved content, in the reader's language."""
    approved = [v for v in listing.versions if v.review_status == ReviewStatus.APPROVED]
    versions: list[ListingVersion] = approved or listing.versions
    return localized(versions[-1], "name") if versions else listing.slug


def invoices_url(subscription: Subscription) -> str | None:
    """Return the link to the subscription's invoices, or None while there is no such page."""
    if INVOICES_ENDPOINT not in current_app.view_functions:
        return None
    return url_for(INVOICES_ENDPOINT, subscription=subscription.id)


def usage_chart(usage: DimensionUsage) -> str:
    """Return the data: URI of a dimension's daily usage chart."""
    unit = localized(usage.component, "unit_name") or usage.key
    return daily_usage_chart(unit, [d.day for d in usage.days], [d.quantity for d in usage.days])


@bp.context_processor
def _helpers() -> dict[str, Any]:
    membership: Membership | None = g.get("membership")
    return {
        "service_name": service_name,
        "invoices_url": invoices_url,
        "usage_chart": usage_chart,
        "may_manage": membership is not None and membership.role in MANAGERS,
    }


def _refused(form: Any) -> bool:
    return bool(form.form_errors) or any(field.errors for field in form)


# Checkout: firm profile → seats → card → subscription (billing.checkout_views).
bp.add_url_rule(
    "/subscribe/<int:plan_id>", view_func=checkout_views.subscribe, methods=["GET", "POST"]
)
bp.add_url_rule(
    "/subscribe/<int:plan_id>/pay", view_func=checkout_views.pay, methods=["GET", "POST"]
)


@bp.get("/subscriptions")
@require_org("sme", allow_suspended=True)
def index() -> str:
    """List the firm's subscriptions."""
    rows = firm_subscription_rows(db.session(), acting_org().id)
    return render_template("billing/subscriptions.html", rows=rows)


def _overview(subscription_id: int) -> SubscriptionOverview:
    return subscription_overview(db.session(), current_clock(), acting_org().id, subscription_id)


def _detail_page(
    overview: SubscriptionOverview,
    *,
    seats_form: SeatsForm | None = None,
    plan_form: ChangePlanForm | None = None,
    holder_form: SeatHolderForm | None = None,
) -> tuple[str, int]:
    seats_form = seats_form or SeatsForm(
        prefix="seats", formdata=None, data={"seats": overview.subscription.seats}
    )
    plan_form = plan_form or ChangePlanForm(prefix="plan", formdata=None)
    plan_form.plan.choices = [
        SelectChoice(choice.offer.plan.id, localized(choice.offer.plan, "name"))
        for choice in overview.plan_choices
    ]
    holder_form = holder_form or SeatHolderForm(prefix="holder", formdata=None)
    html = render_template(
        "billing/subscription.html",
        overview=overview,
        subscription=overview.subscription,
        seats_form=seats_form,
        plan_form=plan_form,
        holder_form=holder_form,
    )
    refused = any(_refused(form) for form in (seats_form, plan_form, holder_form))
    return html, 422 if refused else 200


@bp.get("/subscriptions/<int:subscription_id>")
@require_org("sme", allow_suspended=True)
def detail(subscription_id: int) -> tuple[str, int]:
    """Show a subscription: seats, plan, usage this period, the next invoice and its history."""
    return _detail_page(_overview(subscription_id))


def _locked(subscription_id: int) -> Subscription:
    return subscriptions.subscription_of_firm(
        db.session(), acting_org().id, subscription_id, for_update=True
    )


def _back(subscription_id: int) -> Response:
    return redirect(url_for(".detail", subscription_id=subscription_id))


def _refusal(subscription_id: int, error: Conflict) -> Response:
    """Go back to the subscription page saying why the change was refused."""
    db.session.expire_all()
    # A move the lifecycle refuses carries its reason in English: say it in the reader's words.
    message = error.detail if "move" not in error.extra else None
    flash(message or _("This subscription cannot make that change in its current state."), "error")
    return _back(subscription_id)


def _invalid(**forms: Any) -> tuple[str, int]:
    """Show the subscription page again with a refused form's errors next to its fields."""
    # The services refuse before they change anything; reload in case one did not.
    db.session.expire_all()
    subscription_id = int(forms.pop("subscription_id"))
    return _detail_page(_overview(subscription_id), **forms)


@bp.post("/subscriptions/<int:subscription_id>/seats")
@require_org("sme", roles=MANAGERS)
def change_seats(subscription_id: int) -> tuple[str, int] | Response:
    """Change the number of seats now, prorated to the second."""
    subscription = _locked(subscription_id)
    form = SeatsForm(prefix="seats")
    form.within(seat_fee(plan_price(subscription.plan)))
    if form.validate_on_submit():
        try:
            changes.change_seats(
                db.session(), current_clock(), current_actor(), subscription, form.seats.data
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        except Conflict as error:
            return _refusal(subscription_id, error)
        else:
            flash(_("The subscription now has %(n)d seats.", n=subscription.seats), "success")
            return _back(subscription_id)
    return _invalid(subscription_id=subscription_id, seats_form=form)


@bp.post("/subscriptions/<int:subscription_id>/plan")
@require_org("sme", roles=MANAGERS)
def change_plan(subscription_id: int) -> tuple[str, int] | Response:
    """Move to another plan: an upgrade applies now, a downgrade at the period's end."""
    subscription = _locked(subscription_id)
    form = ChangePlanForm(prefix="plan")
    if form.validate_on_submit():
        try:
            changes.change_plan(
                db.session(), current_clock(), current_actor(), subscription, form.plan.data
            )
        except ValidationFailed as error:
            apply_errors(form, error)
        except Conflict as error:
            return _refusal(subscription_id, error)
        else:
            flash(_plan_changed_message(subscription), "success")
            return _back(subscription_id)
    return _invalid(subscription_id=subscription_id, plan_form=form)


def _plan_changed_message(subscription: Subscription) -> str:
    scheduled = scheduled_plan_of(db.session(), subscription)
    if scheduled is not None:
        return str(
            _(
                "The plan changes to %(plan)s at the end of the current period.",
                plan=localized(scheduled, "name"),
            )
        )
    return str(
        _(
            "The subscription is now on %(plan)s; the difference is prorated on the next invoice.",
            plan=localized(subscription.plan, "name"),
        )
    )


@bp.post("/subscriptions/<int:subscription_id>/seats/assign")
@require_org("sme", roles=MANAGERS)
def assign_seat(subscription_id: int) -> tuple[str, int] | Response:
    """Give a free seat to a member of the firm."""
    subscription = _locked(subscription_id)
    form = SeatHolderForm(prefix="holder")
    if form.validate_on_submit():
        try:
            seats.assign_seat(
                db.session(), current_clock(), current_actor(), subscription, form.user_id.data
            )
        except ValidationFailed as error:
            form.user_id.errors = [*form.user_id.errors, *error.errors.get("user", [])]
        except Conflict as error:
            return _refusal(subscription_id, error)
        else:
            flash(_("The seat is given."), "success")
            return _back(subscription_id)
    return _invalid(subscription_id=subscription_id, holder_form=form)


@bp.post("/subscriptions/<int:subscription_id>/seats/unassign")
@require_org("sme", roles=MANAGERS)
def unassign_seat(subscription_id: int) -> tuple[str, int] | Response:
    """Take a seat back from a member; it stays paid for and free to give again."""
    subscription = _locked(subscription_id)
    form = SeatHolderForm(prefix="holder")
    if form.validate_on_submit():
        try:
            seats.unassign_seat(
                db.session(), current_clock(), current_actor(), subscription, form.user_id.data
            )
        except NotFound:
            form.user_id.errors = [_("This person holds no seat of this subscription.")]
        else:
            flash(_("The seat is free again."), "success")
            return _back(subscription_id)
    return _invalid(subscription_id=subscription_id, holder_form=form)


@bp.route("/subscriptions/<int:subscription_id>/cancel", methods=["GET", "POST"])
@require_org("sme", roles=MANAGERS)
def cancel(subscription_id: int) -> tuple[str, int] | Response:
    """Confirm and cancel a subscription, now or at the end of its period."""
    subscription = _locked(subscription_id)
    if subscription.status == SubscriptionStatus.CANCELLED:
        flash(_("This subscription has already ended."), "error")
        return _back(subscription_id)
    form = CancelForm()
    if subscription.status == SubscriptionStatus.PENDING or subscription.cancel_at_period_end:
        form.only_now()
    if form.validate_on_submit():
        try:
            subscriptions.cancel(
                db.session(),
                current_clock(),
                current_actor(),
                subscription,
                at_period_end=form.when.data == "period_end",
                reason=(form.reason.data or "").strip() or None,
            )
        except Conflict as error:
            return _refusal(subscription_id, error)
        flash(_cancelled_message(subscription), "success")
        return _back(subscription_id)
    html = render_template("billing/cancel.html", subscription=subscription, form=form)
    return html, 422 if _refused(form) else 200


def _cancelled_message(subscription: Subscription) -> str:
    if subscription.status == SubscriptionStatus.CANCELLED:
        return str(_("The subscription is cancelled."))
    return str(_("The subscription ends at the end of the current period."))


@bp.post("/subscriptions/<int:subscription_id>/keep")
@require_org("sme", roles=MANAGERS)
def keep(subscription_id: int) -> Response:
    """Withdraw a cancellation scheduled for the period's end."""
    subscription = _locked(subscription_id)
    try:
        subscriptions.undo_scheduled_cancellation(
            db.session(), current_clock(), current_actor(), subscription
        )
    except Conflict as error:
        return _refusal(subscription_id, error)
    flash(_("The subscription goes on: the cancellation is withdrawn."), "success")
    return _back(subscription_id)
