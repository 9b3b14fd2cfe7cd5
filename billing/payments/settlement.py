"""Apply the outcome of a payment attempt to the invoice, its dunning and its subscription.

A success pays the invoice, ends its dunning and brings the subscription back; a failure
counts in the invoice's dunning, schedules the next retry, makes the subscription past due
on the first one, tells the vendor (invoice.payment_failed) and mails the firm. Both are
idempotent: an attempt is settled once (settled_at), and a failure that arrives after the
invoice was paid changes nothing, so Stripe's events may come twice or out of order.
The caller holds the invoice's row lock and commits.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus, Subscription, SubscriptionStatus
from billing.payments import mails
from billing.payments.attempt_models import AttemptStatus, DunningState, PaymentAttempt
from billing.payments.dunning_schedule import DunningPolicy, grace_ends_at, next_retry_at
from billing.services.bulk import invoice_payload, record_invoice_events
from billing.services.invoices import mark_paid
from billing.services.subscriptions import mark_past_due, reinstate
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.logs import get_logger

SYSTEM = Actor(None)
NO_PAYMENT_METHOD = "no_payment_method"
COLLECTABLE = (InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
log = get_logger(__name__)


def lock_invoice(session: Session, invoice_id: int) -> Invoice | None:
    """Return an invoice under its row lock, which every settlement of it takes first."""
    stmt = sa.select(Invoice).where(Invoice.id == invoice_id).with_for_update()
    return session.scalars(stmt).one_or_none()


def dunning_of(session: Session, invoice_id: int) -> DunningState | None:
    """Return the dunning state of an invoice, if collecting it ever failed."""
    return session.get(DunningState, invoice_id)


def settle_success(
    session: Session, clock: Clock, invoice: Invoice, attempt: PaymentAttempt
) -> str:
    """Pay the invoice of a succeeded attempt and commit; return what was done.

    A success settles even an attempt settled as failed before: Stripe may report a
    failure and then a success of the same PaymentIntent, never the other way round.
    """
    now = clock.now()
    if attempt.settled_at is not None and attempt.status == AttemptStatus.SUCCEEDED:
        session.commit()
        return "already_settled"
    attempt.status, attempt.updated_at, attempt.settled_at = AttemptStatus.SUCCEEDED, now, now
    if invoice.status not in COLLECTABLE:
        # Paid twice (or paid after a void): the reconciliation report shows it for a refund.
        log.warning("payment succeeded on a settled invoice", invoice_id=invoice.id)
        session.commit()
        return "paid_twice"
    if resolve_dunning(session, clock, invoice):
        mails.mail_billing_contacts(session, clock, invoice, mails.PAYMENT_RECEIVED)
    mark_paid(session, clock, SYSTEM, invoice)  # commits the whole settlement
    return "paid"


def resolve_dunning(session: Session, clock: Clock, invoice: Invoice) -> bool:
    """End an invoice's dunning; reinstate its subscription if nothing else is unpaid.

    Return whether the subscription was reinstated.
    """
    state = dunning_of(session, invoice.id)
    if state is not None and state.resolved_at is None:
        state.resolved_at, state.next_retry_at = clock.now(), None
    subscription = _locked_subscription(session, invoice.subscription_id)
    if subscription.status not in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.SUSPENDED):
        return False
    if _other_unpaid(session, subscription.id, invoice.id):
        return False
    reinstate(session, clock, SYSTEM, subscription)
    return True


def _locked_subscription(session: Session, subscription_id: int) -> Subscription:
    stmt = sa.select(Subscription).where(Subscription.id == subscription_id).with_for_update()
    return session.scalars(stmt).one()


def _other_unpaid(session: Session, subscription_id: int, invoice_id: int) -> bool:
    stmt = (
        sa.select(DunningState.invoice_id)
        .join(Invoice, Invoice.id == DunningState.invoice_id)
        .where(
            DunningState.subscription_id == subscription_id,
            DunningState.invoice_id != invoice_id,
            DunningState.resolved_at.is_(None),
            Invoice.status.in_(COLLECTABLE),
        )
        .limit(1)
    )
    return session.scalar(stmt) is not None


def settle_failure(
    session: Session,
    clock: Clock,
    policy: DunningPolicy,
    invoice: Invoice,
    attempt: PaymentAttempt,
) -> str:
    """Count a failed attempt in the invoice's dunning (caller commits); return what was done."""
    now = clock.now()
    if attempt.status == AttemptStatus.SUCCEEDED:
        return "stale"  # a success outranks a failure of the same attempt, in any order
    attempt.status, attempt.updated_at = AttemptStatus.FAILED, now
    if attempt.settled_at is not None:
        return "already_settled"
    attempt.settled_at = now
    if invoice.status not in COLLECTABLE:
        return "stale"  # the invoice was paid (or voided) meanwhile: nothing to dun
    state = _count_failure(session, policy, invoice, attempt, now)
    # The vendor hears of the failed payment first, then of what it did to the subscription.
    _announce_failure(session, now, invoice, attempt, state)
    if state.failed_attempts == 1:
        _mark_past_due(session, clock, invoice.subscription_id)
        session.flush()
    kind = mails.CARD_MISSING if attempt.failure_code == NO_PAYMENT_METHOD else mails.PAYMENT_FAILED
    mails.mail_billing_contacts(
        session,
        clock,
        invoice,
        kind,
        reason=attempt.failure_message or attempt.failure_code or "",
        next_retry_at=state.next_retry_at,
        suspend_at=grace_ends_at(policy, state.started_at),
    )
    return "failure"


def _count_failure(
    session: Session,
    policy: DunningPolicy,
    invoice: Invoice,
    attempt: PaymentAttempt,
    now: datetime,
) -> DunningState:
    state = dunning_of(session, invoice.id)
    if state is None:
        state = DunningState(
            invoice_id=invoice.id,
            subscription_id=invoice.subscription_id,
            started_at=now,
            failed_attempts=0,
        )
        session.add(state)
    state.resolved_at = None
    state.failed_attempts += 1
    state.last_failure_code = attempt.failure_code
    state.last_failed_at = now
    finalized_at = invoice.finalized_at or state.started_at
    state.next_retry_at = next_retry_at(policy, finalized_at, state.failed_attempts, now)
    session.flush()
    return state


def _mark_past_due(session: Session, clock: Clock, subscription_id: int) -> None:
    subscription = _locked_subscription(session, subscription_id)
    # Only a serving subscription falls past due; a suspended or cancelled one stays so.
    if subscription.status == SubscriptionStatus.ACTIVE:
        mark_past_due(session, clock, SYSTEM, subscription)


def _announce_failure(
    session: Session,
    now: datetime,
    invoice: Invoice,
    attempt: PaymentAttempt,
    state: DunningState,
) -> None:
    payload = invoice_payload(invoice) | {
        "attempt": attempt.number,
        "failure_code": attempt.failure_code,
        "failed_attempts": state.failed_attempts,
        "next_retry_at": state.next_retry_at.isoformat() if state.next_retry_at else None,
    }
    record_invoice_events(session, now, [("invoice.payment_failed", payload)])
