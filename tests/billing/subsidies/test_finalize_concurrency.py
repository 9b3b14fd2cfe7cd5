"""Many workers finalizing one park's invoices at once never overspend a subsidy program.

The real close and finalization services run in threads, each with its own connection,
against a small budget with a per-firm cap and a vendor sub-quota; while some finalize,
others pay and void earlier invoices and relay the outbox, so releases race the grants.
Each worker commits for real, so the test has a migrated database of its own.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from sqlalchemy.orm import Session

from billing.invoicing import LineKind
from billing.models import Invoice, InvoiceLine, InvoiceStatus
from billing.services import invoices
from billing.services import subscriptions as subs
from billing.services.close import FinalizeReport, close_due_periods, finalize_due_invoices
from billing.subsidies import ledger
from billing.subsidies.models import GrantStatus, SubsidyGrant, SubsidyLedgerEntry
from catalog.pricing import FlatFee, PlanPrice, SeatFee
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.extensions import db
from marketplace.orgs.models import OrgKind
from marketplace.webhooks.relay import relay_outbox
from tests.billing.conftest import new_plan
from tests.billing.subsidies.world import add_member_firm, add_program, simple_rules
from tests.billing.test_close import APRIL, GRACE, MAY, START
from tests.conftest import committing_app
from tests.factories import make_member, make_org

pytestmark = pytest.mark.postgres

ACTOR = Actor(None)
WORKERS = 6
FIRMS = 24
RATE = Decimal("0.37")
# Flat fee and seat price of each vendor's plan; the first vendor has a sub-quota.
PRICES = [(52_000, 7_100), (31_000, 11_300), (83_000, 3_300)]
ROUNDS = (START, APRIL, MAY)


@dataclass(frozen=True)
class Park:
    """What the race runs on: the firms, the vendors, the program and its limits."""

    firm_ids: list[int]
    vendor_ids: list[int]
    program_id: int
    budget_fen: int
    firm_cap_fen: int
    quota_fen: int


@pytest.fixture(scope="module", name="committing_app")
def _committing_app(redis_url: str | None) -> Iterator[Flask]:
    """An app over a migrated database of its own, whose sessions really commit."""
    with committing_app("subsidy_finalize", redis_url, START) as built:
        yield built


def _demand(seats: int, price: tuple[int, int]) -> int:
    """Return what the rate asks for one invoice of a plan: each line rounded down."""
    flat, per_seat = price
    return sum(
        int((RATE * amount).to_integral_value(rounding=ROUND_DOWN))
        for amount in (flat, per_seat * seats)
    )


def _seed(app: Flask) -> Park:
    """Commit a park, three vendors' plans, FIRMS member firms subscribed, and the program."""
    clock: FrozenClock = app.extensions["clock"]
    with app.test_request_context(), force_locale("en"):
        session = db.session()
        park = make_org(OrgKind.PARK, "经开区")
        make_member(park)
        prices = [PlanPrice((FlatFee(f), SeatFee(s, 1, 50))) for f, s in PRICES]
        plans = [new_plan(price, auto_activate=True) for price in prices]
        firm_ids, per_round, per_firm = [], 0, []
        for n in range(FIRMS):
            profile, _ = add_member_firm(session, park, clock.now())
            firm_ids.append(profile.organization_id)
            bought = [n % 3] + ([(n + 1) % 3] if n % 4 == 0 else [])
            seats = 1 + n % 7
            for k in bought:
                subs.subscribe(session, clock, ACTOR, profile.organization_id, plans[k].id, seats)
            per_firm.append(sum(_demand(seats, PRICES[k]) for k in bought))
            per_round += per_firm[-1]
        # About 40% of what three rounds ask for; a firm may take about one round and a half.
        budget = per_round * len(ROUNDS) * 2 // 5
        cap = sum(per_firm) * 3 // (2 * FIRMS)
        quota = budget // 6
        vendor_ids = [plan.listing.vendor_id for plan in plans]
        rules = simple_rules(
            rate_steps=[{"starts_on": "2026-01-01", "default_rate": str(RATE), "layer_rates": {}}],
            caps={"per_firm_fen": cap},
            vendor_quotas_fen={str(vendor_ids[0]): quota},
        )
        program = add_program(session, park.id, clock.now(), rules=rules, budget_fen=budget)
        session.commit()
        made = Park(firm_ids, vendor_ids, program.id, budget, cap, quota)
        db.session.remove()
    return made


def _at_once(app: Flask, work: Callable[[Session, int], None]) -> None:
    """Run work(session, n) in WORKERS threads released together; re-raise the first error."""
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        with app.test_request_context(), force_locale("en"):
            try:
                session = db.session()
                barrier.wait()
                work(session, n)
            except BaseException as error:  # handed to the test thread
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]


def _close(app: Flask, clock: FrozenClock, firm_ids: list[int]) -> list[int]:
    """Close the periods due by the clock; return the drafts to finalize."""
    with app.app_context():
        session = db.session()
        close_due_periods(session, clock, organization_ids=firm_ids)
        drafts = list(
            session.scalars(
                sa.select(Invoice.id)
                .where(Invoice.organization_id.in_(firm_ids), Invoice.status == InvoiceStatus.DRAFT)
                .order_by(Invoice.id)
            )
        )
        db.session.remove()
    return drafts


def _race_the_close(
    park: Park, clock: FrozenClock, chunk: int, reports: list[FinalizeReport]
) -> Callable[[Session, int], None]:
    """Every worker finalizes the due drafts in chunks, all racing on the same rows."""

    def work(session: Session, n: int) -> None:
        reports.append(
            finalize_due_invoices(session, clock, organization_ids=park.firm_ids, chunk_size=chunk)
        )

    return work


def _finalize_and_settle(
    clock: FrozenClock, drafts: list[int], earlier: list[int]
) -> Callable[[Session, int], None]:
    """Four workers finalize their shares one by one; two pay and void earlier invoices."""
    finalizers = WORKERS - 2

    def work(session: Session, n: int) -> None:
        if n < finalizers:
            for invoice_id in drafts[n::finalizers]:
                invoices.finalize_invoice(session, clock, invoice_id)
            return
        # One pays every third invoice, the other voids the fourth of every six: never both.
        paying = n == finalizers
        settle = invoices.mark_paid if paying else invoices.void_invoice
        for k, invoice_id in enumerate(earlier):
            if (k % 3 == 0) if paying else (k % 6 == 4):
                invoice = session.get(Invoice, invoice_id)
                assert invoice is not None
                settle(session, clock, ACTOR, invoice)
                relay_outbox()

    return work


def test_racing_finalizations_never_overspend_the_budget_a_firm_cap_or_a_sub_quota(
    committing_app: Flask,
) -> None:
    app = committing_app
    park = _seed(app)
    clock: FrozenClock = app.extensions["clock"]
    finalized: list[int] = []
    for n, at in enumerate(ROUNDS):
        round_clock = FrozenClock(at + GRACE)
        app.extensions["clock"] = round_clock  # what the relay's handlers read
        drafts = _close(app, round_clock, park.firm_ids)
        assert len(drafts) == FIRMS + FIRMS // 4
        if n == 1:
            _at_once(app, _finalize_and_settle(round_clock, drafts, finalized))
        else:
            reports: list[FinalizeReport] = []
            _at_once(app, _race_the_close(park, round_clock, n + 2, reports))
            assert sum(r.invoices for r in reports) == len(drafts)  # none finalized twice
            assert sum(1 for r in reports if r.invoices) > 1, "workers should share the chunks"
        finalized += drafts
    app.extensions["clock"] = clock
    with app.app_context():
        relay_outbox()
        _check(db.session(), park, finalized)
        db.session.remove()


def _check(session: Session, park: Park, finalized: list[int]) -> None:
    """Check the ledger's history, the limits, and the invoices against the grants."""
    entries = [
        (row.firm_id, row.vendor_id, row.amount_fen)
        for row in session.execute(
            sa.select(
                SubsidyLedgerEntry.firm_id,
                SubsidyLedgerEntry.vendor_id,
                SubsidyLedgerEntry.amount_fen,
            )
            .where(SubsidyLedgerEntry.program_id == park.program_id)
            .order_by(SubsidyLedgerEntry.id)
        )
    ]
    _check_every_prefix(park, entries)
    grants = session.scalars(
        sa.select(SubsidyGrant).where(SubsidyGrant.program_id == park.program_id)
    ).all()
    live = [g for g in grants if g.status != GrantStatus.RELEASED]
    by_firm: defaultdict[int, int] = defaultdict(int)
    by_vendor: defaultdict[int, int] = defaultdict(int)
    for grant in live:
        by_firm[grant.firm_id] += grant.amount_fen
        by_vendor[grant.vendor_id] += grant.amount_fen
    assert max(by_firm.values()) <= park.firm_cap_fen
    assert by_vendor[park.vendor_ids[0]] <= park.quota_fen
    usage = ledger.program_usage(session, park.program_id)
    held = sum(g.amount_fen for g in live)
    assert usage.remaining_fen >= 0
    assert usage.reserved_fen + usage.confirmed_fen == held == park.budget_fen - usage.remaining_fen
    assert sum(amount for _, _, amount in entries) == held
    assert {g.status for g in grants} == {"reserved", "confirmed", "released"}
    # The limits bound: the budget ran low, some firm reached its cap, the quota was drawn on.
    assert held + usage.remaining_fen == park.budget_fen and held > park.budget_fen * 9 // 10
    assert max(by_firm.values()) == park.firm_cap_fen
    assert by_vendor[park.vendor_ids[0]] > 0
    _check_invoices(session, park, finalized, grants)


def _check_every_prefix(park: Park, entries: Sequence[tuple[int, int, int]]) -> None:
    """Check the program, each firm and the quota vendor stayed in bounds after every entry."""
    used, quota_used = 0, 0
    firm_used: defaultdict[int, int] = defaultdict(int)
    for firm_id, vendor_id, amount in entries:
        used += amount
        firm_used[firm_id] += amount
        quota_used += amount if vendor_id == park.vendor_ids[0] else 0
        assert 0 <= used <= park.budget_fen
        assert 0 <= firm_used[firm_id] <= park.firm_cap_fen
        assert 0 <= quota_used <= park.quota_fen


def _check_invoices(
    session: Session, park: Park, finalized: list[int], grants: Sequence[SubsidyGrant]
) -> None:
    """Check each invoice's subsidy line is its grants, and every fen is granted or owed."""
    rows = session.scalars(
        sa.select(Invoice).where(Invoice.organization_id.in_(park.firm_ids)).order_by(Invoice.id)
    ).all()
    assert sorted(i.id for i in rows) == sorted(finalized)
    assert all(i.status != InvoiceStatus.DRAFT for i in rows)
    granted: defaultdict[int, int] = defaultdict(int)
    for grant in grants:
        granted[grant.invoice_id] += grant.amount_fen
    charges = subsidies = totals = 0
    for invoice in rows:
        lines = invoice.lines
        subsidy = [ln for ln in lines if ln.kind == LineKind.SUBSIDY]
        assert [ln.subsidy_program_id for ln in subsidy] == ([park.program_id] if subsidy else [])
        assert -sum(ln.amount_fen for ln in subsidy) == granted.get(invoice.id, 0)
        charged = sum(ln.amount_fen for ln in lines if ln.kind != LineKind.SUBSIDY)
        assert invoice.total_fen == charged - granted.get(invoice.id, 0)
        if invoice.status == InvoiceStatus.OPEN:
            assert invoice.amount_due_fen == invoice.total_fen
        charges, subsidies, totals = (
            charges + charged,
            subsidies + granted.get(invoice.id, 0),
            totals + invoice.total_fen,
        )
    assert subsidies + totals == charges
    line_sum = -sum(
        session.scalars(
            sa.select(InvoiceLine.amount_fen)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(
                InvoiceLine.subsidy_program_id == park.program_id,
                Invoice.status.not_in([InvoiceStatus.VOID, InvoiceStatus.UNCOLLECTIBLE]),
            )
        )
    )
    usage = ledger.program_usage(session, park.program_id)
    assert line_sum == usage.reserved_fen + usage.confirmed_fen
