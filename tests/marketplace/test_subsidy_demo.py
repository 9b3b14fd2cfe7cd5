"""The subsidy demo `make run` loads: programs in both demo parks and months of their invoices."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceLine, InvoiceStatus, LineKind
from billing.subsidies import ledger
from billing.subsidies.demo import history_start, load_subsidy_demo
from billing.subsidies.models import (
    EnrollmentStatus,
    GrantStatus,
    ProgramStatus,
    SubsidyEnrollment,
    SubsidyGrant,
    SubsidyLedgerEntry,
    SubsidyParkPolicy,
    SubsidyProgram,
)
from marketplace import demo
from marketplace.clock import MARKET_TIME_ZONE, FrozenClock
from marketplace.demo import DEMO_PASSWORD, PARKS, load_demo
from marketplace.orgs.models import Organization, OrgKind


def _park_ids(session: Session) -> dict[str, int]:
    names = {name: key for key, (name, _a, _e) in PARKS.items()}
    rows = session.execute(
        sa.select(Organization.name, Organization.id).where(Organization.kind == OrgKind.PARK)
    )
    return {names[name]: park_id for name, park_id in rows}


def _programs(session: Session, park_id: int) -> list[SubsidyProgram]:
    return list(session.scalars(sa.select(SubsidyProgram).where(SubsidyProgram.park_id == park_id)))


def _subsidized_invoices(session: Session, program_ids: list[int]) -> list[Invoice]:
    return list(
        session.scalars(
            sa.select(Invoice)
            .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
            .where(
                InvoiceLine.kind == LineKind.SUBSIDY,
                InvoiceLine.subsidy_program_id.in_(program_ids),
            )
            .distinct()
        )
    )


def _line_sum(session: Session, program_id: int) -> int:
    """Return what the subsidy lines of the program's invoices still standing take off."""
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(InvoiceLine.amount_fen), 0))
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.subsidy_program_id == program_id, Invoice.status != InvoiceStatus.VOID)
    )
    return -int(total or 0)


def _ledger_sum(session: Session, program_id: int) -> int:
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(SubsidyLedgerEntry.amount_fen), 0)).where(
            SubsidyLedgerEntry.program_id == program_id
        )
    )
    return int(total or 0)


def test_each_demo_park_runs_an_active_program_with_enrolled_firms_and_subsidized_invoices(
    session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)

    for key, park_id in _park_ids(session).items():
        programs = _programs(session, park_id)
        ids = [p.id for p in programs]
        assert any(p.status == ProgramStatus.ACTIVE for p in programs), key
        enrolled = session.scalars(
            sa.select(SubsidyEnrollment.firm_id).where(
                SubsidyEnrollment.program_id.in_(ids),
                SubsidyEnrollment.status == EnrollmentStatus.APPROVED,
            )
        ).all()
        assert enrolled, key
        subsidized = _subsidized_invoices(session, ids)
        assert {i.organization_id for i in subsidized} <= set(enrolled), key
        assert any(i.status != InvoiceStatus.DRAFT for i in subsidized), key


def test_the_ledger_adds_up_to_the_subsidy_lines_and_no_budget_is_overspent(
    session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)

    programs = session.scalars(sa.select(SubsidyProgram)).all()
    assert len(programs) >= 2
    for program in programs:
        assert _ledger_sum(session, program.id) == _line_sum(session, program.id) > 0
        usage = ledger.program_usage(session, program.id)
        assert usage.remaining_fen >= 0
        assert usage.remaining_fen == program.budget_fen - _ledger_sum(session, program.id)


def test_paid_invoices_confirm_their_grants_and_the_voided_one_gives_its_back(
    session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)

    rows = session.execute(
        sa.select(Invoice.status, SubsidyGrant.status).join(
            SubsidyGrant, SubsidyGrant.invoice_id == Invoice.id
        )
    ).all()
    assert {
        (InvoiceStatus.PAID, GrantStatus.CONFIRMED),
        (InvoiceStatus.VOID, GrantStatus.RELEASED),
    } <= set(rows)
    expected: dict[str, str] = {
        InvoiceStatus.PAID: GrantStatus.CONFIRMED,
        InvoiceStatus.VOID: GrantStatus.RELEASED,
        InvoiceStatus.OPEN: GrantStatus.RESERVED,
    }
    assert all(expected[invoice] == grant for invoice, grant in rows)
    voided = session.scalars(sa.select(Invoice).where(Invoice.status == InvoiceStatus.VOID)).all()
    assert len(voided) == 1


def test_the_history_is_billed_on_a_clock_of_its_own_in_months_before_now(
    app: Flask, session: Session, clock: FrozenClock
) -> None:
    now = clock.now()
    load_demo(session, clock)

    assert app.extensions["clock"] is clock and clock.now() == now
    finalized = session.scalars(
        sa.select(Invoice.finalized_at).where(Invoice.finalized_at.is_not(None))
    ).all()
    months = {at.astimezone(MARKET_TIME_ZONE).strftime("%Y-%m") for at in finalized if at}
    # The fixture's clock stands at 2 March 2026: January and February are billed.
    assert months == {"2026-01", "2026-02"}
    entries = session.scalars(sa.select(SubsidyLedgerEntry.at)).all()
    assert all(datetime(2026, 1, 1, tzinfo=UTC) <= at <= now for at in entries)


def test_xiamen_has_a_pending_application_and_fuzhou_an_annual_cap(
    session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)
    parks = _park_ids(session)

    pending = session.scalars(
        sa.select(SubsidyEnrollment)
        .join(SubsidyProgram, SubsidyProgram.id == SubsidyEnrollment.program_id)
        .where(
            SubsidyProgram.park_id == parks["xiamen"],
            SubsidyEnrollment.status == EnrollmentStatus.APPLIED,
        )
    ).all()
    assert len(pending) == 1 and pending[0].decided_at is None
    policy = session.get(SubsidyParkPolicy, parks["fuzhou"])
    assert policy is not None and policy.firm_year_cap_fen == 500_000


def test_demo_logins_still_work_after_the_subsidy_demo(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)

    for _name, _admin, email in PARKS.values():
        response = client.post("/login", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302
        client.post("/logout")


def test_the_subsidy_demo_loads_nothing_without_the_demo_or_a_second_time(
    session: Session, clock: FrozenClock
) -> None:
    load_subsidy_demo(session, clock)
    assert session.scalar(sa.select(sa.func.count()).select_from(SubsidyProgram)) == 0

    load_demo(session, clock)
    load_subsidy_demo(session, clock)
    invoices = session.scalar(sa.select(sa.func.count()).select_from(Invoice))
    load_subsidy_demo(session, clock)

    assert session.scalar(sa.select(sa.func.count()).select_from(SubsidyProgram)) == 2
    assert session.scalar(sa.select(sa.func.count()).select_from(Invoice)) == invoices


@pytest.mark.parametrize(
    ("now", "start"),
    [
        # Late in the year: 120 days back, all inside the year.
        (datetime(2026, 11, 26, 1, 30, tzinfo=UTC), datetime(2026, 7, 29, 1, 30, tzinfo=UTC)),
        # Early March: from the first of January, 09:30 in Fujian.
        (datetime(2026, 3, 2, 1, 30, tzinfo=UTC), datetime(2026, 1, 1, 1, 30, tzinfo=UTC)),
        # Early January: too little of the year yet, so 120 days back into the last.
        (datetime(2026, 1, 10, 1, 30, tzinfo=UTC), datetime(2025, 9, 12, 1, 30, tzinfo=UTC)),
    ],
)
def test_the_history_starts_this_year_unless_the_year_has_barely_begun(
    now: datetime, start: datetime
) -> None:
    assert history_start(now) == start


def test_the_app_registers_the_subsidy_demo_with_the_demo_command(app: Flask) -> None:
    assert load_subsidy_demo in demo.EXTRA_LOADERS
