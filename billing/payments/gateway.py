"""Talk to Stripe (or localstripe) through one gateway, made unbound and attached in create_app.

The gateway is the only module that imports the stripe SDK. Its interface, for every part of
billing that moves money:

- ``stripe_gateway.create_customer(organization_id, name, idempotency_key)`` → customer id
- ``delete_customer(customer_id)`` (only for a customer that lost a creation race)
- ``create_setup_intent(customer_id, organization_id, idempotency_key)`` → SetupIntentInfo
- ``retrieve_setup_intent(setup_intent_id)`` → SetupIntentInfo
- ``retrieve_card(payment_method_id)`` → CardDetails (what Stripe says, never the browser)
- ``attach_card(payment_method_id, customer_id, idempotency_key)`` → CardDetails
- ``detach_card(payment_method_id)``
- ``set_default_card(customer_id, payment_method_id, idempotency_key)``
- ``client()`` → the bound stripe.StripeClient, and ``translated_errors()``, a context manager
  that turns any stripe error raised inside it into our own types, for calls not listed here.
- ``publishable_key()`` and ``js_url()`` for the pages that load Stripe.js.

Every call that creates or changes something at Stripe takes an idempotency key, so a retry
(ours or the SDK's) never makes a second object. Stripe's errors leave only as
billing.payments.errors types: a refused card as CardRefused (a field error on "card", in
the reader's language where the code is known), a missing object as StripeObjectMissing,
anything else as PaymentServiceUnavailable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import stripe
from flask import Flask, current_app
from flask_babel import gettext as _
from stripe.params import CustomerCreateParams, CustomerUpdateParams, SetupIntentCreateParams

from billing.payments.errors import CardRefused, PaymentServiceUnavailable, StripeObjectMissing
from marketplace.settings import Settings, SettingsError

EXTENSION = "stripe_gateway"


@dataclass(frozen=True)
class StripeConnection:
    """Where and how the gateway reaches Stripe, and what pages need to load Stripe.js."""

    api_key: str
    api_base: str
    publishable_key: str
    js_url: str
    max_network_retries: int = 0

    def client(self) -> stripe.StripeClient:
        """Return a stripe client for this connection."""
        return stripe.StripeClient(
            self.api_key,
            base_addresses={"api": self.api_base},
            max_network_retries=self.max_network_retries,
        )


@dataclass(frozen=True)
class SetupIntentInfo:
    """What Stripe says about a SetupIntent."""

    id: str
    client_secret: str
    status: str
    customer_id: str | None
    payment_method_id: str | None

    @property
    def succeeded(self) -> bool:
        """Tell whether the card behind it is confirmed and may be charged later."""
        return self.status == "succeeded"


@dataclass(frozen=True)
class CardDetails:
    """What Stripe says about a card payment method: never what the browser claimed."""

    id: str
    customer_id: str | None
    brand: str
    last4: str
    exp_month: int
    exp_year: int


def connection_of(settings: Settings) -> StripeConnection:
    """Return the connection the settings describe (localstripe outside production)."""
    if settings.stripe_publishable_key is None:
        raise SettingsError("production needs STRIPE_PUBLISHABLE_KEY for Stripe.js")
    return StripeConnection(
        api_key=settings.stripe_api_key,
        api_base=settings.stripe_api_url,
        publishable_key=settings.stripe_publishable_key,
        js_url=settings.stripe_js_script_url,
        # Safe to retry: every creating call carries an idempotency key.
        max_network_retries=2 if settings.is_production else 0,
    )


def card_messages() -> dict[str, str]:
    """Return our words for the card errors whose codes we know."""
    return {
        "card_declined": _("Your card was declined. Use another card or ask your bank."),
        "expired_card": _("Your card has expired. Use another card."),
        "incorrect_cvc": _("The card's security code is wrong."),
        "invalid_cvc": _("The card's security code is not valid."),
        "incorrect_number": _("The card number is wrong."),
        "invalid_number": _("The card number is not valid."),
        "invalid_expiry_month": _("The card's expiry month is not valid."),
        "invalid_expiry_year": _("The card's expiry year is not valid."),
        "processing_error": _("The card could not be checked just now. Try again."),
        "authentication_required": _("Your bank asks you to confirm this card. Try again."),
        "setup_intent_authentication_failure": _(
            "The card was not confirmed with your bank. Try again or use another card."
        ),
    }


def card_message(code: str | None, stripe_message: str | None) -> str:
    """Return the message for a refused card: ours where we know the code, else Stripe's."""
    known = card_messages().get(code or "")
    return known or stripe_message or _("The card was refused. Use another card.")


@contextmanager
def translated_errors() -> Iterator[None]:
    """Turn a stripe error raised inside into our own error types."""
    try:
        yield
    except stripe.CardError as error:
        raise CardRefused(card_message(error.code, error.user_message), error.code) from None
    except stripe.InvalidRequestError as error:
        if error.http_status == 404 or error.code == "resource_missing":
            raise StripeObjectMissing(_("The payment provider knows no such object.")) from None
        raise PaymentServiceUnavailable(_unavailable()) from error
    except stripe.StripeError as error:
        raise PaymentServiceUnavailable(_unavailable()) from error


def _unavailable() -> str:
    return str(_("Card payments are unavailable right now. Nothing was charged; try again later."))


def _setup_intent(obj: Any) -> SetupIntentInfo:
    return SetupIntentInfo(
        id=obj.id,
        client_secret=obj.client_secret,
        status=obj.status,
        customer_id=_id_of(obj.customer),
        payment_method_id=_id_of(obj.payment_method),
    )


def _card(obj: Any) -> CardDetails:
    card = obj.card
    return CardDetails(
        id=obj.id,
        customer_id=_id_of(obj.customer),
        brand=str(card.brand),
        last4=str(card.last4),
        exp_month=int(card.exp_month),
        exp_year=int(card.exp_year),
    )


def _id_of(value: Any) -> str | None:
    """Return an id whether Stripe sent the id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    return str(value.id)


class StripeGateway:
    """Stripe calls for billing, bound to an app by init_app."""

    def init_app(self, app: Flask, settings: Settings) -> None:
        """Connect the app to the Stripe the settings name."""
        self.connect(app, connection_of(settings))

    def connect(self, app: Flask, connection: StripeConnection) -> StripeConnection | None:
        """Point the app at a Stripe (tests: their localstripe); return the previous one."""
        previous: tuple[StripeConnection, stripe.StripeClient] | None = app.extensions.get(
            EXTENSION
        )
        app.extensions[EXTENSION] = (connection, connection.client())
        return previous[0] if previous else None

    def _bound(self) -> tuple[StripeConnection, stripe.StripeClient]:
        bound: tuple[StripeConnection, stripe.StripeClient] = current_app.extensions[EXTENSION]
        return bound

    def client(self) -> stripe.StripeClient:
        """Return the app's stripe client, for calls this gateway does not wrap."""
        return self._bound()[1]

    def publishable_key(self) -> str:
        """Return the key Stripe.js uses in the browser."""
        return self._bound()[0].publishable_key

    def js_url(self) -> str:
        """Return where pages load Stripe.js from."""
        return self._bound()[0].js_url

    def create_customer(self, organization_id: int, name: str, idempotency_key: str) -> str:
        """Create a Stripe customer for a firm; return its id."""
        params: CustomerCreateParams = {
            "name": name,
            "metadata": {"organization_id": str(organization_id)},
        }
        with translated_errors():
            customer = self.client().v1.customers.create(
                params, {"idempotency_key": idempotency_key}
            )
        return str(customer.id)

    def delete_customer(self, customer_id: str) -> None:
        """Delete a customer that was never used (the loser of a creation race)."""
        with translated_errors():
            self.client().v1.customers.delete(customer_id)

    def create_setup_intent(
        self, customer_id: str, organization_id: int, idempotency_key: str
    ) -> SetupIntentInfo:
        """Start saving a card for later charges without the customer present."""
        params: SetupIntentCreateParams = {
            "customer": customer_id,
            "usage": "off_session",
            "metadata": {"organization_id": str(organization_id)},
        }
        with translated_errors():
            intent = self.client().v1.setup_intents.create(
                params, {"idempotency_key": idempotency_key}
            )
        return _setup_intent(intent)

    def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentInfo:
        """Return what Stripe says about a SetupIntent."""
        with translated_errors():
            return _setup_intent(self.client().v1.setup_intents.retrieve(setup_intent_id))

    def retrieve_card(self, payment_method_id: str) -> CardDetails:
        """Return a card payment method as Stripe knows it."""
        with translated_errors():
            method = self.client().v1.payment_methods.retrieve(payment_method_id)
        if method.type != "card":
            raise CardRefused(_("Only cards can be saved."), "not_a_card")
        return _card(method)

    def attach_card(
        self, payment_method_id: str, customer_id: str, idempotency_key: str
    ) -> CardDetails:
        """Attach a card to a customer so it can be charged later."""
        with translated_errors():
            method = self.client().v1.payment_methods.attach(
                payment_method_id, {"customer": customer_id}, {"idempotency_key": idempotency_key}
            )
        return _card(method)

    def detach_card(self, payment_method_id: str) -> None:
        """Detach a card from its customer: Stripe can no longer charge it."""
        with translated_errors():
            self.client().v1.payment_methods.detach(payment_method_id)

    def set_default_card(
        self, customer_id: str, payment_method_id: str, idempotency_key: str
    ) -> None:
        """Make a card the one Stripe charges a customer's invoices to."""
        params: CustomerUpdateParams = {
            "invoice_settings": {"default_payment_method": payment_method_id}
        }
        with translated_errors():
            self.client().v1.customers.update(
                customer_id, params, {"idempotency_key": idempotency_key}
            )


stripe_gateway = StripeGateway()


def init_payments(app: Flask, settings: Settings) -> None:
    """Attach the Stripe gateway to the app."""
    stripe_gateway.init_app(app, settings)
