"""The settings of collecting payments, taken from the app's Settings (marketplace.settings).

STRIPE_WEBHOOK_SECRET, DUNNING_RETRY_DAYS, DUNNING_GRACE_DAYS, ACTIVATION_DEADLINE_HOURS and
PAYMENT_SETTLE_AFTER_MINUTES are read and checked there; this module turns them into the
values collecting, dunning and the activation deadline work with.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask, current_app

from billing.payments.dunning_schedule import DunningPolicy
from marketplace.settings import Settings

# Stripe signs each delivery with the time it was sent; an older signature is a replay.
WEBHOOK_TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class PaymentSettings:
    """What collecting, dunning and the activation deadline need to know."""

    webhook_secret: str | None
    policy: DunningPolicy
    activation_deadline: timedelta
    settle_after: timedelta


def settings_of(settings: Settings) -> PaymentSettings:
    """Return the payment settings that app settings imply."""
    return PaymentSettings(
        settings.stripe_webhook_secret or None,
        DunningPolicy(tuple(settings.dunning_retry_days), settings.dunning_grace_days),
        timedelta(hours=settings.activation_deadline_hours),
        timedelta(minutes=settings.payment_settle_after_minutes),
    )


def payment_settings(app: Flask | None = None) -> PaymentSettings:
    """Return the payment settings of an app (the current one by default)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    settings: Settings = app.config["SETTINGS"]
    return settings_of(settings)
