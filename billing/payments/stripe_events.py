"""Apply a verified Stripe event once: a PaymentIntent succeeded or failed.

The event's id is inserted first (ON CONFLICT DO NOTHING): a second delivery finds it and
does nothing. Out of order is safe because each event settles one attempt, under the
invoice's row lock, against what is recorded: a success pays even after a failure of the
same attempt; a failure after a success, or after the invoice was paid, changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.payments.attempt_models import PaymentAttempt, StripeEvent
from billing.payments.dunning_schedule import DunningPolicy
from billing.payments.intents import IntentResult, intent_result
from billing.payments.settlement import lock_invoice, settle_failure, settle_success
from billing.services.bulk import dialect_insert, table_of
from marketplace.clock import Clock

SUCCEEDED = "payment_intent.succeeded"
FAILED = "payment_intent.payment_failed"
HANDLED = (SUCCEEDED, FAILED)


def apply_stripe_event(
    session: Session, clock: Clock, policy: DunningPolicy, event: Mapping[str, Any]
) -> str:
    """Record a Stripe event and apply it if new; return its outcome ("duplicate", "paid"…)."""
    event_id, kind = str(event["id"]), str(event["type"])
    intent = _intent_of(event) if kind in HANDLED else None
    if not _record_first(session, clock, event_id, kind, intent.id if intent else None):
        session.rollback()
        return "duplicate"
    outcome = _apply(session, clock, policy, kind, intent)
    # A settlement may have committed (paying an invoice commits): the row is reloaded.
    stored = session.get(StripeEvent, event_id)
    assert stored is not None
    stored.processed_at, stored.outcome = clock.now(), outcome
    session.commit()
    return outcome


def _intent_of(event: Mapping[str, Any]) -> IntentResult:
    return intent_result(event["data"]["object"])


def _record_first(
    session: Session, clock: Clock, event_id: str, kind: str, intent_id: str | None
) -> bool:
    row = {
        "id": event_id,
        "type": kind,
        "payment_intent_id": intent_id,
        "received_at": clock.now(),
    }
    table = table_of(StripeEvent)
    insert = (
        dialect_insert(session, table).values(row).on_conflict_do_nothing(index_elements=["id"])
    )
    return session.execute(insert.returning(table.c.id)).scalar() is not None


def _apply(
    session: Session,
    clock: Clock,
    policy: DunningPolicy,
    kind: str,
    intent: IntentResult | None,
) -> str:
    if intent is None:
        return "ignored"
    attempt = attempt_of(session, intent)
    if attempt is None:
        return "unknown_payment_intent"
    invoice = lock_invoice(session, attempt.invoice_id)
    assert invoice is not None
    session.refresh(attempt)
    attempt.stripe_payment_intent_id = attempt.stripe_payment_intent_id or intent.id
    if kind == SUCCEEDED:
        return settle_success(session, clock, invoice, attempt)
    attempt.failure_code = intent.failure_code or attempt.failure_code
    attempt.failure_message = (intent.failure_message or attempt.failure_message or "")[:500]
    return settle_failure(session, clock, policy, invoice, attempt)


def attempt_of(session: Session, intent: IntentResult) -> PaymentAttempt | None:
    """Find our attempt of a PaymentIntent: by its id, else by the key in its metadata.

    The key serves when the webhook overtakes the job that records the intent's id.
    """
    by_id = sa.select(PaymentAttempt).where(PaymentAttempt.stripe_payment_intent_id == intent.id)
    found = session.scalars(by_id).one_or_none()
    key = (intent.metadata or {}).get("attempt_key")
    if found is not None or not key:
        return found
    by_key = sa.select(PaymentAttempt).where(PaymentAttempt.idempotency_key == key)
    return session.scalars(by_key).one_or_none()
