"""POST /stripe/webhook: Stripe's signed events about our PaymentIntents.

The signature is checked with the stripe SDK's own scheme (HMAC-SHA256 of "t.body" under
the endpoint's secret, STRIPE_WEBHOOK_SECRET) and a timestamp at most 300 s old by the wall
clock, which Stripe signs with, even while billing runs on a frozen or replayed clock.
Anything not verified answers 400 and changes nothing; a verified event answers 200 whether
it was new, a duplicate or of a type we ignore, so Stripe stops sending it. The blueprint
also schedules the payment jobs and adds `flask billing reconcile`.
"""

from __future__ import annotations

import json
from typing import cast

import stripe
from flask import Blueprint, Flask, abort, current_app, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue

from billing.payments.config import WEBHOOK_TOLERANCE_SECONDS, payment_settings
from billing.payments.stripe_events import apply_stripe_event
from marketplace.clock import SystemClock, current_clock
from marketplace.extensions import csrf, db
from marketplace.jobs import schedule_every
from marketplace.logs import get_logger

bp = Blueprint("stripe_webhooks", __name__)
csrf.exempt(bp)  # Stripe signs its requests; it has no session nor CSRF token
log = get_logger(__name__)
DUNNING_JOB = "billing.payments.dunning.run_dunning"
ACTIVATION_JOB = "billing.services.activation_deadline.run_activation_deadline"
RECONCILE_JOB = "billing.payments.reconciliation.reconcile_job"
HOURLY, DAILY = 3600, 86400


@bp.record_once
def schedule_payment_jobs(state: BlueprintSetupState) -> None:
    """Schedule dunning and the activation deadline hourly, reconciling daily; add the CLI."""
    from billing.payments.reconciliation import billing_cli

    app = cast(Flask, state.app)
    schedule_every(app, DUNNING_JOB, seconds=HOURLY, queue="billing")
    schedule_every(app, ACTIVATION_JOB, seconds=HOURLY, queue="billing")
    schedule_every(app, RECONCILE_JOB, seconds=DAILY, queue="billing")
    app.cli.add_command(billing_cli)


def signed_at(header: str) -> int:
    """Return the time (Unix seconds) a Stripe-Signature header says the body was signed."""
    stamps = [
        value for key, _, value in (p.partition("=") for p in header.split(",")) if key == "t"
    ]
    if not stamps or not stamps[0].isdigit():
        raise ValueError("no timestamp in the signature")
    return int(stamps[0])


def verified_event(
    payload: bytes, header: str | None, secret: str | None, wall_now: float
) -> dict[str, object]:
    """Return the event a signed, fresh body carries; raise an error saying why not otherwise.

    Fresh means signed at most WEBHOOK_TOLERANCE_SECONDS before wall_now, the real time:
    Stripe signs with its wall clock, whatever clock billing runs on here.
    """
    if not secret:
        raise ValueError("no webhook secret is set")
    text = payload.decode("utf-8")
    stripe.WebhookSignature.verify_header(text, header, secret, tolerance=None)
    if signed_at(str(header)) < wall_now - WEBHOOK_TOLERANCE_SECONDS:
        raise ValueError("the signature is too old")
    event = json.loads(payload)
    if not isinstance(event, dict) or not {"id", "type"} <= event.keys():
        raise ValueError("not a Stripe event")
    return event


@bp.post("/stripe/webhook")
def receive() -> ResponseReturnValue:
    """Verify a Stripe event and apply it once."""
    settings = payment_settings(current_app)
    try:
        event = verified_event(
            request.get_data(),
            request.headers.get("Stripe-Signature"),
            settings.webhook_secret,
            # The wall clock, never current_clock(): billing time may be frozen or replayed.
            SystemClock().now().timestamp(),
        )
    except (stripe.SignatureVerificationError, ValueError, UnicodeDecodeError) as error:
        log.warning("stripe webhook refused", reason=str(error)[:200])
        abort(400)
    outcome = apply_stripe_event(db.session(), current_clock(), settings.policy, event)
    log.info("stripe webhook", event_id=event["id"], type=event["type"], outcome=outcome)
    return jsonify(received=True, outcome=outcome)
