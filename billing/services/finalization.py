"""Finalize drafts: rate their usage, run the adjustments, add them up and number them.

Usage is rated here, not at the close, because records may arrive until the grace window
ends. Between rating and the totals every adjustment registered on ADJUSTMENTS runs on
each draft: that is the seam where the subsidy lines go. The number comes from the year's
row of InvoiceNumberCounter, updated in the same transaction, so a rollback gives the
numbers back and two finalizations wait for each other instead of skipping or sharing one.
A batch works on plain values and writes with a few set-based statements (billing.services
.bulk), so finalizing a chunk of hundreds of drafts costs a handful of round trips.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.due_dates import due_date
from billing.invoice_numbers import format_invoice_number
from billing.invoicing import LineKind, LineValues, Totals, UsageTotals, totals, usage_line
from billing.models import Invoice, InvoiceLine, InvoiceStatus, PendingCharge
from billing.periods import Period
from billing.services.bulk import (
    PlanInfo,
    bulk_insert,
    line_row,
    load_plans,
    payload_of,
    record_invoice_events,
    table_of,
    take_invoice_numbers,
    update_rows,
    usage_totals,
)
from billing.services.credit_notes import credit_back
from marketplace.clock import MARKET_TIME_ZONE, Clock

DUE_DAYS = 15
CARRIED_CREDIT = "credit"
CARRIED_CREDIT_KEY = "credit_carried"


@dataclass
class DraftInvoice:
    """A draft being finalized: its row's values and its lines, in position order.

    The first len(line_ids) lines are stored (line_ids holds their row ids); an adjustment
    appends new ones after them. Amounts include VAT; a line's tax_fen is the VAT inside.
    """

    id: int
    organization_id: int
    vendor_id: int
    subscription_id: int
    sandbox: bool
    currency: str
    period_start: datetime
    period_end: datetime | None
    usage_period: Period | None
    vat_rate: Decimal
    lines: list[LineValues] = field(default_factory=list)
    line_ids: list[int] = field(default_factory=list)


# An adjustment reads a batch of drafts whose usage is rated and may append lines to each
# draft's lines (e.g. LineKind.SUBSIDY with a negative amount, its VAT split with
# billing.tax); it must not change, reorder or remove the lines already there, nor commit.
# It may write rows of its own (subsidy grants and ledger entries) in the session: they
# commit with the finalization. It gets the whole batch so it can read what it needs for
# all the drafts at once. Register at start-up with register_adjustment (app.py does).
Adjustment = Callable[[Session, Clock, Sequence[DraftInvoice]], None]
ADJUSTMENTS: list[Adjustment] = []


def register_adjustment(adjustment: Adjustment) -> Adjustment:
    """Add an adjustment every finalization runs; usable as a decorator."""
    if adjustment not in ADJUSTMENTS:
        ADJUSTMENTS.append(adjustment)
    return adjustment


def apply_adjustments(session: Session, clock: Clock, drafts: Sequence[DraftInvoice]) -> None:
    """Run every registered adjustment on a batch of drafts whose usage is rated."""
    for adjustment in ADJUSTMENTS:
        adjustment(session, clock, drafts)


DRAFT_COLUMNS = (
    "id",
    "organization_id",
    "vendor_id",
    "subscription_id",
    "sandbox",
    "currency",
    "period_start",
    "period_end",
    "usage_period_start",
    "usage_period_end",
    "vat_rate",
)
LINE_COLUMNS = (
    "id",
    "invoice_id",
    "kind",
    "description_key",
    "dimension",
    "quantity",
    "amount_fen",
    "tax_fen",
    "plan_id",
)


def load_drafts(session: Session, invoice_ids: Sequence[int]) -> list[DraftInvoice]:
    """Read drafts and their lines in two queries; the caller holds their row locks."""
    inv = table_of(Invoice)
    stmt = sa.select(*(inv.c[name] for name in DRAFT_COLUMNS)).where(
        inv.c.id.in_(invoice_ids), inv.c.status == InvoiceStatus.DRAFT
    )
    drafts = {row.id: _draft(row) for row in session.execute(stmt).all()}
    lines = table_of(InvoiceLine)
    stmt = (
        sa.select(*(lines.c[name] for name in LINE_COLUMNS))
        .where(lines.c.invoice_id.in_(list(drafts)))
        .order_by(lines.c.invoice_id, lines.c.position)
    )
    for row in session.execute(stmt).all():
        draft = drafts[row.invoice_id]
        draft.lines.append(_line(row))
        draft.line_ids.append(row.id)
    return [drafts[i] for i in sorted(drafts)]


def _draft(row: Any) -> DraftInvoice:
    usage = None
    if row.usage_period_start is not None and row.usage_period_end is not None:
        usage = Period(row.usage_period_start, row.usage_period_end)
    return DraftInvoice(
        row.id,
        row.organization_id,
        row.vendor_id,
        row.subscription_id,
        row.sandbox,
        row.currency,
        row.period_start,
        row.period_end,
        usage,
        row.vat_rate,
    )


def _line(row: Any) -> LineValues:
    # The periods of stored lines are left out: finalizing never rewrites them.
    return LineValues(
        LineKind(row.kind),
        row.description_key,
        row.quantity,
        row.amount_fen,
        row.tax_fen,
        row.dimension,
        plan_id=row.plan_id,
    )


def rate_usage(
    draft: DraftInvoice, usage: Mapping[str, UsageTotals], plans: Mapping[int, PlanInfo]
) -> list[int]:
    """Rate each usage line the close left on its dimension's usage; return those that changed."""
    changed = []
    for n, line in enumerate(draft.lines):
        if line.kind != LineKind.USAGE or draft.usage_period is None:
            continue
        assert line.plan_id is not None and line.dimension is not None
        price = next(p for p in plans[line.plan_id].price.metered if p.dimension == line.dimension)
        used = usage.get(line.dimension, UsageTotals())
        rated = usage_line(price, used, draft.usage_period, draft.vat_rate, line.plan_id)
        if (rated.quantity, rated.amount_fen) != (line.quantity, line.amount_fen):
            draft.lines[n] = rated
            changed.append(n)
    return changed


@dataclass
class _Writes:
    """What finalizing a batch writes, gathered so each table gets one statement."""

    due_at: datetime
    invoices: list[dict[str, Any]] = field(default_factory=list)
    rated: list[dict[str, Any]] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)
    credits: list[dict[str, Any]] = field(default_factory=list)
    # Credits of a subscription's last invoice: no later invoice can take them.
    final_credits: list[tuple[int, int]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def finalize_drafts(
    session: Session,
    clock: Clock,
    drafts: Sequence[DraftInvoice],
    plans: dict[int, PlanInfo] | None = None,
) -> int:
    """Finalize a batch of locked drafts; return how many were paid at once (nothing due)."""
    if not drafts:
        return 0
    plans = {} if plans is None else plans
    now = clock.now()
    load_plans(session, {ln.plan_id for d in drafts for ln in d.lines if ln.plan_id}, plans)
    usage = usage_totals(session, [d.id for d in drafts if d.usage_period])
    year = now.astimezone(MARKET_TIME_ZONE).year
    numbered = sum(1 for d in drafts if not d.sandbox)
    numbers = iter(take_invoice_numbers(session, year, numbered) if numbered else ())
    writes = _Writes(due_at=due_date(now, DUE_DAYS, MARKET_TIME_ZONE))
    for draft in drafts:
        writes.rated += [
            {"id": draft.line_ids[n], "quantity": draft.lines[n].quantity}
            | {"amount_fen": draft.lines[n].amount_fen, "tax_fen": draft.lines[n].tax_fen}
            for n in rate_usage(draft, usage.get(draft.id, {}), plans)
        ]
    apply_adjustments(session, clock, drafts)
    for draft in drafts:
        number = None if draft.sandbox else format_invoice_number(year, next(numbers))
        _finalize_one(draft, number, now, writes)
    _write(session, now, writes)
    return sum(1 for row in writes.invoices if row["status"] == InvoiceStatus.PAID)


def _finalize_one(draft: DraftInvoice, number: str | None, now: datetime, writes: _Writes) -> None:
    sums = totals(draft.lines)
    paid = sums.amount_due_fen == 0
    row = {
        "id": draft.id,
        "number": number,
        "status": (InvoiceStatus.PAID if paid else InvoiceStatus.OPEN).value,
        "subtotal_fen": sums.subtotal_fen,
        "tax_fen": sums.tax_fen,
        "total_fen": sums.total_fen,
        "amount_due_fen": sums.amount_due_fen,
        "finalized_at": now,
        "due_at": writes.due_at,
        "paid_at": now if paid else None,
    }
    writes.invoices.append(row)
    stored = len(draft.line_ids)
    writes.added += [
        line_row(draft.id, position, line)
        for position, line in enumerate(draft.lines[stored:], stored + 1)
    ]
    if sums.carried_credit_fen and draft.period_end is None:
        writes.final_credits.append((draft.subscription_id, -sums.carried_credit_fen))
    elif sums.carried_credit_fen:
        writes.credits.append(_carried_credit(draft, sums, now))
    payload = payload_of(_payload_fields(draft) | row)
    writes.events.append(("invoice.finalized", payload | {"status": InvoiceStatus.OPEN.value}))
    if paid:
        writes.events.append(("invoice.paid", payload))


def _payload_fields(draft: DraftInvoice) -> dict[str, Any]:
    return {
        "vendor_id": draft.vendor_id,
        "organization_id": draft.organization_id,
        "subscription_id": draft.subscription_id,
        "sandbox": draft.sandbox,
        "currency": draft.currency,
        "period_start": draft.period_start,
    }


def _carried_credit(draft: DraftInvoice, sums: Totals, now: datetime) -> dict[str, Any]:
    # The next invoice of the subscription takes the credit the charges did not absorb.
    return {
        "subscription_id": draft.subscription_id,
        "kind": CARRIED_CREDIT,
        "description_key": CARRIED_CREDIT_KEY,
        "quantity": Decimal(1),
        "amount_fen": sums.carried_credit_fen,
        "period_start": draft.period_start,
        "period_end": draft.period_end or draft.period_start,
        "plan_id": None,
        "created_at": now,
        "invoice_id": None,
    }


def _write(session: Session, now: datetime, writes: _Writes) -> None:
    update_rows(session, table_of(Invoice), writes.invoices)
    update_rows(session, table_of(InvoiceLine), writes.rated)
    bulk_insert(session, table_of(InvoiceLine), writes.added)
    bulk_insert(session, table_of(PendingCharge), writes.credits)
    record_invoice_events(session, now, writes.events)
    for subscription_id, credit_fen in writes.final_credits:
        _give_back(session, now, subscription_id, credit_fen)


def _give_back(session: Session, now: datetime, subscription_id: int, credit_fen: int) -> None:
    """Credit a last invoice's leftover to the subscription's earlier invoices (refunds follow)."""
    reason = _("Credit left over when the subscription ended")
    left = credit_back(session, now, subscription_id, credit_fen, reason)
    if left:
        # Nothing earlier to credit: keep it on record as a pending credit of the subscription.
        charge = {"subscription_id": subscription_id, "amount_fen": -left}
        session.execute(sa.insert(PendingCharge), [_leftover_row(charge, now)])


def _leftover_row(charge: dict[str, Any], now: datetime) -> dict[str, Any]:
    return charge | {
        "kind": CARRIED_CREDIT,
        "description_key": CARRIED_CREDIT_KEY,
        "quantity": Decimal(1),
        "period_start": now,
        "period_end": now,
        "plan_id": None,
        "created_at": now,
        "invoice_id": None,
    }
