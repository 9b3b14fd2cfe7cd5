"""The errors of card payments; Stripe's own errors never leave billing.payments.gateway."""

from __future__ import annotations

from marketplace.errors import AppError, NotFound, ValidationFailed


class CardRefused(ValidationFailed):
    """Stripe refused the card (declined, expired, wrong number…): an error on the card field."""

    code = "card_refused"
    title = "The card was refused"

    def __init__(self, message: str, stripe_code: str | None = None) -> None:
        super().__init__({"card": message}, detail=message)
        self.stripe_code = stripe_code


class StripeObjectMissing(NotFound):
    """Stripe knows no object by the id we asked for."""

    code = "stripe_object_missing"
    title = "Not found at the payment provider"


class PaymentServiceUnavailable(AppError):
    """Stripe could not be reached or failed; nothing was changed here, try again later."""

    status = 503
    code = "payment_service_unavailable"
    title = "The payment service is unavailable"
