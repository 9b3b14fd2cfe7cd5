"""The Stripe calls of collecting: off-session PaymentIntents, their refunds, their listing.

They go through the app's stripe client (billing.payments.gateway) and give back plain
values. A declined card is an answer here, not an error: Stripe's CardError carries the
PaymentIntent it failed (or, on localstripe, only the charge, which names it).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import stripe

from billing.payments.errors import PaymentServiceUnavailable


@dataclass(frozen=True)
class IntentResult:
    """What Stripe says of a PaymentIntent: its id, status, amount, failure and metadata."""

    id: str | None
    status: str
    amount_fen: int | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    metadata: dict[str, str] | None = None

    @property
    def succeeded(self) -> bool:
        """Tell whether the money was taken."""
        return self.status == "succeeded"

    @property
    def failed(self) -> bool:
        """Tell whether the attempt failed (Stripe waits for another payment method)."""
        return self.status in ("requires_payment_method", "canceled", "failed")


def _id_of(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return str(value.id)


def intent_result(intent: Any) -> IntentResult:
    """Read a PaymentIntent (an SDK object or a webhook's dict) into an IntentResult."""
    data: dict[str, Any] = intent if isinstance(intent, dict) else intent.to_dict()
    error = data.get("last_payment_error") or {}
    metadata = data.get("metadata") or {}
    amount = data.get("amount")
    return IntentResult(
        id=str(data["id"]),
        status=str(data.get("status")),
        amount_fen=int(amount) if amount is not None else None,
        failure_code=error.get("code"),
        failure_message=error.get("message"),
        metadata={str(k): str(v) for k, v in metadata.items()},
    )


def create_off_session_intent(
    client: stripe.StripeClient,
    *,
    amount_fen: int,
    currency: str,
    customer_id: str,
    payment_method_id: str,
    idempotency_key: str,
    metadata: dict[str, str],
) -> IntentResult:
    """Charge a saved card without the customer; a decline comes back as a failed result."""
    params: Any = {
        "amount": amount_fen,
        "currency": currency.lower(),
        "customer": customer_id,
        "payment_method": payment_method_id,
        "off_session": True,
        "confirm": True,
        "metadata": metadata,
    }
    try:
        intent = client.v1.payment_intents.create(params, {"idempotency_key": idempotency_key})
    except stripe.CardError as error:
        return IntentResult(
            _failed_intent_id(client, error),
            "requires_payment_method",
            amount_fen,
            error.code or "card_declined",
            error.user_message or str(error),
            metadata,
        )
    except stripe.StripeError as error:
        raise PaymentServiceUnavailable(str(error)) from error
    return intent_result(intent)


def _failed_intent_id(client: stripe.StripeClient, error: stripe.CardError) -> str | None:
    json_body: Any = error.json_body or {}
    body: dict[str, Any] = json_body.get("error") or {}
    intent = body.get("payment_intent")
    if intent:
        return _id_of(intent) if not isinstance(intent, dict) else str(intent.get("id"))
    charge_id = body.get("charge")
    if not charge_id:
        return None
    try:
        return _id_of(client.v1.charges.retrieve(charge_id).payment_intent)
    except stripe.StripeError:
        return None


def retrieve_intent(client: stripe.StripeClient, intent_id: str) -> IntentResult:
    """Return what Stripe says of a PaymentIntent now."""
    try:
        return intent_result(client.v1.payment_intents.retrieve(intent_id))
    except stripe.StripeError as error:
        raise PaymentServiceUnavailable(str(error)) from error


def all_intents(client: stripe.StripeClient, page_size: int = 100) -> Iterator[IntentResult]:
    """Yield every PaymentIntent of the account, newest first, a page at a time."""
    params: Any = {"limit": page_size}
    while True:
        try:
            page = client.v1.payment_intents.list(params)
        except stripe.StripeError as error:
            raise PaymentServiceUnavailable(str(error)) from error
        for intent in page.data:
            yield intent_result(intent)
        if not page.has_more or not page.data:
            return
        params["starting_after"] = page.data[-1].id


def refund_intent(
    client: stripe.StripeClient,
    *,
    intent_id: str,
    amount_fen: int,
    idempotency_key: str,
    metadata: dict[str, str],
) -> tuple[str, str]:
    """Give back part of a payment; return the refund's id and status."""
    params: Any = {
        "payment_intent": intent_id,
        "amount": amount_fen,
        "metadata": metadata,
    }
    try:
        refund = client.v1.refunds.create(params, {"idempotency_key": idempotency_key})
    except stripe.StripeError as error:
        raise PaymentServiceUnavailable(str(error)) from error
    return str(refund.id), str(refund.status)
