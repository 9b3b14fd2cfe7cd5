"""Many workers granting subsidies at once on PostgreSQL never overspend a budget or a cap.

Each worker has its own connection and commits for real, so the test uses a scratch
database of its own rather than the rolled-back transaction of the other tests.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.subsidies import ledger
from billing.subsidies.models import (
    GrantStatus,
    SubsidyGrant,
    SubsidyLedgerEntry,
    SubsidyParkPolicy,
)
from billing.subsidies.rules import ProgramRules, grant_invoice
from marketplace.clock import FrozenClock
from marketplace.orgs.models import OrgKind
from tests.billing.subsidies.test_ledger import (
    AT,
    ON,
    line,
    make_invoice,
    make_program,
    make_world,
    org,
    rules_of,
)
from tests.conftest import migrated_engine

pytestmark = pytest.mark.postgres

WORKERS = 8
INVOICES_PER_WORKER = 8
FIRMS = 6
BUDGET_FEN = 1500  # per program; two programs
YEAR_CAP_FEN = 700  # per firm across the park, shared by both programs
RATE = "0.5"


@dataclass(frozen=True)
class Job:
    """One invoice to finalize: its firm, its one line's amount, and its program."""

    invoice_id: int
    firm_id: int
    vendor_id: int
    amount_fen: int
    rules: ProgramRules


@pytest.fixture(scope="module")
def engine() -> Iterator[sa.Engine]:
    """Give the module a migrated scratch database of its own."""
    with migrated_engine("subsidy_race", pool_size=WORKERS + 2) as made:
        yield made


def _seed(engine: sa.Engine) -> list[list[Job]]:
    """Commit a park with two programs, shared firms and each worker's invoices."""
    with Session(engine) as session:
        world = make_world(session)
        programs = [
            rules_of(make_program(session, world.park_id, BUDGET_FEN), BUDGET_FEN, rate=RATE)
            for _ in range(2)
        ]
        session.add(
            SubsidyParkPolicy(park_id=world.park_id, firm_year_cap_fen=YEAR_CAP_FEN, updated_at=AT)
        )
        firms = [org(session, OrgKind.SME) for _ in range(FIRMS)]
        amounts = itertools.cycle([300, 555, 799, 1001, 420, 613, 999])
        jobs = []
        for worker in range(WORKERS):
            # Even workers draw on one program, odd on the other: only the firm's lock row
            # keeps the park's annual cap between them.
            rules = programs[worker % 2]
            mine = []
            for n in range(INVOICES_PER_WORKER):
                firm_id = firms[(worker + n) % FIRMS]
                invoice_id = make_invoice(session, world, firm_id)
                mine.append(Job(invoice_id, firm_id, world.vendor_id, next(amounts), rules))
            jobs.append(mine)
        session.commit()
        return jobs


def _finalize(engine: sa.Engine, clock: FrozenClock, job: Job) -> None:
    """Lock, read the standing, grant by the rules and reserve, in one transaction."""
    with Session(engine) as session:
        standings = ledger.lock_standings(session, [job.rules], job.firm_id, ON.year)
        lines = [line("1", job.amount_fen, job.vendor_id)]
        grants = grant_invoice([(job.rules, standings[job.rules.program_id])], lines, ON)
        ledger.reserve(session, clock, job.invoice_id, grants, lines, [job.rules])
        session.commit()


def _settle(engine: sa.Engine, clock: FrozenClock, invoice_id: int, paid: bool) -> None:
    """Confirm or release an invoice's grants in a transaction of its own."""
    with Session(engine) as session:
        settle = ledger.confirm_invoice if paid else ledger.release_invoice
        settle(session, clock, invoice_id)
        session.commit()


def _worker(engine: sa.Engine, clock: FrozenClock, jobs: list[list[Job]], n: int) -> None:
    """Finalize a worker's invoices, the next worker's first one again, and settle some."""
    mine = jobs[n]
    for k, job in enumerate(mine):
        _finalize(engine, clock, job)
        if k % 3 == 2:
            _settle(engine, clock, mine[k - 1].invoice_id, paid=False)  # voided: budget back
            _settle(engine, clock, mine[k - 2].invoice_id, paid=True)
    _finalize(engine, clock, jobs[(n + 1) % WORKERS][0])  # a second worker's retry


def _at_once(work: Callable[[int], None]) -> None:
    """Run work(n) in WORKERS threads released together; re-raise the first error."""
    barrier = threading.Barrier(WORKERS)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            work(n)
        except BaseException as error:  # handed to the main thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WORKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def test_concurrent_finalizations_never_overspend_the_budget_or_the_firms_annual_cap(
    engine: sa.Engine,
) -> None:
    jobs = _seed(engine)
    clock = FrozenClock(AT)
    programs = sorted({job.rules.program_id for mine in jobs for job in mine})
    wanted = sum(job.amount_fen // 2 for mine in jobs for job in mine)
    assert wanted > 2 * BUDGET_FEN  # the budgets and caps must bind for the test to mean much

    _at_once(lambda n: _worker(engine, clock, jobs, n))

    with Session(engine) as session:
        entries = session.execute(
            sa.select(
                SubsidyLedgerEntry.program_id,
                SubsidyLedgerEntry.kind,
                SubsidyLedgerEntry.amount_fen,
            ).order_by(SubsidyLedgerEntry.id)
        ).all()
        grants = session.scalars(sa.select(SubsidyGrant)).all()
        usages = {p: ledger.program_usage(session, p) for p in programs}

    # Every prefix of each program's ledger, in the order the entries were written, is
    # within [0, budget]: the budget was never overdrawn, not even for a moment.
    for program_id in programs:
        used, peak = 0, 0
        for entry_program, _, amount in entries:
            if entry_program == program_id:
                used += amount
                assert 0 <= used <= BUDGET_FEN, [e for e in entries if e[0] == program_id]
                peak = max(peak, used)
        assert peak > BUDGET_FEN // 2
        live = sum(
            g.amount_fen for g in grants if g.program_id == program_id and g.status != "released"
        )
        usage = usages[program_id]
        assert usage.reserved_fen + usage.confirmed_fen == live == used
        assert usage.remaining_fen == BUDGET_FEN - used >= 0

    # Each grant once, never above the rate, and each firm within the park's annual cap.
    keys = [(g.invoice_id, g.line_key, g.program_id) for g in grants]
    assert len(keys) == len(set(keys))
    amount_of = {job.invoice_id: job.amount_fen for mine in jobs for job in mine}
    over = [
        (g.invoice_id, g.amount_fen, amount_of[g.invoice_id])
        for g in grants
        if g.amount_fen > amount_of[g.invoice_id] // 2
    ]
    assert over == [], (over, amount_of)
    per_firm: dict[int, int] = {}
    for g in grants:
        if g.status != GrantStatus.RELEASED:
            per_firm[g.firm_id] = per_firm.get(g.firm_id, 0) + g.amount_fen
    assert all(total <= YEAR_CAP_FEN for total in per_firm.values())
    assert max(per_firm.values()) > YEAR_CAP_FEN // 2
    # Every grant has its reserve entry, and each settled one its confirm or release entry.
    kinds = {kind for _, kind, _ in entries}
    assert kinds == {"reserve", "confirm", "release"}
    assert sum(1 for _, kind, _ in entries if kind == "reserve") == len(grants)
    settled = sum(1 for g in grants if g.status != GrantStatus.RESERVED)
    assert sum(1 for _, kind, _ in entries if kind != "reserve") == settled
