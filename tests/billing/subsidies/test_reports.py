"""The park's reports: burn-down, rankings, details, statements and the announcement list."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from billing.models import Invoice
from billing.subsidies import ledger, reports
from billing.subsidies.models import SubsidyBudgetAlert, SubsidyProgram
from billing.subsidies.reports import BurnDownDay, GrantFilters, LedgerMove
from billing.subsidies.rules import CappedBy, LineGrant
from marketplace.clock import FrozenClock
from marketplace.errors import NotFound
from marketplace.firms.models import ParkMembership, ParkMembershipStatus, SmeProfile
from marketplace.orgs.models import OrgKind
from tests.billing.subsidies.test_ledger import World, line, make_invoice, make_world, org, rules_of
from tests.billing.subsidies.world import SubsidyWorld, add_program, make_subsidy_world
from tests.firms.conftest import firm_with_owner

_serial = itertools.count(1)


# Building grants through the ledger ---------------------------------------------------------


@dataclass
class Scene:
    """A park with two member firms, two vendors and one program."""

    world: SubsidyWorld
    books: World  # the park's firms buying from the world's vendor
    other_books: World  # the same park's firms buying from a second vendor
    program: SubsidyProgram
    second_firm: SmeProfile

    @property
    def park_id(self) -> int:
        """The park's organization id."""
        return self.world.park.id


def member_firm(session: Session, park_id: int, now: datetime, legal_name: str) -> SmeProfile:
    """Register a firm with a legal name and make it an approved member of the park."""
    profile, _ = firm_with_owner(legal_name=legal_name)
    session.add(
        ParkMembership(
            park_id=park_id,
            firm_id=profile.organization_id,
            status=ParkMembershipStatus.APPROVED,
            requested_at=now,
            decided_at=now,
        )
    )
    session.flush()
    return profile


def make_scene(session: Session, clock: FrozenClock, world: SubsidyWorld) -> Scene:
    """Add a program of 10,000 yuan, a second firm and a second vendor to the world."""
    now = clock.now()
    program = add_program(session, world.park.id, now, budget_fen=1_000_000, name="上云券 A")
    books = World(world.park.id, world.vendor.id, world.listing_id, world.plan_id)
    elsewhere = make_world(session)
    other = World(world.park.id, elsewhere.vendor_id, elsewhere.listing_id, elsewhere.plan_id)
    second = member_firm(session, world.park.id, now, "厦门海鹭科技有限公司")
    return Scene(world, books, other, program, second)


def hold(
    session: Session,
    clock: FrozenClock,
    books: World,
    program_id: int,
    firm_id: int,
    amounts: Mapping[str, int],
) -> int:
    """Issue an invoice of the firm now and hold a grant per line; return the invoice id."""
    invoice_id = make_invoice(session, books, firm_id)
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    invoice.number = f"YS-T-{next(_serial):06d}"
    invoice.finalized_at = clock.now()
    lines = [line(key, 10 * amount, books.vendor_id) for key, amount in amounts.items()]
    grants = [LineGrant(k, program_id, a, CappedBy.NONE) for k, a in amounts.items()]
    ledger.reserve(session, clock, invoice_id, grants, lines, [rules_of(program_id, 0)])
    return invoice_id


@pytest.fixture
def scene(subsidy_world: SubsidyWorld, session: Session, clock: FrozenClock) -> Scene:
    """A park with two firms, two vendors and a program, in an English request."""
    return make_scene(session, clock, subsidy_world)


def shanghai(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """Return a Beijing-time wall clock as UTC (Beijing is UTC+8 all year)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=8)


# The burn-down: the pure series -------------------------------------------------------------


def move(grant_id: int, kind: str, amount: int, at: datetime) -> LedgerMove:
    """Return a ledger move of a grant of `amount`, signed by kind."""
    sign = {"reserve": 1, "confirm": 0, "release": -1}[kind]
    return LedgerMove(grant_id, kind, sign * amount, amount, at)


def test_the_series_counts_held_paid_and_given_back_by_the_day_they_fall_on_in_beijing() -> None:
    moves = [
        move(1, "reserve", 1000, shanghai(2026, 3, 1, 9)),
        move(2, "reserve", 500, shanghai(2026, 3, 1, 23, 59)),
        # 00:00 on 3 March in Beijing is still 2 March in UTC: it counts for the 3rd.
        move(1, "confirm", 1000, shanghai(2026, 3, 3, 0, 0)),
        move(2, "release", 500, shanghai(2026, 3, 4, 8)),  # never paid: held goes down
        move(3, "reserve", 250, shanghai(2026, 3, 4, 9)),
        move(1, "release", 1000, shanghai(2026, 3, 5, 10)),  # refunded after payment
    ]

    series = reports.daily_series(reversed(moves), 10_000, date(2026, 2, 28), date(2026, 3, 6))

    assert series == [
        BurnDownDay(date(2026, 2, 28), 0, 0, 10_000),
        BurnDownDay(date(2026, 3, 1), 1500, 0, 8500),
        BurnDownDay(date(2026, 3, 2), 1500, 0, 8500),
        BurnDownDay(date(2026, 3, 3), 500, 1000, 8500),
        BurnDownDay(date(2026, 3, 4), 250, 1000, 8750),
        BurnDownDay(date(2026, 3, 5), 250, 0, 9750),
        BurnDownDay(date(2026, 3, 6), 250, 0, 9750),
    ]


def test_a_series_without_moves_is_the_whole_budget_every_day() -> None:
    series = reports.daily_series([], 700, date(2026, 3, 1), date(2026, 3, 3))

    assert [(d.day.day, d.reserved_fen, d.confirmed_fen, d.remaining_fen) for d in series] == [
        (1, 0, 0, 700),
        (2, 0, 0, 700),
        (3, 0, 0, 700),
    ]


def test_moves_outside_the_days_asked_widen_the_series() -> None:
    moves = [
        move(1, "reserve", 100, shanghai(2026, 2, 27)),
        move(1, "confirm", 100, shanghai(2026, 3, 4)),
    ]

    series = reports.daily_series(moves, 1000, date(2026, 3, 1), date(2026, 3, 2))

    assert (series[0].day, series[-1].day) == (date(2026, 2, 27), date(2026, 3, 4))
    assert series[-1] == BurnDownDay(date(2026, 3, 4), 0, 100, 900)


# The burn-down from the ledger --------------------------------------------------------------


def test_the_burn_down_ends_where_the_ledger_stands_to_the_fen(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    program_id, firm_id = scene.program.id, scene.world.firm_id
    paid = hold(session, clock, scene.books, program_id, firm_id, {"1": 12_345, "2": 678})
    clock.advance(timedelta(days=1))
    refunded = hold(session, clock, scene.other_books, program_id, firm_id, {"1": 4_000})
    voided = hold(
        session, clock, scene.books, program_id, scene.second_firm.organization_id, {"1": 99}
    )
    clock.advance(timedelta(days=1))
    ledger.confirm_invoice(session, clock, paid)
    ledger.confirm_invoice(session, clock, refunded)
    ledger.release_invoice(session, clock, voided)
    clock.advance(timedelta(days=2))
    ledger.release_invoice(session, clock, refunded)
    hold(session, clock, scene.books, program_id, firm_id, {"1": 1})

    burn = reports.burn_down(session, clock, scene.park_id, program_id)

    usage = ledger.program_usage(session, program_id)
    assert [d.day for d in burn.days] == [date(2026, 3, 2) + timedelta(days=n) for n in range(5)]
    assert burn.days[-1] == BurnDownDay(
        date(2026, 3, 6), usage.reserved_fen, usage.confirmed_fen, usage.remaining_fen
    )
    assert (usage.reserved_fen, usage.confirmed_fen, usage.remaining_fen) == (1, 13_023, 986_976)
    assert burn.days[2] == BurnDownDay(date(2026, 3, 4), 0, 17_023, 1_000_000 - 17_023)


def test_another_parks_program_has_no_burn_down(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    elsewhere = make_subsidy_world(session, clock.now())
    program = add_program(session, elsewhere.park.id, clock.now())

    with pytest.raises(NotFound):
        reports.burn_down(session, clock, scene.park_id, program.id)


# The overview -------------------------------------------------------------------------------


def test_the_overview_splits_each_budget_and_lists_its_alerts(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    small = add_program(session, scene.park_id, clock.now(), budget_fen=10_000, name="小额券")
    empty = add_program(session, scene.park_id, clock.now(), budget_fen=0, name="空券")
    held = hold(session, clock, scene.books, small.id, scene.world.firm_id, {"1": 6_000})
    hold(session, clock, scene.books, small.id, scene.world.firm_id, {"1": 2_345})
    ledger.confirm_invoice(session, clock, held)
    session.add(
        SubsidyBudgetAlert(
            program_id=small.id, budget_fen=10_000, percent=80, used_fen=8_345, at=clock.now()
        )
    )
    elsewhere = make_subsidy_world(session, clock.now())
    add_program(session, elsewhere.park.id, clock.now(), name="别处的券")
    session.flush()

    found = {item.program.id: item for item in reports.park_overview(session, scene.park_id)}

    assert set(found) == {scene.program.id, small.id, empty.id}
    assert found[small.id].usage == ledger.ProgramUsage(2_345, 6_000, 1_655)
    assert (found[small.id].used_fen, found[small.id].used_percent) == (8_345, 83.5)
    assert [(a.percent, a.used_fen) for a in found[small.id].alerts] == [(80, 8_345)]
    assert found[scene.program.id].alerts == []
    assert found[scene.program.id].used_percent == 0.0
    assert found[empty.id].used_percent is None


# Rankings -----------------------------------------------------------------------------------


def test_the_rankings_sum_live_grants_largest_first_within_the_park(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    first, second = scene.world.firm_id, scene.second_firm.organization_id
    program_id = scene.program.id
    hold(session, clock, scene.books, program_id, first, {"1": 300, "2": 200})
    paid = hold(session, clock, scene.other_books, program_id, second, {"1": 450})
    ledger.confirm_invoice(session, clock, paid)
    gone = hold(session, clock, scene.other_books, program_id, first, {"1": 10_000})
    ledger.release_invoice(session, clock, gone)
    elsewhere = make_subsidy_world(session, clock.now())
    there = add_program(session, elsewhere.park.id, clock.now())
    there_books = World(
        elsewhere.park.id, scene.books.vendor_id, elsewhere.listing_id, elsewhere.plan_id
    )
    hold(session, clock, there_books, there.id, elsewhere.firm_id, {"1": 99_999})

    firms = reports.top_firms(session, scene.park_id)
    vendors = reports.top_vendors(session, scene.park_id)

    assert [(r.org_id, r.name, r.amount_fen, r.grants) for r in firms] == [
        (first, "福州云帆软件有限公司", 500, 2),
        (second, "厦门海鹭科技有限公司", 450, 1),
    ]
    assert [(r.org_id, r.amount_fen) for r in vendors] == [
        (scene.books.vendor_id, 500),
        (scene.other_books.vendor_id, 450),
    ]
    assert [r.org_id for r in reports.top_firms(session, scene.park_id, limit=1)] == [first]


# Per firm and per vendor --------------------------------------------------------------------


def test_a_firms_detail_lists_its_grants_per_invoice_with_totals(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    firm_id, program_id = scene.world.firm_id, scene.program.id
    paid = hold(session, clock, scene.books, program_id, firm_id, {"1": 1_000, "2": 50})
    clock.advance(timedelta(days=1))
    voided = hold(session, clock, scene.other_books, program_id, firm_id, {"1": 700})
    clock.advance(timedelta(days=1))
    held = hold(session, clock, scene.books, program_id, firm_id, {"1": 5})
    hold(session, clock, scene.books, program_id, scene.second_firm.organization_id, {"1": 9})
    ledger.confirm_invoice(session, clock, paid)
    ledger.release_invoice(session, clock, voided)

    detail = reports.firm_detail(session, scene.park_id, firm_id)

    assert (detail.name, detail.uscc) == ("福州云帆软件有限公司", scene.world.firm.uscc)
    assert [(ln.invoice_id, ln.amount_fen, ln.status) for ln in detail.lines] == [
        (held, 5, "reserved"),
        (voided, 700, "released"),
        (paid, 50, "confirmed"),
        (paid, 1_000, "confirmed"),
    ]
    assert {ln.program_name for ln in detail.lines} == {"上云券 A"}
    assert detail.lines[0].invoice_number is not None
    assert (detail.live_fen, detail.confirmed_fen) == (1_055, 1_050)


def test_a_vendors_detail_lists_the_grants_on_its_sales(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    program_id = scene.program.id
    hold(session, clock, scene.books, program_id, scene.world.firm_id, {"1": 10})
    mine = hold(
        session, clock, scene.other_books, program_id, scene.second_firm.organization_id, {"1": 20}
    )

    detail = reports.vendor_detail(session, scene.park_id, scene.other_books.vendor_id)

    assert [(ln.invoice_id, ln.firm_name, ln.amount_fen) for ln in detail.lines] == [
        (mine, "厦门海鹭科技有限公司", 20)
    ]
    assert detail.uscc is None and detail.live_fen == 20


def test_firms_and_vendors_outside_the_park_are_not_found(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    elsewhere = make_subsidy_world(session, clock.now())
    there = add_program(session, elsewhere.park.id, clock.now())
    # The park's own firm buys under another park's program: not this park's grant.
    there_books = World(
        elsewhere.park.id, elsewhere.vendor.id, elsewhere.listing_id, elsewhere.plan_id
    )
    hold(session, clock, there_books, there.id, elsewhere.firm_id, {"1": 10})

    with pytest.raises(NotFound):
        reports.firm_detail(session, scene.park_id, elsewhere.firm_id)
    with pytest.raises(NotFound):
        reports.vendor_detail(session, scene.park_id, elsewhere.vendor.id)
    with pytest.raises(NotFound):
        reports.vendor_detail(session, scene.park_id, scene.books.vendor_id)  # no grant yet
    with pytest.raises(NotFound):
        reports.firm_detail(session, scene.park_id, scene.park_id)  # a park is no firm
    with pytest.raises(NotFound):
        reports.firm_detail(session, scene.park_id, org(session, OrgKind.SME))
    assert reports.firm_detail(session, scene.park_id, scene.world.firm_id).lines == []


def test_the_grant_list_filters_by_program_firm_vendor_and_beijing_days(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    program_id, firm_id = scene.program.id, scene.world.firm_id
    clock.set(shanghai(2026, 3, 1, 0, 0))
    early = hold(session, clock, scene.books, program_id, firm_id, {"1": 1})
    clock.set(shanghai(2026, 3, 2, 23, 59))
    late = hold(session, clock, scene.other_books, program_id, firm_id, {"1": 2})
    clock.set(shanghai(2026, 3, 3, 0, 0))
    after = hold(
        session, clock, scene.books, program_id, scene.second_firm.organization_id, {"1": 3}
    )

    def invoices(filters: GrantFilters) -> list[int]:
        return [ln.invoice_id for ln in reports.grant_lines(session, scene.park_id, filters)]

    assert invoices(GrantFilters()) == [after, late, early]
    assert invoices(GrantFilters(since=date(2026, 3, 1), until=date(2026, 3, 2))) == [late, early]
    assert invoices(GrantFilters(since=date(2026, 3, 2))) == [after, late]
    assert invoices(GrantFilters(firm_id=firm_id)) == [late, early]
    assert invoices(GrantFilters(vendor_id=scene.other_books.vendor_id)) == [late]
    assert invoices(GrantFilters(program_id=program_id + 10_000)) == []


# The monthly statement ----------------------------------------------------------------------


def test_the_statement_counts_grants_paid_in_the_month_less_paid_grants_refunded_in_it(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    firm, second = scene.world.firm_id, scene.second_firm.organization_id
    a, b = scene.program.id, add_program(session, scene.park_id, clock.now(), name="上云券 B").id
    clock.set(shanghai(2026, 2, 10))
    paid_in_feb = hold(session, clock, scene.books, a, firm, {"1": 3_000})
    ledger.confirm_invoice(session, clock, paid_in_feb)
    held_in_feb = hold(session, clock, scene.books, b, second, {"1": 800})
    voided = hold(session, clock, scene.books, a, second, {"1": 444})
    clock.set(shanghai(2026, 3, 1, 0, 0))  # the first minute of March in Beijing
    ledger.confirm_invoice(session, clock, held_in_feb)
    ledger.release_invoice(session, clock, voided)  # never paid: owes nothing, takes nothing
    clock.set(shanghai(2026, 3, 15))
    ledger.release_invoice(session, clock, paid_in_feb)  # refunded after February's payment
    both = hold(session, clock, scene.other_books, a, firm, {"1": 250, "2": 5})
    ledger.confirm_invoice(session, clock, both)
    twice = hold(session, clock, scene.books, a, second, {"1": 70})
    ledger.confirm_invoice(session, clock, twice)
    ledger.release_invoice(session, clock, twice)  # paid and refunded within March
    clock.set(shanghai(2026, 3, 31, 23, 59))
    last_minute = hold(session, clock, scene.books, b, firm, {"1": 1_000})
    ledger.confirm_invoice(session, clock, last_minute)
    clock.set(shanghai(2026, 4, 1, 0, 0))
    april = hold(session, clock, scene.books, b, firm, {"1": 2_000})
    ledger.confirm_invoice(session, clock, april)
    hold(session, clock, scene.books, a, firm, {"1": 99})  # held, not paid: owes nothing yet

    feb = reports.monthly_statement(session, scene.park_id, 2026, 2)
    march = reports.monthly_statement(session, scene.park_id, 2026, 3)
    april_statement = reports.monthly_statement(session, scene.park_id, 2026, 4)

    assert feb.total_fen == 3_000
    assert [(ln.kind, ln.grant.invoice_id, ln.amount_fen) for ln in march.lines] == [
        ("confirm", held_in_feb, 800),
        ("release", paid_in_feb, -3_000),
        ("confirm", both, 250),
        ("confirm", both, 5),
        ("confirm", twice, 70),
        ("release", twice, -70),
        ("confirm", last_minute, 1_000),
    ]
    assert march.total_fen == 800 - 3_000 + 255 + 1_000
    assert [(t.program_name, t.amount_fen) for t in march.by_program] == [
        ("上云券 A", 255 - 3_000),
        ("上云券 B", 1_800),
    ]
    assert april_statement.total_fen == 2_000
    # Over all months the park owes what is confirmed now, to the fen.
    confirmed_now = sum(ledger.program_usage(session, p).confirmed_fen for p in (a, b))
    assert feb.total_fen + march.total_fen + april_statement.total_fen == confirmed_now


def test_a_statement_leaves_out_other_parks_and_refuses_a_month_no_calendar_has(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    elsewhere = make_subsidy_world(session, clock.now())
    there = add_program(session, elsewhere.park.id, clock.now())
    books = World(elsewhere.park.id, elsewhere.vendor.id, elsewhere.listing_id, elsewhere.plan_id)
    ledger.confirm_invoice(
        session, clock, hold(session, clock, books, there.id, elsewhere.firm_id, {"1": 5})
    )

    assert reports.monthly_statement(session, scene.park_id, 2026, 3).lines == []
    assert reports.monthly_statement(session, elsewhere.park.id, 2026, 3).total_fen == 5
    for year, month in [(2026, 0), (2026, 13), (1999, 5), (10_000, 1)]:
        with pytest.raises(NotFound):
            reports.monthly_statement(session, scene.park_id, year, month)


# The announcement list ----------------------------------------------------------------------


def test_the_announcement_list_names_each_firm_with_its_paid_subsidy_net_of_refunds(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    firm, second = scene.world.firm_id, scene.second_firm.organization_id
    a, b = scene.program.id, add_program(session, scene.park_id, clock.now(), name="上云券 B").id
    clock.set(shanghai(2026, 3, 1, 0, 0))
    ledger.confirm_invoice(
        session, clock, hold(session, clock, scene.books, a, firm, {"1": 100, "2": 20})
    )
    ledger.confirm_invoice(session, clock, hold(session, clock, scene.books, a, firm, {"1": 3}))
    refunded = hold(session, clock, scene.books, a, second, {"1": 5_000})
    ledger.confirm_invoice(session, clock, refunded)
    ledger.release_invoice(session, clock, refunded)
    hold(session, clock, scene.books, a, second, {"1": 7})  # held, not paid
    clock.set(shanghai(2026, 3, 31, 23, 59))
    ledger.confirm_invoice(session, clock, hold(session, clock, scene.books, b, second, {"1": 600}))
    clock.set(shanghai(2026, 4, 1, 0, 0))
    ledger.confirm_invoice(session, clock, hold(session, clock, scene.books, b, firm, {"1": 40}))

    everything = reports.announcement_list(session, scene.park_id)
    march = reports.announcement_list(
        session, scene.park_id, since=date(2026, 3, 1), until=date(2026, 3, 31)
    )
    only_b = reports.announcement_list(session, scene.park_id, program_id=b)

    uscc = {firm: scene.world.firm.uscc, second: scene.second_firm.uscc}
    assert [(r.legal_name, r.uscc, r.program_name, r.amount_fen) for r in everything] == [
        ("福州云帆软件有限公司", uscc[firm], "上云券 A", 123),
        ("厦门海鹭科技有限公司", uscc[second], "上云券 B", 600),
        ("福州云帆软件有限公司", uscc[firm], "上云券 B", 40),
    ]
    assert [(r.firm_id, r.program_id, r.amount_fen) for r in march] == [
        (firm, a, 123),
        (second, b, 600),
    ]
    assert [(r.firm_id, r.amount_fen) for r in only_b] == [(second, 600), (firm, 40)]


def test_the_announcement_list_of_another_parks_program_is_not_found(
    session: Session, clock: FrozenClock, scene: Scene
) -> None:
    there = add_program(session, make_subsidy_world(session, clock.now()).park.id, clock.now())

    with pytest.raises(NotFound):
        reports.announcement_list(session, scene.park_id, program_id=there.id)
