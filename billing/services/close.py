"""Close ended billing periods into draft invoices, and finalize drafts whose grace is over.

Both jobs walk their rows in chunks ordered by id. A chunk is locked FOR UPDATE SKIP
LOCKED (on PostgreSQL), worked out in Python with billing.invoicing, written with a few
set-based statements and committed on its own: two workers never take the same rows, a
crash loses only the chunk it was in, and a rerun picks up what is left. The unique
(subscription_id, period_start) of invoices is the backstop — a boundary already billed is
skipped by INSERT … ON CONFLICT DO NOTHING.

A subscription several periods behind (a test clock moved a year) is walked boundary by
boundary until it is caught up; each boundary gets its own invoice. Usage is rated at
finalization, not at the close: records may arrive until the grace window ends, so a draft
carries a zero usage line per metered dimension of the plan then in force, which the
finalization fills in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.due_dates import grace_end
from billing.invoicing import (
    AdvanceFees,
    BoundaryInputs,
    LineValues,
    UsageCharges,
    boundary_lines,
    totals,
)
from billing.models import (
    Invoice,
    InvoiceLine,
    InvoiceStatus,
    PendingCharge,
    Subscription,
    TestClock,
)
from billing.services.boundaries import WALKED_FIELDS, Boundary, charge_input, plan_ids, walk
from billing.services.bulk import (
    PlanInfo,
    bulk_insert,
    insert_returning,
    line_row,
    load_plans,
    payload_of,
    record_invoice_events,
    table_of,
    write_back,
)
from billing.services.finalization import finalize_drafts, load_drafts
from marketplace.clock import Clock


@dataclass
class CloseReport:
    """What a close run did: subscriptions walked, invoices made, chunks committed."""

    subscriptions: int = 0
    invoices: int = 0
    chunks: int = 0


@dataclass
class FinalizeReport:
    """What a finalization run did: invoices finalized, of which paid at once (zero due)."""

    invoices: int = 0
    paid: int = 0
    chunks: int = 0


def _scope(
    stmt: sa.Select[Any],
    org_column: Any,
    organization_ids: Sequence[int] | None,
    exclude_test_clock_firms: bool,
) -> sa.Select[Any]:
    if organization_ids is not None:
        stmt = stmt.where(org_column.in_(list(organization_ids)))
    if exclude_test_clock_firms:
        stmt = stmt.where(org_column.not_in(sa.select(TestClock.organization_id)))
    return stmt


def _lock(session: Session, stmt: sa.Select[Any]) -> sa.Select[Any]:
    # SQLite has no row locks: its writers are serialised by the database lock anyway.
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(skip_locked=True)
    return stmt


def close_due_periods(
    session: Session,
    clock: Clock,
    *,
    organization_ids: Sequence[int] | None = None,
    exclude_test_clock_firms: bool = True,
    chunk_size: int = 500,
) -> CloseReport:
    """Invoice every boundary that has passed, chunk by chunk, until all are caught up."""
    now = clock.now()
    report = CloseReport()
    plans: dict[int, PlanInfo] = {}
    after_id = 0
    while True:
        stmt = (
            sa.select(Subscription)
            .where(Subscription.period_open.is_(True), Subscription.id > after_id)
            .where(
                sa.or_(
                    Subscription.current_period_end <= now,
                    Subscription.billed_boundary_at.is_(None),
                )
            )
            .order_by(Subscription.id)
            .limit(chunk_size)
            # Rows the session loaded earlier are read again under the lock, not reused stale.
            .execution_options(populate_existing=True)
        )
        stmt = _scope(
            stmt, Subscription.organization_id, organization_ids, exclude_test_clock_firms
        )
        try:
            chunk = list(session.scalars(_lock(session, stmt)))
            if not chunk:
                return report
            after_id = chunk[-1].id
            report.invoices += close_chunk(session, clock, chunk, plans)
            session.commit()
            session.expire_all()  # rows changed under the loaded objects
        except BaseException:
            session.rollback()
            raise
        report.subscriptions += len(chunk)
        report.chunks += 1


def close_chunk(
    session: Session, clock: Clock, chunk: Sequence[Subscription], plans: dict[int, PlanInfo]
) -> int:
    """Walk a locked chunk of subscriptions to now, write their invoices; return how many."""
    now = clock.now()
    load_plans(session, plan_ids(chunk), plans)
    boundaries = [b for s in chunk for b in walk(session, clock, s, now, plans)]
    write_back(session, chunk, WALKED_FIELDS, versioned=True)
    attach_charges(session, boundaries)
    invoices = [(b, boundary_lines(inputs_of(b))) for b in boundaries]
    return insert_invoices(session, now, [(b, lines) for b, lines in invoices if lines])


def attach_charges(session: Session, boundaries: Sequence[Boundary]) -> None:
    """Give each pending charge to the first boundary of its subscription after it was made."""
    by_subscription: dict[int, list[Boundary]] = {}
    for boundary in boundaries:
        by_subscription.setdefault(boundary.subscription.id, []).append(boundary)
    if not by_subscription:
        return
    stmt = (
        sa.select(PendingCharge)
        .where(
            PendingCharge.subscription_id.in_(list(by_subscription)),
            PendingCharge.invoice_id.is_(None),
        )
        .order_by(PendingCharge.id)
    )
    for charge in session.scalars(stmt):
        taker = next(
            (b for b in by_subscription[charge.subscription_id] if charge.created_at < b.at), None
        )
        if taker is not None:
            taker.charges.append(charge)


def inputs_of(boundary: Boundary) -> BoundaryInputs:
    """Return the pure inputs of a boundary's invoice."""
    advance = None
    if boundary.bills_advance and boundary.next_period is not None:
        price = boundary.fee_plan.price
        advance = AdvanceFees(price, boundary.seats, boundary.next_period, boundary.fee_plan.id)
    usage = None
    if boundary.usage_plan is not None and boundary.usage_period is not None:
        plan = boundary.usage_plan
        usage = UsageCharges(plan.price, boundary.usage_period, {}, plan.id)
    charges = [charge_input(c) for c in boundary.charges]
    return BoundaryInputs(advance, usage, charges, boundary.fee_plan.vat_rate)


def _invoice_row(now: datetime, boundary: Boundary, lines: list[LineValues]) -> dict[str, Any]:
    subscription, sums = boundary.subscription, totals(lines)
    usage, following = boundary.usage_period, boundary.next_period
    return {
        "organization_id": subscription.organization_id,
        "vendor_id": subscription.vendor_id,
        "subscription_id": subscription.id,
        "sandbox": subscription.sandbox,
        "status": InvoiceStatus.DRAFT.value,
        "currency": boundary.fee_plan.currency,
        "period_start": boundary.at,
        "period_end": following.end if following else None,
        "usage_period_start": usage.start if usage else None,
        "usage_period_end": usage.end if usage else None,
        "subtotal_fen": sums.subtotal_fen,
        "tax_fen": sums.tax_fen,
        "total_fen": sums.total_fen,
        "amount_due_fen": sums.amount_due_fen,
        "vat_rate": boundary.fee_plan.vat_rate,
        "created_at": now,
        "grace_until": grace_end(boundary.at),
    }


def insert_invoices(
    session: Session, now: datetime, invoices: Sequence[tuple[Boundary, list[LineValues]]]
) -> int:
    """Insert drafts, skipping boundaries already invoiced; add their lines; return the count."""
    if not invoices:
        return 0
    session.flush()  # the subscriptions' own changes go first, in the same transaction
    table = table_of(Invoice)
    rows = [_invoice_row(now, boundary, lines) for boundary, lines in invoices]
    inserted = insert_returning(
        session,
        table,
        rows,
        ("subscription_id", "period_start"),
        ("id", "subscription_id", "period_start"),
    )
    made = {(row.subscription_id, row.period_start): row.id for row in inserted}
    created, created_rows = [], []
    for (boundary, lines), row in zip(invoices, rows, strict=True):
        invoice_id = made.get((boundary.subscription.id, boundary.at))
        if invoice_id is not None:
            created.append((invoice_id, boundary, lines))
            created_rows.append((invoice_id, row))
    insert_lines(session, now, created, created_rows)
    return len(created)


def insert_lines(
    session: Session,
    now: datetime,
    created: Sequence[tuple[int, Boundary, list[LineValues]]],
    created_rows: Sequence[tuple[int, dict[str, Any]]],
) -> None:
    """Write the lines of new drafts, hand them their charges, and announce the drafts."""
    if not created:
        return
    rows = [line_row(i, n, line) for i, _b, lines in created for n, line in enumerate(lines, 1)]
    bulk_insert(session, table_of(InvoiceLine), rows)
    charges = [{"charge_id": c.id, "taker": i} for i, b, _l in created for c in b.charges]
    if charges:
        table = table_of(PendingCharge)
        session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("charge_id"))
            .values(invoice_id=sa.bindparam("taker")),
            charges,
        )
    events = [("invoice.created", payload_of(row | {"id": i})) for i, row in created_rows]
    record_invoice_events(session, now, events)


def finalize_due_invoices(
    session: Session,
    clock: Clock,
    *,
    organization_ids: Sequence[int] | None = None,
    exclude_test_clock_firms: bool = True,
    chunk_size: int = 500,
) -> FinalizeReport:
    """Finalize every draft whose grace window is over, chunk by chunk."""
    now = clock.now()
    report = FinalizeReport()
    plans: dict[int, PlanInfo] = {}
    while True:
        # A finalized draft leaves the set, so each chunk starts from the front again; in
        # the order of the (status, grace_until) index, so no chunk sorts all the drafts.
        stmt = (
            sa.select(Invoice.id)
            .where(Invoice.status == InvoiceStatus.DRAFT, Invoice.grace_until <= now)
            .order_by(Invoice.grace_until)
            .limit(chunk_size)
        )
        stmt = _scope(stmt, Invoice.organization_id, organization_ids, exclude_test_clock_firms)
        try:
            chunk = list(session.scalars(_lock(session, stmt)))
            if not chunk:
                return report
            paid = finalize_drafts(session, clock, load_drafts(session, chunk), plans)
            session.commit()
            session.expire_all()  # rows changed under the loaded objects
        except BaseException:
            session.rollback()
            raise
        report.invoices += len(chunk)
        report.paid += paid
        report.chunks += 1
