"""Properties of the subsidy rule engine over random programs, standings and invoices."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from hypothesis import event, given, settings
from hypothesis import strategies as st

from billing.subsidies.eligibility import Eligibility, add_months, months_registered
from billing.subsidies.rules import (
    CappedBy,
    Caps,
    Layer,
    LineFacts,
    LineGrant,
    ProgramRules,
    Qualifying,
    RateStep,
    Standing,
    budget_alerts,
    grant_invoice,
    rate_on,
)

FIRST_DAY = date(2025, 1, 1)
VENDORS = (1, 2, 3, 4)
LAST_DAY = date(2027, 3, 12)
# Draws lean towards programs that grant something, so the caps are actually reached.
SOME_IDS = st.frozensets(st.integers(1, 4), min_size=1, max_size=3)
FEN = st.integers(0, 300_000)
USED = st.integers(0, 100_000)
CAP = st.none() | st.integers(0, 200_000)

REFUSALS = (
    CappedBy.RATE_ZERO,
    CappedBy.NOT_QUALIFYING,
    CappedBy.BELOW_MINIMUM,
    CappedBy.OUT_OF_WINDOW,
    CappedBy.ALREADY_COVERED,
)

Program = tuple[ProgramRules, Standing]
T = TypeVar("T")

rates = st.integers(0, 1000).map(lambda n: Decimal(n) / 1000) | st.sampled_from(
    [Decimal(1) / 3, Decimal(2) / 3, Decimal("0.999999999999999999999999999999999")]
)
days = st.integers(0, 800).map(lambda n: FIRST_DAY + timedelta(days=n))
layers = st.none() | st.sampled_from(Layer)


def mostly(usual: T, other: st.SearchStrategy[T]) -> st.SearchStrategy[T]:
    """Draw the usual value three times in four, else something from other."""
    return st.sampled_from((1, 2, 3, 0)).flatmap(lambda n: other if n == 0 else st.just(usual))


IDS = mostly(frozenset[int](), SOME_IDS)


@st.composite
def rate_steps(draw: st.DrawFn) -> tuple[RateStep, ...]:
    """Draw up to three steps on distinct, sorted days, each with some layer overrides."""
    first = draw(mostly(frozenset({FIRST_DAY}), st.just(frozenset[date]())))
    starts = sorted(draw(st.sets(days, max_size=2)) | first)
    return tuple(
        RateStep(start, draw(rates), draw(st.dictionaries(st.sampled_from(Layer), rates)))
        for start in starts
    )


@st.composite
def programs(draw: st.DrawFn, program_id: int) -> ProgramRules:
    """Draw a program's rules."""
    start = draw(mostly(FIRST_DAY, days))
    until = draw(mostly(LAST_DAY, days))
    quotas = draw(st.dictionaries(st.sampled_from(VENDORS), FEN, max_size=2))
    return ProgramRules(
        program_id=program_id,
        version=1,
        priority=draw(st.integers(0, 3)),
        stackable=draw(st.booleans()),
        invoices_from=start,
        invoices_until=max(until, start),
        rate_steps=draw(rate_steps()),
        caps=Caps(draw(CAP), draw(CAP), draw(CAP), draw(CAP)),
        qualifying=Qualifying(draw(IDS), draw(IDS), draw(IDS), draw(mostly(0, USED))),
        eligibility=Eligibility(),
        budget_fen=draw(FEN),
        vendor_quotas_fen=quotas,
    )


@st.composite
def standings(draw: st.DrawFn, rules: ProgramRules) -> Standing:
    """Draw what is left of a program, its quotas no larger than what they were set to."""
    quota_left = {v: draw(st.integers(0, quota)) for v, quota in rules.vendor_quotas_fen.items()}
    return Standing(
        budget_left_fen=draw(st.integers(0, rules.budget_fen)),
        vendor_quota_left_fen=quota_left,
        firm_used_fen=draw(USED),
        firm_claims=draw(st.integers(0, 3)),
        firm_year_used_fen=draw(USED),
        firm_year_cap_fen=draw(CAP),
    )


@st.composite
def program_sets(draw: st.DrawFn) -> list[Program]:
    """Draw one to three programs of one park, their standings sharing the firm's year."""
    count = draw(st.integers(1, 3))
    rules = [draw(programs(program_id)) for program_id in range(1, count + 1)]
    used, cap = draw(USED), draw(CAP)
    return [
        (r, replace(draw(standings(r)), firm_year_used_fen=used, firm_year_cap_fen=cap))
        for r in rules
    ]


def opened(rules: ProgramRules, rate: Decimal, stackable: bool) -> ProgramRules:
    """Return the program at one rate, open to every invoice of the period and every line."""
    return replace(
        rules,
        stackable=stackable,
        invoices_from=FIRST_DAY,
        invoices_until=LAST_DAY,
        rate_steps=(RateStep(FIRST_DAY, rate, {}),),
        qualifying=Qualifying(frozenset(), frozenset(), frozenset(), 0),
    )


@st.composite
def open_program_sets(draw: st.DrawFn, stackable: bool | None = None) -> list[Program]:
    """Draw two or three programs that all apply to every line, at high rates."""
    high_rates = st.integers(300, 1000).map(lambda n: Decimal(n) / 1000)
    drawn = draw(program_sets().filter(lambda found: len(found) > 1))
    return [
        (opened(r, draw(high_rates), draw(st.booleans()) if stackable is None else stackable), left)
        for r, left in drawn
    ]


@st.composite
def uncapped_open_sets(draw: st.DrawFn) -> list[Program]:
    """Draw two or three open programs without caps or quotas, sharing the firm's year cap."""
    sets = draw(open_program_sets())
    used, cap = draw(USED), draw(CAP)
    plenty = Standing(10**9, {}, 0, 0, used, cap)
    return [
        (replace(r, caps=Caps(None, None, None, None), vendor_quotas_fen={}), plenty)
        for r, _ in sets
    ]


@st.composite
def invoices(draw: st.DrawFn) -> list[LineFacts]:
    """Draw up to six lines with distinct keys."""
    count = draw(st.integers(0, 6))
    return [
        LineFacts(
            line_key=f"line-{n}",
            amount_fen=draw(FEN),
            layer=draw(layers),
            category_ids=draw(SOME_IDS),
            listing_id=draw(st.integers(1, 4)),
            vendor_id=draw(st.sampled_from(VENDORS)),
        )
        for n in range(count)
    ]


def of_program(grants: Sequence[LineGrant], program_id: int) -> list[LineGrant]:
    """Return the grants one program made."""
    return [g for g in grants if g.program_id == program_id]


def total(grants: Sequence[LineGrant]) -> int:
    """Sum the grants."""
    return sum(g.amount_fen for g in grants)


def spent_by_vendor(grants: Sequence[LineGrant], vendor_of: dict[str, int]) -> Counter[int]:
    """Sum the grants per vendor."""
    spent: Counter[int] = Counter()
    for g in grants:
        spent[vendor_of[g.line_key]] += g.amount_fen
    return spent


def room(cap: int | None, used: int) -> int | None:
    """Return what a cap leaves after used, never below zero; None when uncapped."""
    return None if cap is None else max(cap - used, 0)


def within(amount: int, limit: int | None) -> bool:
    """Say whether amount is within an optional limit."""
    return limit is None or amount <= limit


@given(program_sets(), invoices(), days)
def test_one_grant_per_program_and_line_none_negative(
    program_set: list[Program], lines: list[LineFacts], on: date
) -> None:
    grants = grant_invoice(program_set, lines, on)
    assert len(grants) == len(program_set) * len(lines)
    assert all(type(g.amount_fen) is int and g.amount_fen >= 0 for g in grants)
    for rules, _ in program_set:
        assert [g.line_key for g in of_program(grants, rules.program_id)] == [
            item.line_key for item in lines
        ]


@settings(max_examples=300)
@given(program_sets(), invoices(), days)
def test_no_program_grants_beyond_any_cap_or_what_is_left(
    program_set: list[Program], lines: list[LineFacts], on: date
) -> None:
    grants = grant_invoice(program_set, lines, on)
    event(f"{sum(g.capped_by not in (CappedBy.NONE, *REFUSALS) for g in grants)} lines capped")
    vendor_of = {item.line_key: item.vendor_id for item in lines}
    for rules, left in program_set:
        mine = of_program(grants, rules.program_id)
        spent = total(mine)
        caps = rules.caps
        assert spent <= left.budget_left_fen
        assert within(spent, caps.per_invoice_fen)
        assert within(spent, caps.claim_fen(left.firm_claims))
        assert within(spent, room(caps.per_firm_fen, left.firm_used_fen))
        assert within(spent, room(left.firm_year_cap_fen, left.firm_year_used_fen))
        by_vendor = spent_by_vendor(mine, vendor_of)
        for vendor_id in rules.vendor_quotas_fen:
            assert by_vendor[vendor_id] <= left.vendor_quota_left_fen[vendor_id]
        reserved = sum(left.vendor_quota_left_fen.values())
        shared = sum(f for v, f in by_vendor.items() if v not in rules.vendor_quotas_fen)
        assert shared <= max(left.budget_left_fen - reserved, 0)


@given(program_sets() | uncapped_open_sets(), invoices(), days)
def test_the_firm_year_cap_holds_across_all_the_programs_together(
    program_set: list[Program], lines: list[LineFacts], on: date
) -> None:
    grants = grant_invoice(program_set, lines, on)
    for _, left in program_set:
        assert within(total(grants), room(left.firm_year_cap_fen, left.firm_year_used_fen))


@given(program_sets() | open_program_sets(stackable=True), invoices(), days)
def test_a_line_never_gets_more_than_its_amount_nor_its_rate_of_what_is_left(
    program_set: list[Program], lines: list[LineFacts], on: date
) -> None:
    grants = grant_invoice(program_set, lines, on)
    rules_of = {rules.program_id: rules for rules, _ in program_set}
    for item in lines:
        mine = [g for g in grants if g.line_key == item.line_key]
        assert total(mine) <= item.amount_fen
        earlier = 0  # the grants come in drawing order: a stacked one sees what is left
        for g in mine:
            rate = Fraction(rate_on(rules_of[g.program_id], item.layer, on))
            assert g.amount_fen <= int(rate * (item.amount_fen - earlier))
            earlier += g.amount_fen


@given(uncapped_open_sets(), invoices(), days)
def test_uncapped_stackable_programs_each_take_their_rate_of_what_the_last_left(
    program_set: list[Program], lines: list[LineFacts], on: date
) -> None:
    stacking = [(replace(r, stackable=True), left) for r, left in program_set]
    stacking.sort(key=lambda p: (p[0].priority, p[0].program_id))
    grants = grant_invoice(stacking, lines, on)
    year_left = room(stacking[0][1].firm_year_cap_fen, stacking[0][1].firm_year_used_fen)
    if year_left is not None and total(grants) == year_left:
        return  # the year cap cut in: the plain stacking sum below no longer holds
    for item in lines:
        left = item.amount_fen
        for rules, _ in stacking:
            (g,) = [
                g for g in grants if (g.program_id, g.line_key) == (rules.program_id, item.line_key)
            ]
            assert g.amount_fen == int(Fraction(rate_on(rules, None, on)) * left)
            left -= g.amount_fen
        assert left >= 0


@given(program_sets(), invoices(), days)
def test_a_line_refused_before_the_caps_gets_nothing(
    program_set: list[Program], lines: list[LineFacts], on: date
) -> None:
    grants = grant_invoice(program_set, lines, on)
    for g in grants:
        if g.capped_by in REFUSALS:
            assert g.amount_fen == 0


@given(program_sets(), invoices(), days)
def test_out_of_window_programs_grant_nothing_to_any_line(
    program_set: list[Program], lines: list[LineFacts], on: date
) -> None:
    grants = grant_invoice(program_set, lines, on)
    for rules, _ in program_set:
        if not rules.invoices_from <= on <= rules.invoices_until:
            mine = of_program(grants, rules.program_id)
            assert all(
                g == replace(g, amount_fen=0, capped_by=CappedBy.OUT_OF_WINDOW) for g in mine
            )


@st.composite
def single_open_programs(draw: st.DrawFn) -> tuple[ProgramRules, Standing, Decimal]:
    """Draw one program at a single rate that every line qualifies for, without quotas."""
    rate = draw(rates)
    rules = replace(opened(draw(programs(1)), rate, False), vendor_quotas_fen={})
    return rules, draw(standings(rules)), rate


@settings(max_examples=300)
@given(single_open_programs(), invoices(), days)
def test_every_line_is_rounded_down_once_and_the_total_fills_up_to_the_tightest_cap(
    program: tuple[ProgramRules, Standing, Decimal], lines: list[LineFacts], on: date
) -> None:
    rules, left, rate = program
    grants = grant_invoice([(rules, left)], lines, on)
    raw = [int(Fraction(rate) * item.amount_fen) for item in lines]
    caps = rules.caps
    limits = [
        caps.per_invoice_fen,
        caps.claim_fen(left.firm_claims),
        room(caps.per_firm_fen, left.firm_used_fen),
        room(left.firm_year_cap_fen, left.firm_year_used_fen),
        left.budget_left_fen,
    ]
    tightest = min(limit for limit in limits if limit is not None)
    # No drift: the sum of the lines is exactly the total, and nothing that the caps allow
    # is lost — the lines get min(rate total, tightest cap) between them.
    assert total(grants) == min(sum(raw), tightest)
    uncapped = [g.amount_fen for g in grants if g.capped_by is CappedBy.NONE]
    assert uncapped == [r for g, r in zip(grants, raw, strict=True) if g.capped_by is CappedBy.NONE]


@given(program_sets(), invoices(), days, st.integers(0, 300_000))
def test_more_budget_never_grants_less(
    program_set: list[Program], lines: list[LineFacts], on: date, extra: int
) -> None:
    rules, left = program_set[0]
    richer = replace(left, budget_left_fen=left.budget_left_fen + extra)
    assert total(grant_invoice([(rules, richer)], lines, on)) >= total(
        grant_invoice([(rules, left)], lines, on)
    )


@given(program_sets(), invoices(), days, st.randoms(use_true_random=False))
def test_grants_are_deterministic_whatever_order_the_programs_come_in(
    program_set: list[Program], lines: list[LineFacts], on: date, shuffler: random.Random
) -> None:
    expected = grant_invoice(program_set, lines, on)
    shuffled = list(program_set)
    shuffler.shuffle(shuffled)
    assert grant_invoice(shuffled, lines, on) == expected
    assert grant_invoice(program_set, lines, on) == expected


@given(days, st.integers(0, 2_000).map(lambda n: FIRST_DAY + timedelta(days=n)))
def test_months_registered_is_the_last_whole_month_reached(registered_on: date, on: date) -> None:
    months = months_registered(registered_on, on)
    if on < registered_on:
        assert months == 0
        return
    assert add_months(registered_on, months) <= on < add_months(registered_on, months + 1)


@given(st.integers(1, 10**9), st.integers(0, 10**9), st.integers(0, 10**9))
def test_budget_alerts_fire_exactly_when_a_threshold_lies_between(
    budget: int, before: int, after: int
) -> None:
    alerts = budget_alerts(budget, before, after)
    for percent in (80, 100):
        threshold = Fraction(budget * percent, 100)
        assert (percent in alerts) == (before < threshold <= after)
