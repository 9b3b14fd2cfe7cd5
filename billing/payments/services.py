"""A firm's Stripe customer and saved cards: set up, record, make default, remove.

Every read takes the firm. A card is recorded only from a SetupIntent that Stripe says
succeeded for this firm's customer, and its brand, last four digits and expiry come from
Stripe, never from the browser.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, cast

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.models import LIVE_STATUSES, Subscription
from billing.payments.card_rules import needs_card
from billing.payments.errors import StripeObjectMissing
from billing.payments.gateway import CardDetails, SetupIntentInfo, stripe_gateway
from billing.payments.models import PaymentCustomer, PaymentMethod
from billing.services.bulk import dialect_insert
from catalog.plans import plan_price
from marketplace.audit.services import Actor, record
from marketplace.clock import Clock
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.orgs.models import Organization

SETUP_INTENT_ID = re.compile(r"^seti_[A-Za-z0-9]{1,200}$")
AUDITED = ("brand", "last4", "exp_month", "exp_year", "is_default", "detached_at")


class DefaultCardNeeded(Conflict):
    """The firm's default card cannot go while live paid subscriptions rely on it."""

    code = "default_card_needed"
    title = "The default card pays for live subscriptions"


def customer_of(session: Session, org_id: int) -> PaymentCustomer | None:
    """Return the firm's Stripe customer, if it has one."""
    stmt = sa.select(PaymentCustomer).where(PaymentCustomer.organization_id == org_id)
    return session.scalars(stmt).one_or_none()


def ensure_customer(session: Session, clock: Clock, org_id: int) -> PaymentCustomer:
    """Return the firm's Stripe customer, creating it once even when two requests race."""
    existing = customer_of(session, org_id)
    if existing is not None:
        return existing
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(_("No such firm."))
    # One key per firm: a retry, or a second request, gets Stripe's first customer back.
    key = f"customer-{org_id}-{int(org.created_at.timestamp())}"
    stripe_id = stripe_gateway.create_customer(org_id, org.name, key)
    insert = dialect_insert(session, cast(sa.Table, PaymentCustomer.__table__))
    session.execute(
        insert.values(
            organization_id=org_id, stripe_customer_id=stripe_id, created_at=clock.now()
        ).on_conflict_do_nothing()
    )
    session.commit()
    winner = customer_of(session, org_id)
    assert winner is not None
    if winner.stripe_customer_id != stripe_id:
        # The other request won the race: its customer is the firm's; ours is an orphan.
        stripe_gateway.delete_customer(stripe_id)
    return winner


def start_card_setup(session: Session, clock: Clock, org_id: int) -> SetupIntentInfo:
    """Start saving a card: a SetupIntent for the firm's customer, confirmed by Stripe.js."""
    customer = ensure_customer(session, clock, org_id)
    return stripe_gateway.create_setup_intent(
        customer.stripe_customer_id, org_id, f"setup-{org_id}-{uuid.uuid4().hex}"
    )


def cards_of(session: Session, org_id: int) -> list[PaymentMethod]:
    """Return the firm's saved cards, the default first, then the newest."""
    stmt = (
        sa.select(PaymentMethod)
        .where(PaymentMethod.organization_id == org_id, PaymentMethod.detached_at.is_(None))
        .order_by(PaymentMethod.is_default.desc(), PaymentMethod.id.desc())
    )
    return list(session.scalars(stmt))


def default_card(session: Session, org_id: int) -> PaymentMethod | None:
    """Return the card the firm's invoices are charged to, if any."""
    return next((card for card in cards_of(session, org_id) if card.is_default), None)


def card_of_firm(
    session: Session, org_id: int, card_id: int, *, for_update: bool = False
) -> PaymentMethod:
    """Return a saved card of the firm by id; another firm's or a removed card is not found."""
    stmt = sa.select(PaymentMethod).where(
        PaymentMethod.id == card_id,
        PaymentMethod.organization_id == org_id,
        PaymentMethod.detached_at.is_(None),
    )
    if for_update:
        stmt = stmt.with_for_update()
    card = session.scalars(stmt).one_or_none()
    if card is None:
        raise NotFound(_("No such card."))
    return card


def _card_error(message: str) -> ValidationFailed:
    return ValidationFailed({"card": message})


def confirmed_card(session: Session, org_id: int, setup_intent_id: str) -> CardDetails:
    """Return the card of a SetupIntent that succeeded for this firm's customer; refuse others."""
    if not SETUP_INTENT_ID.match(setup_intent_id or ""):
        raise _card_error(_("Enter the card again: its confirmation is missing."))
    customer = customer_of(session, org_id)
    try:
        intent = stripe_gateway.retrieve_setup_intent(setup_intent_id)
    except StripeObjectMissing:
        raise _card_error(_("This card confirmation is unknown. Enter the card again.")) from None
    if customer is None or intent.customer_id != customer.stripe_customer_id:
        raise _card_error(_("This card confirmation was not made for your firm."))
    if not intent.succeeded or intent.payment_method_id is None:
        raise _card_error(_("The card is not confirmed. Enter it again."))
    card = stripe_gateway.retrieve_card(intent.payment_method_id)
    if card.customer_id is None:
        # Real Stripe attaches the card when the SetupIntent succeeds; localstripe does not.
        card = stripe_gateway.attach_card(card.id, customer.stripe_customer_id, f"attach-{card.id}")
    if card.customer_id != customer.stripe_customer_id:
        raise _card_error(_("This card belongs to someone else."))
    return card


def record_card(
    session: Session,
    clock: Clock,
    actor: Actor,
    org_id: int,
    setup_intent_id: str,
    *,
    make_default: bool,
) -> PaymentMethod:
    """Record the card of a confirmed SetupIntent in the caller's transaction (no commit)."""
    details = confirmed_card(session, org_id, setup_intent_id)
    known = session.scalars(
        sa.select(PaymentMethod).where(PaymentMethod.stripe_payment_method_id == details.id)
    ).one_or_none()
    if known is not None and (known.organization_id != org_id or not known.attached):
        raise _card_error(_("This card confirmation was already used. Enter the card again."))
    card = known or _new_card(session, clock, org_id, details)
    if make_default or default_card(session, org_id) is None:
        _make_default(session, clock, actor, org_id, card)
    if known is None:
        record(
            session,
            clock,
            actor,
            "payment_method.added",
            ("payment_method", card.id),
            after=_snapshot(card),
            subject_org_id=org_id,
        )
    return card


def _new_card(session: Session, clock: Clock, org_id: int, details: CardDetails) -> PaymentMethod:
    card = PaymentMethod(
        organization_id=org_id,
        stripe_payment_method_id=details.id,
        brand=details.brand,
        last4=details.last4,
        exp_month=details.exp_month,
        exp_year=details.exp_year,
        is_default=False,
        created_at=clock.now(),
    )
    session.add(card)
    session.flush()
    return card


def add_card(
    session: Session, clock: Clock, actor: Actor, org_id: int, setup_intent_id: str
) -> PaymentMethod:
    """Save the card of a confirmed SetupIntent; the firm's first card becomes its default."""
    _lock_customer(session, org_id)
    card = record_card(session, clock, actor, org_id, setup_intent_id, make_default=False)
    session.commit()
    return card


def _lock_customer(session: Session, org_id: int) -> PaymentCustomer | None:
    """Serialize the firm's card changes: one default at a time, decided in order."""
    stmt = (
        sa.select(PaymentCustomer)
        .where(PaymentCustomer.organization_id == org_id)
        .with_for_update()
    )
    return session.scalars(stmt).one_or_none()


def _make_default(
    session: Session, clock: Clock, actor: Actor, org_id: int, card: PaymentMethod
) -> None:
    previous = default_card(session, org_id)
    if previous is card:
        return
    if previous is not None:
        previous.is_default = False
        session.flush()  # the partial unique index allows one default at a time
    customer = customer_of(session, org_id)
    assert customer is not None
    stripe_gateway.set_default_card(
        customer.stripe_customer_id,
        card.stripe_payment_method_id,
        f"default-{card.stripe_payment_method_id}-{uuid.uuid4().hex}",
    )
    card.is_default = True
    session.flush()
    record(
        session,
        clock,
        actor,
        "payment_method.made_default",
        ("payment_method", card.id),
        before={"previous_default_id": previous.id if previous else None},
        after=_snapshot(card),
        subject_org_id=org_id,
    )


def set_default_card(
    session: Session, clock: Clock, actor: Actor, org_id: int, card_id: int
) -> PaymentMethod:
    """Make a saved card the one the firm's invoices are charged to."""
    _lock_customer(session, org_id)
    card = card_of_firm(session, org_id, card_id, for_update=True)
    _make_default(session, clock, actor, org_id, card)
    session.commit()
    return card


def relies_on_a_card(session: Session, org_id: int) -> bool:
    """Tell whether the firm has a live subscription that can bill a real charge."""
    stmt = sa.select(Subscription).where(
        Subscription.organization_id == org_id, Subscription.status.in_(LIVE_STATUSES)
    )
    return any(needs_card(plan_price(s.plan), sandbox=s.sandbox) for s in session.scalars(stmt))


def remove_card(
    session: Session, clock: Clock, actor: Actor, org_id: int, card_id: int
) -> PaymentMethod:
    """Detach a card at Stripe and stop offering it; the default stays while it is needed."""
    _lock_customer(session, org_id)
    card = card_of_firm(session, org_id, card_id, for_update=True)
    if card.is_default and relies_on_a_card(session, org_id):
        raise DefaultCardNeeded(
            _(
                "This card pays for live subscriptions. Make another card the default first, "
                "then remove this one."
            )
        )
    before = _snapshot(card)
    stripe_gateway.detach_card(card.stripe_payment_method_id)
    card.is_default = False
    card.detached_at = clock.now()
    record(
        session,
        clock,
        actor,
        "payment_method.removed",
        ("payment_method", card.id),
        before=before,
        after=_snapshot(card),
        subject_org_id=org_id,
    )
    session.commit()
    return card


def _snapshot(card: PaymentMethod) -> dict[str, Any]:
    return {key: getattr(card, key) for key in AUDITED}
