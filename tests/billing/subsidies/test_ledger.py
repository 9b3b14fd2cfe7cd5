"""The quota ledger: standings read under locks, grants held once, settled once, summed."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from billing.models import Invoice, Subscription, SubscriptionStatus
from billing.subsidies import ledger
from billing.subsidies.eligibility import Eligibility
from billing.subsidies.models import (
    GrantStatus,
    SubsidyGrant,
    SubsidyLedgerEntry,
    SubsidyParkPolicy,
    SubsidyProgram,
)
from billing.subsidies.rules import (
    CappedBy,
    Caps,
    LineFacts,
    LineGrant,
    ProgramRules,
    Qualifying,
    RateStep,
    grant_invoice,
)
from catalog.models import Listing, Plan
from marketplace.clock import FrozenClock
from marketplace.errors import NotFound
from marketplace.orgs.models import Organization, OrgKind

AT = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
ON = date(2026, 3, 2)
_serial = itertools.count(1)


@dataclass(frozen=True)
class World:
    """A park, a vendor selling one plan, and the park's firms' subscriptions to it."""

    park_id: int
    vendor_id: int
    listing_id: int
    plan_id: int


def org(session: Session, kind: str) -> int:
    """Add an organization of a kind and return its id."""
    row = Organization(kind=kind, name=f"{kind} {next(_serial)}", created_at=AT)
    session.add(row)
    session.flush()
    return row.id


def make_world(session: Session) -> World:
    """Add a park and a vendor with one published plan."""
    park_id, vendor_id = org(session, OrgKind.PARK), org(session, OrgKind.VENDOR)
    listing = Listing(
        vendor_id=vendor_id,
        slug=f"app-{next(_serial)}",
        status="published",
        created_at=AT,
        updated_at=AT,
    )
    plan = Plan(
        listing=listing,
        code="std",
        name_zh="标准版",
        status="published",
        published_at=AT,
        created_at=AT,
    )
    session.add_all([listing, plan])
    session.flush()
    return World(park_id, vendor_id, listing.id, plan.id)


def make_invoice(session: Session, world: World, firm_id: int, total_fen: int = 10000) -> int:
    """Add a draft invoice of the firm for the world's plan; return its id."""
    subscription = session.scalar(
        sa.select(Subscription).where(
            Subscription.organization_id == firm_id, Subscription.listing_id == world.listing_id
        )
    )
    if subscription is None:
        subscription = Subscription(
            organization_id=firm_id,
            vendor_id=world.vendor_id,
            listing_id=world.listing_id,
            plan_id=world.plan_id,
            status=SubscriptionStatus.ACTIVE,
            created_at=AT,
        )
        session.add(subscription)
        session.flush()
    invoice = Invoice(
        organization_id=firm_id,
        vendor_id=world.vendor_id,
        subscription_id=subscription.id,
        period_start=AT + timedelta(seconds=next(_serial)),
        subtotal_fen=total_fen,
        total_fen=total_fen,
        amount_due_fen=total_fen,
        vat_rate=Decimal("0.06"),
        created_at=AT,
        grace_until=AT,
    )
    session.add(invoice)
    session.flush()
    return invoice.id


def make_program(session: Session, park_id: int, budget_fen: int) -> int:
    """Add an active program of the park with a budget; return its id."""
    program = SubsidyProgram(
        park_id=park_id,
        name=f"上云券 {next(_serial)}",
        status="active",
        enrollment="automatic",
        budget_fen=budget_fen,
        created_at=AT,
        updated_at=AT,
    )
    session.add(program)
    session.flush()
    return program.id


def rules_of(
    program_id: int,
    budget_fen: int,
    *,
    rate: str = "0.5",
    quotas: Mapping[int, int] | None = None,
    per_firm_fen: int | None = None,
) -> ProgramRules:
    """Return simple rules: one rate all year 2026, no caps unless asked."""
    return ProgramRules(
        program_id=program_id,
        version=1,
        priority=0,
        stackable=False,
        invoices_from=date(2026, 1, 1),
        invoices_until=date(2026, 12, 31),
        rate_steps=(RateStep(date(2026, 1, 1), Decimal(rate), {}),),
        caps=Caps(None, per_firm_fen, None, None),
        qualifying=Qualifying(frozenset(), frozenset(), frozenset(), 0),
        eligibility=Eligibility(),
        budget_fen=budget_fen,
        vendor_quotas_fen=quotas or {},
    )


def line(key: str, amount_fen: int, vendor_id: int) -> LineFacts:
    """Return a line of any layer and category."""
    return LineFacts(key, amount_fen, None, frozenset(), 1, vendor_id)


def entries_sum(session: Session, program_id: int) -> int:
    """Return the sum of a program's ledger entries."""
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(SubsidyLedgerEntry.amount_fen), 0)).where(
            SubsidyLedgerEntry.program_id == program_id
        )
    )
    return int(total or 0)


def entry_count(session: Session) -> int:
    """Return how many ledger entries there are in the test's transaction."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(SubsidyLedgerEntry)) or 0)


@pytest.fixture
def world(session: Session) -> World:
    """A park and a vendor for one test."""
    return make_world(session)


def _reserve_one(
    session: Session,
    clock: FrozenClock,
    world: World,
    program: ProgramRules,
    firm_id: int,
    amounts: Mapping[str, int],
) -> tuple[int, list[SubsidyGrant]]:
    """Make an invoice and hold the given grants on it, one line each."""
    invoice_id = make_invoice(session, world, firm_id)
    lines = [line(key, 10 * amount, world.vendor_id) for key, amount in amounts.items()]
    grants = [LineGrant(k, program.program_id, a, CappedBy.NONE) for k, a in amounts.items()]
    return invoice_id, ledger.reserve(session, clock, invoice_id, grants, lines, [program])


# Reserve, confirm, release ---------------------------------------------------------------


def test_reserving_holds_each_granted_line_once_and_takes_it_off_the_budget(
    session: Session, clock: FrozenClock, world: World
) -> None:
    program = rules_of(make_program(session, world.park_id, 10000), 10000)
    firm_id = org(session, OrgKind.SME)

    invoice_id, held = _reserve_one(
        session, clock, world, program, firm_id, {"1": 1500, "2": 0, "3": 700}
    )

    assert [(g.line_key, g.amount_fen, g.status) for g in held] == [
        ("1", 1500, GrantStatus.RESERVED),
        ("3", 700, GrantStatus.RESERVED),
    ]
    assert {(g.invoice_id, g.firm_id, g.vendor_id, g.program_version) for g in held} == {
        (invoice_id, firm_id, world.vendor_id, 1)
    }
    assert all(g.reserved_at == AT and g.settled_at is None for g in held)
    assert ledger.program_usage(session, program.program_id) == ledger.ProgramUsage(
        reserved_fen=2200, confirmed_fen=0, remaining_fen=7800
    )
    assert entries_sum(session, program.program_id) == 2200


def test_a_retried_reservation_keeps_the_first_rows_and_adds_no_entry(
    session: Session, clock: FrozenClock, world: World
) -> None:
    program = rules_of(make_program(session, world.park_id, 10000), 10000)
    firm_id = org(session, OrgKind.SME)
    invoice_id, first = _reserve_one(session, clock, world, program, firm_id, {"1": 1500})
    entries_before = entry_count(session)

    # The retry computed a different amount (it saw less budget); the stored grant stands.
    retry = ledger.reserve(
        session,
        clock,
        invoice_id,
        [LineGrant("1", program.program_id, 900, CappedBy.BUDGET)],
        [line("1", 15000, world.vendor_id)],
        [program],
    )

    assert [(g.id, g.amount_fen) for g in retry] == [(first[0].id, 1500)]
    assert entry_count(session) == entries_before
    assert ledger.program_usage(session, program.program_id).remaining_fen == 8500


def test_confirming_settles_held_grants_once_and_leaves_the_budget_used(
    session: Session, clock: FrozenClock, world: World
) -> None:
    program = rules_of(make_program(session, world.park_id, 10000), 10000)
    invoice_id, _ = _reserve_one(
        session, clock, world, program, org(session, OrgKind.SME), {"1": 1500, "2": 500}
    )
    clock.advance(timedelta(days=3))

    assert ledger.confirm_invoice(session, clock, invoice_id) == 2
    assert ledger.confirm_invoice(session, clock, invoice_id) == 0

    grants = ledger.invoice_grants(session, invoice_id)
    assert {(g.status, g.settled_at) for g in grants} == {
        (GrantStatus.CONFIRMED, AT + timedelta(days=3))
    }
    kinds = session.execute(
        sa.select(SubsidyLedgerEntry.kind, SubsidyLedgerEntry.amount_fen).order_by(
            SubsidyLedgerEntry.id
        )
    ).all()
    assert [tuple(k) for k in kinds] == [
        ("reserve", 1500),
        ("reserve", 500),
        ("confirm", 0),
        ("confirm", 0),
    ]
    assert ledger.program_usage(session, program.program_id) == ledger.ProgramUsage(0, 2000, 8000)


def test_releasing_a_paid_invoice_gives_the_budget_back_once(
    session: Session, clock: FrozenClock, world: World
) -> None:
    program = rules_of(make_program(session, world.park_id, 10000), 10000)
    invoice_id, _ = _reserve_one(
        session, clock, world, program, org(session, OrgKind.SME), {"1": 1500}
    )
    ledger.confirm_invoice(session, clock, invoice_id)

    assert ledger.release_invoice(session, clock, invoice_id) == 1
    assert ledger.release_invoice(session, clock, invoice_id) == 0
    assert ledger.confirm_invoice(session, clock, invoice_id) == 0  # a released grant stays so

    assert ledger.program_usage(session, program.program_id) == ledger.ProgramUsage(0, 0, 10000)
    assert entries_sum(session, program.program_id) == 0
    assert [g.status for g in ledger.invoice_grants(session, invoice_id)] == ["released"]


def test_releasing_a_voided_invoice_before_payment_gives_the_budget_back(
    session: Session, clock: FrozenClock, world: World
) -> None:
    program = rules_of(make_program(session, world.park_id, 10000), 10000)
    invoice_id, _ = _reserve_one(
        session, clock, world, program, org(session, OrgKind.SME), {"1": 1500}
    )

    assert ledger.release_invoice(session, clock, invoice_id) == 1

    kinds = session.scalars(sa.select(SubsidyLedgerEntry.kind).order_by(SubsidyLedgerEntry.id))
    assert list(kinds) == ["reserve", "release"]
    assert ledger.program_usage(session, program.program_id).remaining_fen == 10000


def test_the_remaining_budget_is_the_budget_minus_the_entries_after_every_step(
    session: Session, clock: FrozenClock, world: World
) -> None:
    budget = 20000
    program = rules_of(make_program(session, world.park_id, budget), budget)
    firms = [org(session, OrgKind.SME) for _ in range(3)]
    invoices = []
    steps = [("reserve", 0), ("reserve", 1), ("confirm", 0), ("reserve", 2), ("release", 1)]
    steps += [("release", 0), ("confirm", 2), ("confirm", 1), ("reserve", 0)]
    for step, n in steps:
        if step == "reserve":
            amounts = {"a": 1000 + 111 * n, "b": 37 * (n + 1)}
            invoice_id, _ = _reserve_one(session, clock, world, program, firms[n], amounts)
            invoices.append(invoice_id)
        elif step == "confirm":
            ledger.confirm_invoice(session, clock, invoices[n])
        else:
            ledger.release_invoice(session, clock, invoices[n])
        usage = ledger.program_usage(session, program.program_id)
        used = entries_sum(session, program.program_id)
        assert usage.remaining_fen == budget - used
        assert usage.reserved_fen + usage.confirmed_fen == used
        assert used >= 0


# Standings -------------------------------------------------------------------------------


def test_the_standing_counts_budget_quotas_the_firm_and_its_year_across_the_park(
    session: Session, clock: FrozenClock, world: World
) -> None:
    other_vendor = org(session, OrgKind.VENDOR)
    first = make_program(session, world.park_id, 10000)
    second = make_program(session, world.park_id, 5000)
    elsewhere = make_program(session, make_world(session).park_id, 5000)
    quotas = {world.vendor_id: 3000, other_vendor: 2000}
    first_rules = rules_of(first, 10000, quotas=quotas)
    second_rules = rules_of(second, 5000)
    firm_id, other_firm = org(session, OrgKind.SME), org(session, OrgKind.SME)
    session.add(SubsidyParkPolicy(park_id=world.park_id, firm_year_cap_fen=4000, updated_at=AT))
    _reserve_one(session, clock, world, first_rules, firm_id, {"1": 1000})
    _reserve_one(session, clock, world, first_rules, firm_id, {"1": 200, "2": 300})
    released, _ = _reserve_one(session, clock, world, first_rules, firm_id, {"1": 900})
    ledger.release_invoice(session, clock, released)
    _reserve_one(session, clock, world, first_rules, other_firm, {"1": 400})
    _reserve_one(session, clock, world, second_rules, firm_id, {"1": 250})
    _reserve_one(session, clock, world, rules_of(elsewhere, 5000), firm_id, {"1": 99})
    clock.set(datetime(2025, 12, 31, 15, 59, tzinfo=UTC))  # 23:59 on 31 December in Fujian
    _reserve_one(session, clock, world, second_rules, firm_id, {"1": 50})

    standings = ledger.lock_standings(session, [second_rules, first_rules], firm_id, 2026)

    assert standings[first].budget_left_fen == 10000 - 1900
    assert standings[first].vendor_quota_left_fen == {world.vendor_id: 1100, other_vendor: 2000}
    assert (standings[first].firm_used_fen, standings[first].firm_claims) == (1500, 2)
    assert (standings[second].firm_used_fen, standings[second].firm_claims) == (300, 2)
    assert standings[second].budget_left_fen == 5000 - 300
    # 2026 in the park: 1000 + 200 + 300 + 250; not the released, other park or 2025 grants.
    assert {s.firm_year_used_fen for s in standings.values()} == {1750}
    assert {s.firm_year_cap_fen for s in standings.values()} == {4000}
    # 2025 ended at 16:00 UTC on 31 December; the year counts every program of the park.
    assert (
        ledger.lock_standings(session, [first_rules], firm_id, 2025)[first].firm_year_used_fen == 50
    )


def test_a_park_without_a_policy_has_no_annual_cap_and_a_new_firm_starts_clean(
    session: Session, world: World
) -> None:
    program = rules_of(make_program(session, world.park_id, 800), 800)

    standing = ledger.lock_standings(session, [program], org(session, OrgKind.SME), 2026)

    assert standing[program.program_id].firm_year_cap_fen is None
    assert standing[program.program_id].budget_left_fen == 800
    assert standing[program.program_id].firm_used_fen == 0
    assert standing[program.program_id].firm_claims == 0
    assert ledger.lock_standings(session, [], 1, 2026) == {}


def test_standings_are_refused_for_programs_of_two_parks_or_unknown_programs(
    session: Session, world: World
) -> None:
    here = rules_of(make_program(session, world.park_id, 800), 800)
    there = rules_of(make_program(session, make_world(session).park_id, 800), 800)
    firm_id = org(session, OrgKind.SME)

    with pytest.raises(ValueError, match="one park"):
        ledger.lock_standings(session, [here, there], firm_id, 2026)
    with pytest.raises(NotFound):
        ledger.lock_standings(session, [rules_of(here.program_id + 1000, 800)], firm_id, 2026)


def test_the_engine_given_the_standing_grants_no_more_than_is_left(
    session: Session, clock: FrozenClock, world: World
) -> None:
    program = rules_of(make_program(session, world.park_id, 1000), 1000)
    firm_id = org(session, OrgKind.SME)
    invoice_id = make_invoice(session, world, firm_id)
    lines = [line("1", 1200, world.vendor_id), line("2", 3000, world.vendor_id)]

    standing = ledger.lock_standings(session, [program], firm_id, 2026)[program.program_id]
    grants = grant_invoice([(program, standing)], lines, ON)
    held = ledger.reserve(session, clock, invoice_id, grants, lines, [program])

    assert [(g.line_key, g.amount_fen) for g in held] == [("1", 600), ("2", 400)]
    assert ledger.program_usage(session, program.program_id).remaining_fen == 0
    after = ledger.lock_standings(session, [program], firm_id, 2026)[program.program_id]
    assert (after.budget_left_fen, after.firm_used_fen, after.firm_claims) == (0, 1000, 1)


# Bad input and the database's own guards -------------------------------------------------


def test_reserving_on_an_unknown_invoice_or_reading_an_unknown_program_is_refused(
    session: Session, clock: FrozenClock, world: World
) -> None:
    program = rules_of(make_program(session, world.park_id, 800), 800)
    grant = LineGrant("1", program.program_id, 100, CappedBy.NONE)

    with pytest.raises(NotFound):
        ledger.reserve(session, clock, 10**9, [grant], [line("1", 200, 1)], [program])
    with pytest.raises(NotFound):
        ledger.program_usage(session, program.program_id + 1000)


@pytest.mark.parametrize(
    ("kind", "amount"),
    [("reserve", 0), ("reserve", -5), ("confirm", 5), ("release", 5), ("release", 0), ("spend", 5)],
)
def test_the_database_refuses_a_ledger_entry_signed_against_its_kind(
    session: Session, clock: FrozenClock, world: World, kind: str, amount: int
) -> None:
    program = rules_of(make_program(session, world.park_id, 800), 800)
    _, held = _reserve_one(session, clock, world, program, org(session, OrgKind.SME), {"1": 100})
    grant = held[0]

    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(
            SubsidyLedgerEntry(
                grant_id=grant.id,
                program_id=grant.program_id,
                firm_id=grant.firm_id,
                vendor_id=grant.vendor_id,
                kind=kind,
                amount_fen=amount,
                at=AT,
            )
        )
        session.flush()


def test_the_database_refuses_a_grant_of_nothing_and_a_negative_budget(
    session: Session, world: World
) -> None:
    program_id = make_program(session, world.park_id, 800)
    invoice_id = make_invoice(session, world, org(session, OrgKind.SME))

    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(
            SubsidyGrant(
                invoice_id=invoice_id,
                line_key="1",
                program_id=program_id,
                program_version=1,
                firm_id=world.vendor_id,
                vendor_id=world.vendor_id,
                amount_fen=0,
                status="reserved",
                reserved_at=AT,
            )
        )
        session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(
            sa.update(SubsidyProgram).where(SubsidyProgram.id == program_id).values(budget_fen=-1)
        )
