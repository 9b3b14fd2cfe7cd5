"""The dunning sweep: retry due invoices, suspend past the grace, settle what Stripe decided.

Run by the scheduler every hour (and by `run_dunning(at=…)` to replay a moment outside
production). Each step works invoice by invoice, under the invoice's row lock, and commits
per invoice, so a sweep that stops half-way is finished by the next one:

1. finalized invoices nobody tried to charge (no Redis, a lost job) get their first attempt;
2. attempts whose outcome no webhook applied within the settle delay are looked up at
   Stripe and settled as the webhook would have (a lost webhook delays, never loses);
3. invoices whose dunning ended some other way (a credit note, the operator) are resolved;
4. due retries make the invoice's next attempt;
5. subscriptions still unpaid past the grace are suspended, and the firm is told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
import stripe
from flask import current_app
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus, Subscription, SubscriptionStatus
from billing.payments import intents, mails
from billing.payments.attempt_models import AttemptStatus, DunningState, PaymentAttempt
from billing.payments.collection import collect, record_answer, send_attempt
from billing.payments.config import PaymentSettings, payment_settings
from billing.payments.errors import PaymentServiceUnavailable
from billing.payments.gateway import stripe_gateway
from billing.payments.refunds import forgotten_refunds, refund_credit_note
from billing.payments.settlement import (
    COLLECTABLE,
    SYSTEM,
    lock_invoice,
    resolve_dunning,
    settle_failure,
    settle_success,
)
from billing.services.subscriptions import suspend
from marketplace.clock import Clock, FrozenClock, current_clock
from marketplace.extensions import db
from marketplace.logs import get_logger

log = get_logger(__name__)


@dataclass
class DunningReport:
    """What one sweep did, by step."""

    collected: int = 0
    settled: int = 0
    resolved: int = 0
    retried: int = 0
    suspended: int = 0
    refunded: int = 0
    errors: list[str] = field(default_factory=list)


def sweep(
    session: Session, clock: Clock, client: stripe.StripeClient, settings: PaymentSettings
) -> DunningReport:
    """Run the steps of dunning at the clock's time; return what they did."""
    report = DunningReport()
    report.collected = collect_forgotten(session, clock, client, settings, report)
    report.settled = settle_stale_attempts(session, clock, client, settings, report)
    report.resolved = resolve_settled_elsewhere(session, clock)
    report.retried = retry_due(session, clock, client, report)
    report.suspended = suspend_past_grace(session, clock, settings)
    report.refunded = _each(
        session,
        report,
        "credit note",
        forgotten_refunds(session),
        lambda note_id: refund_credit_note(session, clock, client, note_id) is not None,
    )
    return report


def collect_forgotten(
    session: Session,
    clock: Clock,
    client: stripe.StripeClient,
    settings: PaymentSettings,
    report: DunningReport,
) -> int:
    """Make the first attempt of live open invoices finalized a while ago and never charged."""
    tried = sa.select(PaymentAttempt.id).where(PaymentAttempt.invoice_id == Invoice.id)
    stmt = (
        sa.select(Invoice.id)
        .where(
            Invoice.status == InvoiceStatus.OPEN,
            Invoice.sandbox.is_(False),
            Invoice.amount_due_fen > 0,
            Invoice.finalized_at <= clock.now() - settings.settle_after,
            ~tried.exists(),
        )
        .order_by(Invoice.id)
    )
    return _each(
        session,
        report,
        "invoice",
        list(session.scalars(stmt)),
        lambda invoice_id: collect(session, clock, client, invoice_id, retry=False) is not None,
    )


def settle_stale_attempts(
    session: Session,
    clock: Clock,
    client: stripe.StripeClient,
    settings: PaymentSettings,
    report: DunningReport,
) -> int:
    """Settle attempts no webhook settled within the delay, from what Stripe says now."""
    before = clock.now() - settings.settle_after
    stmt = (
        sa.select(PaymentAttempt.id)
        .where(PaymentAttempt.settled_at.is_(None), PaymentAttempt.updated_at <= before)
        .order_by(PaymentAttempt.id)
    )
    return _each(
        session,
        report,
        "attempt",
        list(session.scalars(stmt)),
        lambda attempt_id: bool(_settle_from_stripe(session, clock, client, settings, attempt_id)),
    )


def _each(
    session: Session,
    report: DunningReport,
    label: str,
    ids: list[int],
    act: Callable[[int], bool],
) -> int:
    """Act on each id; a Stripe outage on one is reported and the others still go."""
    done = 0
    for item_id in ids:
        try:
            done += act(item_id)
        except PaymentServiceUnavailable as error:
            session.rollback()
            report.errors.append(f"{label} {item_id}: {error}")
    return done


def _settle_from_stripe(
    session: Session,
    clock: Clock,
    client: stripe.StripeClient,
    settings: PaymentSettings,
    attempt_id: int,
) -> int:
    attempt = session.get(PaymentAttempt, attempt_id)
    assert attempt is not None
    if attempt.status == AttemptStatus.CREATING:
        send_attempt(session, clock, client, attempt)  # same key: Stripe gives the same intent
        return 0
    if attempt.stripe_payment_intent_id is None:
        # No intent, so no webhook will ever settle it: a failure without one is counted here.
        if attempt.status != AttemptStatus.FAILED:
            return 0
        invoice = lock_invoice(session, attempt.invoice_id)
        assert invoice is not None
        settle_failure(session, clock, settings.policy, invoice, attempt)
        session.commit()
        return 1
    result = intents.retrieve_intent(client, attempt.stripe_payment_intent_id)
    record_answer(session, clock, attempt.id, result)
    invoice = lock_invoice(session, attempt.invoice_id)
    assert invoice is not None
    session.refresh(attempt)
    if result.succeeded:
        settle_success(session, clock, invoice, attempt)
        return 1
    if result.failed:
        settle_failure(session, clock, settings.policy, invoice, attempt)
        session.commit()
        return 1
    session.rollback()
    return 0


def resolve_settled_elsewhere(session: Session, clock: Clock) -> int:
    """End the dunning of invoices paid or voided without Stripe; reinstate what was paid."""
    stmt = (
        sa.select(DunningState.invoice_id)
        .join(Invoice, Invoice.id == DunningState.invoice_id)
        .where(DunningState.resolved_at.is_(None), Invoice.status.not_in(COLLECTABLE))
        .order_by(DunningState.invoice_id)
    )
    resolved = 0
    for invoice_id in list(session.scalars(stmt)):
        invoice = lock_invoice(session, invoice_id)
        assert invoice is not None
        if resolve_dunning(session, clock, invoice):
            mails.mail_billing_contacts(session, clock, invoice, mails.PAYMENT_RECEIVED)
        session.commit()
        resolved += 1
    return resolved


def retry_due(
    session: Session, clock: Clock, client: stripe.StripeClient, report: DunningReport
) -> int:
    """Make the next attempt of every open invoice whose retry is due."""
    stmt = (
        sa.select(DunningState.invoice_id)
        .where(DunningState.resolved_at.is_(None), DunningState.next_retry_at <= clock.now())
        .order_by(DunningState.next_retry_at, DunningState.invoice_id)
    )
    retried = 0
    for invoice_id in list(session.scalars(stmt)):
        state = session.get(DunningState, invoice_id, with_for_update=True)
        if state is None or state.next_retry_at is None or state.next_retry_at > clock.now():
            session.rollback()
            continue  # another sweep took it
        state.next_retry_at = None  # the attempt's own outcome schedules the one after
        session.commit()
        try:
            retried += collect(session, clock, client, invoice_id, retry=True) is not None
        except PaymentServiceUnavailable as error:
            session.rollback()
            report.errors.append(f"invoice {invoice_id}: {error}")
    return retried


def suspend_past_grace(session: Session, clock: Clock, settings: PaymentSettings) -> int:
    """Suspend the subscriptions of invoices still unpaid when their grace is over."""
    horizon = clock.now() - timedelta(days=settings.policy.grace_days)
    stmt = (
        sa.select(DunningState.invoice_id)
        .join(Invoice, Invoice.id == DunningState.invoice_id)
        .where(
            DunningState.resolved_at.is_(None),
            DunningState.suspended_at.is_(None),
            DunningState.started_at <= horizon,
            Invoice.status.in_(COLLECTABLE),
        )
        .order_by(DunningState.invoice_id)
    )
    suspended = 0
    for invoice_id in list(session.scalars(stmt)):
        suspended += _suspend_one(session, clock, invoice_id)
    return suspended


def _suspend_one(session: Session, clock: Clock, invoice_id: int) -> int:
    invoice = lock_invoice(session, invoice_id)
    state = session.get(DunningState, invoice_id)
    if invoice is None or state is None or invoice.status not in COLLECTABLE:
        session.rollback()
        return 0
    state.suspended_at = clock.now()
    subscription = session.scalars(
        sa.select(Subscription).where(Subscription.id == invoice.subscription_id).with_for_update()
    ).one()
    done = 0
    if subscription.status == SubscriptionStatus.PAST_DUE:
        suspend(session, clock, SYSTEM, subscription)
        mails.mail_billing_contacts(session, clock, invoice, mails.SUSPENDED)
        done = 1
    session.commit()
    return done


def _clock_at(at: str | None) -> Clock:
    if at is None:
        return current_clock()
    if current_app.config["SETTINGS"].is_production:
        raise RuntimeError("dunning runs on the real clock in production")
    return FrozenClock(datetime.fromisoformat(at))


def run_dunning(at: str | None = None) -> dict[str, object]:
    """Job: run the dunning sweep now (or, outside production, as of the time `at`)."""
    clock = _clock_at(at)
    report = sweep(db.session(), clock, stripe_gateway.client(), payment_settings())
    summary = {
        "at": clock.now().isoformat(),
        "collected": report.collected,
        "settled": report.settled,
        "resolved": report.resolved,
        "retried": report.retried,
        "suspended": report.suspended,
        "refunded": report.refunded,
        "errors": report.errors,
    }
    log.info("dunning ran", **summary)
    return summary
