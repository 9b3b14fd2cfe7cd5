"""Finalize one invoice, settle or correct finalized ones, and read them per tenant.

The batch work of finalizing (rating, the adjustments seam, totals, gapless numbers) lives
in billing.services.finalization; its seam is re-exported here: register an adjustment
with register_adjustment and finalization calls it through apply_adjustments, between
rating the usage and adding the lines up.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from billing.invoicing import (
    AdvanceFees,
    BoundaryInputs,
    LineValues,
    PendingChargeInput,
    Totals,
    UsageCharges,
    boundary_lines,
    totals,
)
from billing.lifecycle import charges_in_advance
from billing.models import (
    CreditNote,
    Invoice,
    InvoiceStatus,
    PendingCharge,
    Subscription,
    SubscriptionStatus,
)
from billing.periods import Period, period_containing
from billing.services.aggregates import usage_in
from billing.services.boundaries import charge_input, current_period, in_trial, plan_ids
from billing.services.bulk import (
    PlanInfo,
    invoice_payload,
    load_plans,
    record_invoice_events,
)
from billing.services.credit_notes import (
    CREDITABLE,
    add_credit_note,
    check_no_payment_in_flight,
    checked_credit,
)
from billing.services.finalization import (
    ADJUSTMENTS,
    CARRIED_CREDIT,
    Adjustment,
    DraftInvoice,
    apply_adjustments,
    finalize_drafts,
    load_drafts,
    register_adjustment,
)
from billing.services.subscriptions import subscription_of_firm
from marketplace.audit.services import Actor, record
from marketplace.clock import Clock
from marketplace.errors import Conflict, NotFound

__all__ = [
    "ADJUSTMENTS",
    "CARRIED_CREDIT",
    "Adjustment",
    "DraftInvoice",
    "apply_adjustments",
    "register_adjustment",
]


class InvoiceStateError(Conflict):
    """A move the invoice's status does not allow."""

    code = "invoice_state"
    title = "This invoice cannot make that move now"


def _locked(session: Session, stmt: sa.Select[Invoice]) -> Invoice:
    invoice = session.scalars(stmt.with_for_update()).one_or_none()
    if invoice is None:
        raise NotFound(_("No such invoice."))
    return invoice


def finalize_invoice(session: Session, clock: Clock, invoice_id: int) -> Invoice:
    """Finalize one draft now, even inside its grace window (an operator's action)."""
    invoice = _locked(session, sa.select(Invoice).where(Invoice.id == invoice_id))
    _require(invoice, InvoiceStatus.DRAFT)
    finalize_drafts(session, clock, load_drafts(session, [invoice.id]))
    session.commit()
    session.refresh(invoice)  # finalized by set-based statements, under the loaded object
    return invoice


def _require(invoice: Invoice, *statuses: str) -> None:
    if invoice.status not in statuses:
        raise InvoiceStateError(
            _("This invoice cannot make that move in its current state."), status=invoice.status
        )


def _settle(
    session: Session, clock: Clock, actor: Actor, invoice: Invoice, status: str, event: str
) -> Invoice:
    before = {"status": invoice.status}
    now = clock.now()
    invoice.status = status
    if status == InvoiceStatus.PAID:
        invoice.paid_at = now
    if status == InvoiceStatus.VOID:
        invoice.voided_at = now
    session.flush()
    record_invoice_events(session, now, [(event, invoice_payload(invoice))])
    record(
        session,
        clock,
        actor,
        event,
        ("invoice", invoice.id),
        before=before,
        after={"status": status},
        subject_org_id=invoice.organization_id,
    )
    session.commit()
    return invoice


def void_invoice(session: Session, clock: Clock, actor: Actor, invoice: Invoice) -> Invoice:
    """Cancel an invoice that should never have been owed; its number stays used."""
    _require(invoice, InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
    session.refresh(invoice, with_for_update=True)
    _require(invoice, InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
    check_no_payment_in_flight(session, invoice)
    return _settle(session, clock, actor, invoice, InvoiceStatus.VOID, "invoice.voided")


def mark_uncollectible(session: Session, clock: Clock, actor: Actor, invoice: Invoice) -> Invoice:
    """Give up collecting an open invoice; it may still be paid later."""
    _require(invoice, InvoiceStatus.OPEN)
    return _settle(
        session, clock, actor, invoice, InvoiceStatus.UNCOLLECTIBLE, "invoice.marked_uncollectible"
    )


def mark_paid(session: Session, clock: Clock, actor: Actor, invoice: Invoice) -> Invoice:
    """Record that an open (or uncollectible) invoice has been paid in full."""
    _require(invoice, InvoiceStatus.OPEN, InvoiceStatus.UNCOLLECTIBLE)
    return _settle(session, clock, actor, invoice, InvoiceStatus.PAID, "invoice.paid")


def create_credit_note(
    session: Session,
    clock: Clock,
    actor: Actor,
    invoice: Invoice,
    amount_fen: int,
    reason: str,
) -> CreditNote:
    """Take an amount off an open or paid invoice; an open one owes that much less."""
    _require(invoice, *CREDITABLE)
    session.refresh(invoice, with_for_update=True)  # two corrections must not both fit
    _require(invoice, *CREDITABLE)  # and a void that got in first wins
    check_no_payment_in_flight(session, invoice)
    reason = checked_credit(session, invoice, amount_fen, reason)
    note = add_credit_note(session, clock.now(), actor, invoice, amount_fen, reason)
    session.commit()
    return note


def _with_lines(stmt: sa.Select[Invoice]) -> sa.Select[Invoice]:
    return stmt.options(selectinload(Invoice.lines))


def invoice_of_firm(session: Session, org_id: int, invoice_id: int) -> Invoice:
    """Return one of a firm's invoices with its lines; another firm's id is not found."""
    stmt = sa.select(Invoice).where(Invoice.id == invoice_id, Invoice.organization_id == org_id)
    invoice = session.scalars(_with_lines(stmt)).one_or_none()
    if invoice is None:
        raise NotFound(_("No such invoice."))
    return invoice


def invoices_of_firm(session: Session, org_id: int, *, drafts: bool = False) -> list[Invoice]:
    """Return a firm's invoices, newest boundary first; drafts only when asked for."""
    stmt = sa.select(Invoice).where(Invoice.organization_id == org_id)
    if not drafts:
        stmt = stmt.where(Invoice.status != InvoiceStatus.DRAFT)
    stmt = stmt.order_by(Invoice.period_start.desc(), Invoice.id.desc())
    return list(session.scalars(_with_lines(stmt)))


def invoice_of_vendor(
    session: Session, vendor_id: int, invoice_id: int, *, sandbox: bool
) -> Invoice:
    """Return an invoice of one of a vendor's subscriptions, in the caller's mode."""
    stmt = sa.select(Invoice).where(
        Invoice.id == invoice_id, Invoice.vendor_id == vendor_id, Invoice.sandbox.is_(sandbox)
    )
    invoice = session.scalars(_with_lines(stmt)).one_or_none()
    if invoice is None:
        raise NotFound(_("No such invoice."))
    return invoice


def invoices_of_vendor(session: Session, vendor_id: int, *, sandbox: bool) -> list[Invoice]:
    """Return the finalized invoices of a vendor's subscriptions, newest boundary first."""
    stmt = (
        sa.select(Invoice)
        .where(
            Invoice.vendor_id == vendor_id,
            Invoice.sandbox.is_(sandbox),
            Invoice.status != InvoiceStatus.DRAFT,
        )
        .order_by(Invoice.period_start.desc(), Invoice.id.desc())
    )
    return list(session.scalars(_with_lines(stmt)))


@dataclass(frozen=True)
class InvoiceEstimate:
    """What the invoice at a subscription's next boundary would hold if it closed now."""

    boundary_at: datetime
    lines: tuple[LineValues, ...]
    totals: Totals


def estimate_next_invoice(
    session: Session, clock: Clock, org_id: int, subscription_id: int
) -> InvoiceEstimate | None:
    """Estimate a firm's next invoice: usage rated so far, pending charges, next fees."""
    subscription = subscription_of_firm(session, org_id, subscription_id)
    if not subscription.period_open:
        return None
    plans: dict[int, PlanInfo] = {}
    load_plans(session, plan_ids([subscription]), plans)
    period = current_period(subscription)
    inputs = BoundaryInputs(
        _next_fees(subscription, plans, period.end),
        _usage_so_far(session, subscription, plans, period),
        _pending_charges(session, subscription.id),
        plans[subscription.scheduled_plan_id or subscription.plan_id].vat_rate,
    )
    lines = tuple(boundary_lines(inputs))
    return InvoiceEstimate(period.end, lines, totals(lines))


def _next_fees(
    subscription: Subscription, plans: dict[int, PlanInfo], at: datetime
) -> AdvanceFees | None:
    if subscription.status == SubscriptionStatus.CANCELLED or subscription.cancel_at_period_end:
        return None
    after = SubscriptionStatus.ACTIVE if subscription.status == "trialing" else subscription.status
    if not charges_in_advance(after) or subscription.anchor_at is None:
        return None
    plan = plans[subscription.scheduled_plan_id or subscription.plan_id]
    following = period_containing(
        subscription.anchor_at, plan.billing_interval, subscription.time_zone, at
    )
    return AdvanceFees(plan.price, subscription.seats, Period(at, following.end), plan.id)


def _usage_so_far(
    session: Session, subscription: Subscription, plans: dict[int, PlanInfo], period: Period
) -> UsageCharges | None:
    if in_trial(subscription, period.end):
        return None
    plan = plans[subscription.plan_id]
    return UsageCharges(plan.price, period, usage_in(session, subscription.id, period), plan.id)


def _pending_charges(session: Session, subscription_id: int) -> list[PendingChargeInput]:
    stmt = (
        sa.select(PendingCharge)
        .where(PendingCharge.subscription_id == subscription_id, PendingCharge.invoice_id.is_(None))
        .order_by(PendingCharge.id)
    )
    return [charge_input(c) for c in session.scalars(stmt)]
