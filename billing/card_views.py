"""The firm's saved cards: list them, add one through Stripe.js, make one default, remove one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import HiddenField, SubmitField

from billing.payments import card_changes
from billing.payments import services as cards
from billing.payments.errors import PaymentServiceUnavailable
from billing.payments.gateway import card_messages, stripe_gateway
from billing.payments.models import PaymentMethod
from marketplace.clock import current_clock
from marketplace.errors import Conflict, ValidationFailed
from marketplace.extensions import db
from marketplace.forms import ConfirmForm
from marketplace.orgs.context import acting_org, current_actor, require_org

bp = Blueprint("cards", __name__)

# Plain members neither see nor change the firm's cards.
CARD_MANAGERS = ("owner", "admin", "billing")
BRANDS = {
    "visa": "Visa",
    "mastercard": "Mastercard",
    "amex": "American Express",
    "jcb": "JCB",
    "discover": "Discover",
    "diners": "Diners Club",
}


class AddCardForm(FlaskForm):
    """Save the card of a SetupIntent Stripe.js confirmed."""

    setup_intent = HiddenField()
    submit = SubmitField(_l("Save the card"))


def brand_name(brand: str) -> str:
    """Name a card brand as its holder knows it."""
    if brand == "unionpay":
        return str(_("UnionPay"))
    return BRANDS.get(brand, brand.title() or str(_("Card")))


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"brand_name": brand_name}


@bp.get("/billing/cards")
@require_org("sme", roles=CARD_MANAGERS, allow_suspended=True)
def index() -> str:
    """List the firm's saved cards, the default one marked."""
    saved = cards.cards_of(db.session(), acting_org().id)
    return render_template("billing/cards.html", cards=saved, form=ConfirmForm())


def _add_page(form: AddCardForm, card_errors: list[str], status: int) -> tuple[str, int]:
    form.setup_intent.data = ""
    try:
        intent = cards.start_card_setup(db.session(), current_clock(), acting_org().id)
    except PaymentServiceUnavailable as error:
        # The page still answers: it says card entry is down for now instead of failing.
        html = render_template(
            "billing/cards_new.html", form=form, card_errors=[error.detail], stripe=None
        )
        return html, status
    stripe = {
        "js_url": stripe_gateway.js_url(),
        "publishable_key": stripe_gateway.publishable_key(),
        "client_secret": intent.client_secret,
        "return_url": url_for(".add", _external=True),
        "messages": card_messages(),
    }
    html = render_template(
        "billing/cards_new.html", form=form, card_errors=card_errors, stripe=stripe
    )
    return html, status


@bp.route("/billing/cards/new", methods=["GET", "POST"])
@require_org("sme", roles=CARD_MANAGERS)
def add() -> tuple[str, int] | Response:
    """Take a card through Stripe.js and save what Stripe says about it."""
    form = AddCardForm()
    if not form.validate_on_submit():
        return _add_page(form, [], 422 if request.method == "POST" else 200)
    org_id = acting_org().id
    try:
        card = card_changes.add_card(
            db.session(), current_clock(), current_actor(), org_id, form.setup_intent.data or ""
        )
    except ValidationFailed as error:
        db.session.expire_all()
        return _add_page(form, error.errors.get("card", [error.detail]), 422)
    flash(_("The card ending in %(last4)s is saved.", last4=card.last4), "success")
    return redirect(url_for(".index"))


def _card(card_id: int) -> PaymentMethod:
    return cards.card_of_firm(db.session(), acting_org().id, card_id)


@bp.post("/billing/cards/<int:card_id>/default")
@require_org("sme", roles=CARD_MANAGERS)
def make_default(card_id: int) -> Response:
    """Make a card the one the firm's invoices are charged to."""
    if ConfirmForm().validate_on_submit():
        card = card_changes.set_default_card(
            db.session(), current_clock(), current_actor(), acting_org().id, card_id
        )
        flash(
            _("Invoices are now charged to the card ending in %(last4)s.", last4=card.last4),
            "success",
        )
    return redirect(url_for(".index"))


@bp.route("/billing/cards/<int:card_id>/remove", methods=["GET", "POST"])
@require_org("sme", roles=CARD_MANAGERS)
def remove(card_id: int) -> tuple[str, int] | Response:
    """Confirm, then remove a card: Stripe forgets it and it is no longer offered."""
    card = _card(card_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            cards.remove_card(
                db.session(), current_clock(), current_actor(), acting_org().id, card_id
            )
        except Conflict as error:
            db.session.expire_all()
            flash(error.detail, "error")
        else:
            flash(_("The card ending in %(last4)s is removed.", last4=card.last4), "success")
        return redirect(url_for(".index"))
    return render_template("billing/cards_remove.html", card=card, form=form), 200
