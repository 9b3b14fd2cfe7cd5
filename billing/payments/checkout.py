"""Check out a plan: the firm's profile, the seats, the card, then the subscription.

The card step records the card and creates the subscription in one transaction: a refused
card, a confirmation made for another firm, or a subscription the firm cannot have leaves
neither a card row nor a subscription behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.models import Subscription
from billing.payments import services as cards
from billing.payments.card_changes import retry_unpaid
from billing.payments.card_rules import needs_card
from billing.services import subscriptions
from billing.services.overview import SubscribeOffer, live_subscription, subscribe_offer
from catalog.pricing import Quote, quote
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.errors import AppError, Conflict, ValidationFailed
from marketplace.firms.models import UsccStatus
from marketplace.firms.services.profiles import profile_of


class FirmNotReady(Conflict):
    """The firm's profile must be completed before it buys anything."""

    code = "firm_profile_incomplete"
    title = "Complete the firm profile first"


@dataclass(frozen=True)
class Checkout:
    """A plan a firm is checking out, and what the checkout still asks of it."""

    offer: SubscribeOffer
    sandbox: bool
    profile_gaps: list[str]

    @property
    def needs_card(self) -> bool:
        """Tell whether a card must be on file before the subscription starts."""
        return needs_card(self.offer.offer.price, sandbox=self.sandbox)

    @property
    def ready(self) -> bool:
        """Tell whether the firm's profile lets it subscribe."""
        return not self.profile_gaps

    def quote_at(self, seats: int | None) -> Quote:
        """Return the price per period at a number of seats (the fewest when None)."""
        fee = self.offer.seat_fee
        if fee is None:
            return self.offer.quote
        return quote(self.offer.offer.price, fee.min_seats if seats is None else seats)


@dataclass(frozen=True)
class SavedCard:
    """Pay with the firm's default card."""


@dataclass(frozen=True)
class NewCard:
    """Pay with the card of a SetupIntent confirmed in the browser."""

    setup_intent_id: str


def profile_gaps(session: Session, org_id: int) -> list[str]:
    """Return what the firm must still do to its profile before it buys; empty when ready."""
    profile = profile_of(session, org_id)
    if profile is None:
        return [_("Register the firm's details: its credit code, industry, staff and revenue.")]
    if profile.uscc_status == UsccStatus.REJECTED:
        return [_("An operator rejected the firm's credit code: correct it in the profile.")]
    return []


def checkout_of(session: Session, org_id: int, plan_id: int) -> Checkout:
    """Return a plan on sale to the firm with what its checkout asks for; NotFound otherwise."""
    offer = subscribe_offer(session, org_id, plan_id)
    sandbox = subscriptions.sandbox_vendor_of(session, org_id) is not None
    # A vendor's test firm buys only sandbox plans, which never charge: it has no profile.
    gaps = [] if sandbox else profile_gaps(session, org_id)
    return Checkout(offer, sandbox, gaps)


def _checked(session: Session, checkout: Checkout, org_id: int, seats: int | None) -> int:
    """Refuse before anything reaches Stripe: profile, a second subscription, seats."""
    if not checkout.ready:
        raise FirmNotReady(" ".join(checkout.profile_gaps))
    plan = checkout.offer.offer.plan
    if live_subscription(session, org_id, plan) is not None:
        raise subscriptions.AlreadySubscribed(_("The firm already subscribes to this service."))
    return subscriptions.checked_seats(plan, seats)


def subscribe(
    session: Session,
    clock: Clock,
    actor: Actor,
    org_id: int,
    plan_id: int,
    seats: int | None,
    payment: SavedCard | NewCard | None,
) -> Subscription:
    """Subscribe the firm, with the card the plan needs recorded in the same transaction."""
    checkout = checkout_of(session, org_id, plan_id)
    chosen = _checked(session, checkout, org_id, seats)
    card_step = session.begin_nested()
    try:
        if checkout.needs_card:
            _card_on_file(session, clock, actor, org_id, payment)
        # subscribe() commits: the card row and the subscription land together.
        subscription = subscriptions.subscribe(session, clock, actor, org_id, plan_id, chosen)
    except AppError:
        if card_step.is_active:
            card_step.rollback()  # a card recorded above goes with the refused subscription
        raise
    if isinstance(payment, NewCard):
        retry_unpaid(session, org_id)  # the new default card settles what was refused before
    return subscription


def _card_on_file(
    session: Session, clock: Clock, actor: Actor, org_id: int, payment: SavedCard | NewCard | None
) -> None:
    if isinstance(payment, NewCard):
        cards.record_card(session, clock, actor, org_id, payment.setup_intent_id, make_default=True)
    elif isinstance(payment, SavedCard):
        if cards.default_card(session, org_id) is None:
            raise ValidationFailed({"card": _("Your firm has no saved card. Enter a card.")})
    else:
        raise ValidationFailed({"card": _("This plan needs a card. Enter a card.")})
