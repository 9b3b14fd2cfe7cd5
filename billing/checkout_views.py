"""Checkout pages: firm profile → seats → card (Stripe.js) → the subscription.

The routes hang on the subscriptions blueprint (billing.views registers them), so the
storefront's "Subscribe" links keep their endpoint.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, IntegerField, RadioField, SelectChoice, SubmitField
from wtforms.validators import InputRequired, Optional

from billing.forms import SubscribeForm
from billing.models import Subscription, SubscriptionStatus
from billing.payments import checkout
from billing.payments import services as cards
from billing.payments.errors import PaymentServiceUnavailable
from billing.payments.gateway import SetupIntentInfo, card_messages, stripe_gateway
from billing.payments.models import PaymentMethod
from marketplace.clock import current_clock
from marketplace.errors import Conflict, Forbidden, Unauthorized, ValidationFailed
from marketplace.extensions import db
from marketplace.forms import apply_errors
from marketplace.orgs.context import current_actor
from marketplace.orgs.models import Membership, OrgKind
from marketplace.orgs.roles import MANAGER_ROLES

SAVED, NEW = "saved", "new"


class PayForm(FlaskForm):
    """Pay for a subscription with the firm's default card or a card confirmed by Stripe.js."""

    seats = IntegerField(validators=[Optional()])
    card_choice = RadioField(
        _l("Card"),
        choices=[SelectChoice(NEW, _l("A new card"))],
        default=NEW,
        validators=[InputRequired(_l("Choose a card."))],
    )
    setup_intent = HiddenField()
    submit = SubmitField(_l("Subscribe and save the card"))

    def offer_saved(self, card: PaymentMethod | None) -> None:
        """Offer the firm's default card first, when it has one."""
        if card is None:
            return
        label = _l("The saved card ending in %(last4)s", last4=card.last4)
        self.card_choice.choices = [SelectChoice(SAVED, label), SelectChoice(NEW, _l("A new card"))]
        if not self.is_submitted():
            self.card_choice.data = SAVED

    def payment(self) -> checkout.SavedCard | checkout.NewCard:
        """Return how the firm pays, as the service takes it."""
        if self.card_choice.data == SAVED:
            return checkout.SavedCard()
        return checkout.NewCard((self.setup_intent.data or "").strip())


def firm_manager() -> Membership:
    """Return the acting membership if it may subscribe the firm; refuse clearly otherwise."""
    if not current_user.is_authenticated:
        raise Unauthorized()
    membership: Membership | None = g.get("membership")
    if membership is None:
        raise Forbidden(_("Register your firm first: only a firm can subscribe to a service."))
    org = membership.organization
    if org.kind != OrgKind.SME:
        raise Forbidden(
            _("Only a firm (SME) can subscribe. Switch to your firm's organization first.")
        )
    if not org.is_active:
        raise Forbidden(_("This firm is suspended and cannot subscribe."))
    if membership.role not in MANAGER_ROLES:
        raise Forbidden(_("Only the firm's owner or an admin can subscribe for the firm."))
    return membership


def _refused(form: Any) -> bool:
    return bool(form.form_errors) or any(field.errors for field in form)


def _profile_page(plan_checkout: checkout.Checkout, status: int) -> tuple[str, int]:
    html = render_template("billing/subscribe_profile.html", checkout=plan_checkout)
    return html, status


def subscribe(plan_id: int) -> tuple[str, int] | Response:
    """Check the firm's profile, choose seats, then go on to the card (or subscribe if free)."""
    org_id = firm_manager().organization_id
    plan_checkout = checkout.checkout_of(db.session(), org_id, plan_id)
    if not plan_checkout.ready and plan_checkout.offer.existing is None:
        return _profile_page(plan_checkout, 409 if request.method == "POST" else 200)
    form = SubscribeForm()
    form.require_seats(plan_checkout.offer.seat_fee)
    if plan_checkout.needs_card:
        form.submit.label.text = _("Continue to payment")
    if plan_checkout.offer.existing is None and form.validate_on_submit():
        seats = form.seats.data if plan_checkout.offer.seat_fee else None
        if plan_checkout.needs_card:
            return redirect(url_for(".pay", plan_id=plan_id, seats=seats))
        subscription = _subscribe(form, org_id, plan_id, seats, None)
        if subscription is not None:
            return _subscribed(subscription)
    html = render_template("billing/subscribe.html", checkout=plan_checkout, form=form)
    return html, 422 if _refused(form) else 200


def _subscribe(
    form: FlaskForm,
    org_id: int,
    plan_id: int,
    seats: int | None,
    payment: checkout.SavedCard | checkout.NewCard | None,
) -> Subscription | None:
    """Subscribe through the checkout service; put its refusal on the form and return None."""
    try:
        return checkout.subscribe(
            db.session(), current_clock(), current_actor(), org_id, plan_id, seats, payment
        )
    except ValidationFailed as error:
        # The card's errors show next to the card field, which Stripe.js fills, not WTForms.
        form.card_errors = error.errors.pop("card", [])
        apply_errors(form, error)
    except Conflict as error:
        form.form_errors.append(error.detail)
    return None


def _subscribed(subscription: Subscription) -> Response:
    if subscription.status == SubscriptionStatus.PENDING:
        flash(_("Subscribed. The vendor is told and will start the service."), "success")
    else:
        flash(_("Subscribed. The service has started."), "success")
    return redirect(url_for(".detail", subscription_id=subscription.id))


def pay(plan_id: int) -> tuple[str, int] | Response:
    """Take the card through Stripe.js (or use the saved one), then create the subscription."""
    org_id = firm_manager().organization_id
    session = db.session()
    plan_checkout = checkout.checkout_of(session, org_id, plan_id)
    if not plan_checkout.ready and plan_checkout.offer.existing is None:
        return _profile_page(plan_checkout, 409 if request.method == "POST" else 200)
    if plan_checkout.offer.existing is not None or not plan_checkout.needs_card:
        return redirect(url_for(".subscribe", plan_id=plan_id))
    form = PayForm(formdata=request.form if request.method == "POST" else request.args)
    form.offer_saved(cards.default_card(session, org_id))
    if request.method == "POST" and form.validate():
        subscription = _subscribe(form, org_id, plan_id, form.seats.data, form.payment())
        if subscription is not None:
            return _subscribed(subscription)
        db.session.expire_all()
    elif request.method == "GET" and not _seats_fit(plan_checkout, form.seats.data):
        return redirect(url_for(".subscribe", plan_id=plan_id))
    return _pay_page(plan_checkout, form, org_id)


def _seats_fit(plan_checkout: checkout.Checkout, seats: int | None) -> bool:
    fee = plan_checkout.offer.seat_fee
    if fee is None:
        return True
    if seats is None or seats < fee.min_seats:
        return False
    return fee.max_seats is None or seats <= fee.max_seats


def _pay_page(plan_checkout: checkout.Checkout, form: PayForm, org_id: int) -> tuple[str, int]:
    """Render the card step with a fresh SetupIntent for Stripe.js to confirm."""
    card_errors = [*form.card_choice.errors, *getattr(form, "card_errors", [])]
    seats = form.seats.data
    form.setup_intent.data = ""
    try:
        intent = cards.start_card_setup(db.session(), current_clock(), org_id)
    except PaymentServiceUnavailable as error:
        # Card entry is down for now; a saved card still works without Stripe.js.
        card_errors = [*card_errors, error.detail]
        intent = None
    html = render_template(
        "billing/subscribe_pay.html",
        checkout=plan_checkout,
        form=form,
        quote=plan_checkout.quote_at(seats if _seats_fit(plan_checkout, seats) else None),
        card_errors=card_errors,
        stripe=_stripe_page_data(intent) if intent else None,
    )
    return html, 422 if _refused(form) or card_errors else 200


def _stripe_page_data(intent: SetupIntentInfo) -> dict[str, Any]:
    """Return what the page's data attributes hand to static/js/checkout.js."""
    return {
        "js_url": stripe_gateway.js_url(),
        "publishable_key": stripe_gateway.publishable_key(),
        "client_secret": intent.client_secret,
        "return_url": request.url,
        "messages": card_messages(),
    }
