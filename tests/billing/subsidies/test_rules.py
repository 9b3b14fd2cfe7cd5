"""The subsidy rule engine, rule by rule, and three real program shapes worked through."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from billing.subsidies.eligibility import (
    Eligibility,
    FirmFacts,
    Unmet,
    add_months,
    months_registered,
    unmet_rules,
)
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
    subsidy_at_rate,
)

ON = date(2025, 6, 15)
NO_CAPS = Caps(None, None, None, None)
ANY_PURCHASE = Qualifying(frozenset(), frozenset(), frozenset(), 0)


def yuan(amount: int) -> int:
    """Return a whole number of yuan in fen."""
    return amount * 100


def program(program_id: int = 1, rate: str = "0.5", **fields: Any) -> ProgramRules:
    """Build a program: one rate from 2025-01-01, no caps, any purchase, a large budget."""
    base = ProgramRules(
        program_id=program_id,
        version=1,
        priority=10,
        stackable=False,
        invoices_from=date(2025, 1, 1),
        invoices_until=date(2026, 12, 31),
        rate_steps=(RateStep(date(2025, 1, 1), Decimal(rate), {}),),
        caps=NO_CAPS,
        qualifying=ANY_PURCHASE,
        eligibility=Eligibility(),
        budget_fen=yuan(1_000_000),
        vendor_quotas_fen={},
    )
    return replace(base, **fields)


def standing(**fields: Any) -> Standing:
    """Build a standing with plenty left and nothing used."""
    base = Standing(
        budget_left_fen=yuan(1_000_000),
        vendor_quota_left_fen={},
        firm_used_fen=0,
        firm_claims=0,
        firm_year_used_fen=0,
        firm_year_cap_fen=None,
    )
    return replace(base, **fields)


def line(
    key: str = "a",
    amount_fen: int = 10_000,
    *,
    layer: Layer | None = None,
    vendor_id: int = 7,
    listing_id: int = 3,
    category_ids: frozenset[int] = frozenset({5}),
) -> LineFacts:
    """Build an invoice line."""
    return LineFacts(key, amount_fen, layer, category_ids, listing_id, vendor_id)


def grant_one(
    rules: ProgramRules, lines: list[LineFacts], on: date = ON, **standing_fields: Any
) -> list[tuple[int, CappedBy]]:
    """Grant lines from one program; return each line's (amount, capped_by)."""
    grants = grant_invoice([(rules, standing(**standing_fields))], lines, on)
    return [(g.amount_fen, g.capped_by) for g in grants]


def firm(**fields: Any) -> FirmFacts:
    """Build a firm every default program admits."""
    base = FirmFacts(
        firm_id=1,
        size_class="small",
        industry_code="software_it",
        legal_form="enterprise",
        registered_on=date(2020, 1, 1),
        dishonest=False,
        had_paid_cloud_invoice_before=False,
        park_member=True,
    )
    return replace(base, **fields)


# Eligibility -------------------------------------------------------------------------------


def test_an_eligible_firm_meets_every_rule() -> None:
    assert unmet_rules(Eligibility(), firm(), ON) == ()


def test_the_default_rules_admit_smes_who_are_park_members_and_not_dishonest() -> None:
    assert Eligibility() == Eligibility(
        size_classes=frozenset({"micro", "small", "medium"}),
        industry_codes=frozenset(),
        legal_forms=frozenset(),
        min_months_registered=0,
        exclude_dishonest=True,
        first_time_buyers_only=False,
        park_members_only=True,
    )


@pytest.mark.parametrize("size_class", ["micro", "small", "medium"])
def test_smes_meet_the_default_size_rule(size_class: str) -> None:
    assert unmet_rules(Eligibility(), firm(size_class=size_class), ON) == ()


@pytest.mark.parametrize("size_class", ["large", "", "Small"])
def test_large_and_unknown_size_classes_fail_the_default_size_rule(size_class: str) -> None:
    assert unmet_rules(Eligibility(), firm(size_class=size_class), ON) == (Unmet.SIZE,)


def test_a_program_for_micro_firms_refuses_small_ones() -> None:
    micro_only = Eligibility(size_classes=frozenset({"micro"}))
    assert unmet_rules(micro_only, firm(size_class="micro"), ON) == ()
    assert unmet_rules(micro_only, firm(size_class="small"), ON) == (Unmet.SIZE,)


def test_a_program_may_admit_large_firms_too() -> None:
    everyone = Eligibility(size_classes=frozenset({"micro", "small", "medium", "large"}))
    assert unmet_rules(everyone, firm(size_class="large"), ON) == ()


@pytest.mark.parametrize(
    ("codes", "industry_code", "met"),
    [
        (frozenset(), "anything", True),
        (frozenset({"I65"}), "I65", True),
        (frozenset({"I65"}), "I6510", True),
        (frozenset({"I"}), "I6510", True),
        (frozenset({"I65"}), "I66", False),
        (frozenset({"I65"}), "I6", False),
        (frozenset({"65"}), "I65", False),
        (frozenset({"C", "I65"}), "C3911", True),
        (frozenset({"software"}), "software_it", True),
        (frozenset({"I65"}), "", False),
    ],
)
def test_industry_codes_match_by_prefix(
    codes: frozenset[str], industry_code: str, met: bool
) -> None:
    rules = Eligibility(industry_codes=codes)
    expected = () if met else (Unmet.INDUSTRY,)
    assert unmet_rules(rules, firm(industry_code=industry_code), ON) == expected


@pytest.mark.parametrize(
    ("forms", "legal_form", "met"),
    [
        (frozenset(), "cooperative", True),
        (frozenset({"enterprise"}), "enterprise", True),
        (frozenset({"enterprise"}), "sole_proprietor", False),
        (frozenset({"enterprise", "sole_proprietor"}), "sole_proprietor", True),
        (frozenset({"enterprise", "sole_proprietor"}), "other", False),
    ],
)
def test_the_legal_form_from_the_credit_code_must_be_listed(
    forms: frozenset[str], legal_form: str, met: bool
) -> None:
    rules = Eligibility(legal_forms=forms)
    expected = () if met else (Unmet.LEGAL_FORM,)
    assert unmet_rules(rules, firm(legal_form=legal_form), ON) == expected


@pytest.mark.parametrize(
    ("registered_on", "on", "months"),
    [
        (date(2025, 1, 15), date(2025, 7, 14), 5),
        (date(2025, 1, 15), date(2025, 7, 15), 6),
        (date(2025, 1, 15), date(2025, 7, 16), 6),
        (date(2024, 8, 31), date(2025, 2, 27), 5),
        (date(2024, 8, 31), date(2025, 2, 28), 6),
        (date(2024, 2, 29), date(2025, 2, 28), 12),
        (date(2024, 2, 29), date(2025, 2, 27), 11),
        (date(2024, 1, 31), date(2024, 2, 29), 1),
        (date(2024, 12, 31), date(2025, 1, 30), 0),
        (date(2025, 6, 15), date(2025, 6, 15), 0),
        (date(2025, 6, 16), date(2025, 6, 15), 0),
    ],
)
def test_months_registered_count_calendar_months_on_the_boundary_day(
    registered_on: date, on: date, months: int
) -> None:
    assert months_registered(registered_on, on) == months


def test_adding_months_clamps_to_the_end_of_a_shorter_month() -> None:
    assert add_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2025, 11, 30), 3) == date(2026, 2, 28)
    assert add_months(date(2025, 3, 31), -1) == date(2025, 2, 28)


@pytest.mark.parametrize(
    ("on", "met"),
    [(date(2025, 7, 14), False), (date(2025, 7, 15), True), (date(2025, 7, 16), True)],
)
def test_a_firm_must_be_registered_the_minimum_months_by_the_day(on: date, met: bool) -> None:
    rules = Eligibility(min_months_registered=6)
    expected = () if met else (Unmet.TOO_YOUNG,)
    assert unmet_rules(rules, firm(registered_on=date(2025, 1, 15)), on) == expected


def test_a_firm_without_a_registration_date_is_too_young_only_when_a_minimum_is_set() -> None:
    assert unmet_rules(Eligibility(), firm(registered_on=None), ON) == ()
    rules = Eligibility(min_months_registered=1)
    assert unmet_rules(rules, firm(registered_on=None), ON) == (Unmet.TOO_YOUNG,)


def test_a_firm_registered_after_the_day_is_too_young() -> None:
    rules = Eligibility(min_months_registered=1)
    assert unmet_rules(rules, firm(registered_on=date(2025, 6, 16)), ON) == (Unmet.TOO_YOUNG,)


def test_a_dishonest_firm_is_refused_unless_the_program_allows_it() -> None:
    flagged = firm(dishonest=True)
    assert unmet_rules(Eligibility(), flagged, ON) == (Unmet.DISHONEST,)
    assert unmet_rules(Eligibility(exclude_dishonest=False), flagged, ON) == ()


def test_a_firm_that_paid_for_cloud_before_is_not_a_first_time_buyer() -> None:
    rules = Eligibility(first_time_buyers_only=True)
    assert unmet_rules(rules, firm(), ON) == ()
    returning = firm(had_paid_cloud_invoice_before=True)
    assert unmet_rules(rules, returning, ON) == (Unmet.NOT_FIRST_TIME,)
    assert unmet_rules(Eligibility(), returning, ON) == ()


def test_a_firm_outside_the_park_is_refused_unless_the_program_is_open() -> None:
    outsider = firm(park_member=False)
    assert unmet_rules(Eligibility(), outsider, ON) == (Unmet.NOT_PARK_MEMBER,)
    assert unmet_rules(Eligibility(park_members_only=False), outsider, ON) == ()


def test_every_unmet_rule_is_named_in_order() -> None:
    strict = Eligibility(
        industry_codes=frozenset({"I65"}),
        legal_forms=frozenset({"enterprise"}),
        min_months_registered=12,
        first_time_buyers_only=True,
    )
    hopeless = firm(
        size_class="large",
        industry_code="C13",
        legal_form="sole_proprietor",
        registered_on=date(2025, 1, 1),
        dishonest=True,
        had_paid_cloud_invoice_before=True,
        park_member=False,
    )
    assert unmet_rules(strict, hopeless, ON) == tuple(Unmet)


# Rates -------------------------------------------------------------------------------------

STEPPED = program(
    rate_steps=(
        RateStep(date(2025, 1, 1), Decimal("0.5"), {}),
        RateStep(date(2026, 1, 1), Decimal("0.4"), {}),
    )
)


@pytest.mark.parametrize(
    ("on", "rate"),
    [
        (date(2024, 12, 31), "0"),
        (date(2025, 1, 1), "0.5"),
        (date(2025, 1, 2), "0.5"),
        (date(2025, 12, 31), "0.5"),
        (date(2026, 1, 1), "0.4"),
        (date(2026, 1, 2), "0.4"),
    ],
)
def test_the_rate_steps_down_on_the_day_of_each_step(on: date, rate: str) -> None:
    assert rate_on(STEPPED, None, on) == Decimal(rate)


@pytest.mark.parametrize(
    ("on", "granted"),
    [(date(2025, 12, 31), 5_000), (date(2026, 1, 1), 4_000), (date(2026, 1, 2), 4_000)],
)
def test_a_grant_uses_the_step_in_force_on_the_finalization_date(on: date, granted: int) -> None:
    assert grant_one(STEPPED, [line(amount_fen=10_000)], on) == [(granted, CappedBy.NONE)]


def test_an_invoice_before_the_first_step_gets_rate_zero() -> None:
    late_start = program(rate_steps=(RateStep(date(2025, 7, 1), Decimal("0.5"), {}),))
    assert grant_one(late_start, [line()], date(2025, 6, 30)) == [(0, CappedBy.RATE_ZERO)]
    assert grant_one(late_start, [line()], date(2025, 7, 1)) == [(5_000, CappedBy.NONE)]


def test_a_program_without_steps_pays_nothing() -> None:
    assert grant_one(program(rate_steps=()), [line()]) == [(0, CappedBy.RATE_ZERO)]


LAYERED = program(
    rate_steps=(
        RateStep(
            date(2025, 1, 1),
            Decimal("0.5"),
            {Layer.IAAS: Decimal("0.4"), Layer.SAAS: Decimal("0.6")},
        ),
        RateStep(date(2026, 1, 1), Decimal("0.3"), {Layer.IAAS: Decimal("0")}),
    )
)


@pytest.mark.parametrize(
    ("layer", "on", "rate"),
    [
        (Layer.IAAS, ON, "0.4"),
        (Layer.SAAS, ON, "0.6"),
        (Layer.PAAS, ON, "0.5"),
        (None, ON, "0.5"),
        (Layer.IAAS, date(2026, 1, 1), "0"),
        (Layer.SAAS, date(2026, 1, 1), "0.3"),
    ],
)
def test_each_layer_has_its_rate_or_the_default(layer: Layer | None, on: date, rate: str) -> None:
    assert rate_on(LAYERED, layer, on) == Decimal(rate)


def test_lines_are_subsidized_at_their_layer_rate() -> None:
    lines = [line("i", layer=Layer.IAAS), line("s", layer=Layer.SAAS), line("p", layer=Layer.PAAS)]
    assert grant_one(LAYERED, lines) == [
        (4_000, CappedBy.NONE),
        (6_000, CappedBy.NONE),
        (5_000, CappedBy.NONE),
    ]


def test_a_layer_at_rate_zero_gets_nothing() -> None:
    later = date(2026, 3, 1)
    assert grant_one(LAYERED, [line(layer=Layer.IAAS)], later) == [(0, CappedBy.RATE_ZERO)]


@pytest.mark.parametrize(
    ("rate", "amount", "granted"),
    [
        ("0.5", 3, 1),
        ("0.6", 9_999, 5_999),
        ("0.4", 1, 0),
        ("1", 12_345, 12_345),
        ("0", 12_345, 0),
        ("0.333", 1_000_001, 333_000),
    ],
)
def test_the_rate_multiply_rounds_down_to_the_fen(rate: str, amount: int, granted: int) -> None:
    assert subsidy_at_rate(Decimal(rate), amount) == granted


def test_the_rate_multiply_is_exact_even_beyond_the_default_decimal_precision() -> None:
    # 0.999… (40 nines) × 10^15 is just below 10^15; a 28-digit product would round up.
    rate = Decimal("0." + "9" * 40)
    assert subsidy_at_rate(rate, 10**15) == 10**15 - 1
    third = Decimal(1) / Decimal(3)
    assert subsidy_at_rate(third, 3 * 10**20) == int(Fraction(third) * 3 * 10**20)


def test_a_line_of_one_fen_at_half_rate_gets_nothing_and_no_reason() -> None:
    assert grant_one(program(), [line(amount_fen=1)]) == [(0, CappedBy.NONE)]


# Bad rules ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", ["-0.01", "1.01", "NaN", "Infinity"])
def test_a_rate_outside_zero_to_one_is_refused(rate: str) -> None:
    with pytest.raises(ValueError, match="default_rate"):
        RateStep(ON, Decimal(rate), {})
    with pytest.raises(ValueError, match="layer_rates"):
        RateStep(ON, Decimal("0.5"), {Layer.SAAS: Decimal(rate)})


@pytest.mark.parametrize("second", [date(2024, 12, 31), date(2025, 1, 1)])
def test_rate_steps_must_be_sorted_one_a_day(second: date) -> None:
    steps = (RateStep(date(2025, 1, 1), Decimal("0.5"), {}), RateStep(second, Decimal("0.4"), {}))
    with pytest.raises(ValueError, match="rate_steps"):
        program(rate_steps=steps)


def test_an_invoice_window_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="invoices_from"):
        program(invoices_from=date(2025, 2, 1), invoices_until=date(2025, 1, 31))
    assert program(invoices_from=ON, invoices_until=ON).admits_on(ON)


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Caps(-1, None, None, None), "per_invoice_fen"),
        (lambda: Caps(None, -1, None, None), "per_firm_fen"),
        (lambda: Caps(None, None, -1, None), "first_claim_fen"),
        (lambda: Caps(None, None, None, -1), "later_claim_fen"),
        (lambda: Qualifying(frozenset(), frozenset(), frozenset(), -1), "min_amount_fen"),
        (lambda: program(budget_fen=-1), "budget_fen"),
        (lambda: program(vendor_quotas_fen={7: -1}), r"vendor_quotas_fen\[7\]"),
        (lambda: line(amount_fen=-1), "amount_fen"),
    ],
)
def test_negative_money_is_refused_naming_the_field(build: Any, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        build()


def test_duplicate_line_keys_or_program_ids_are_refused() -> None:
    with pytest.raises(ValueError, match="line keys"):
        grant_invoice([(program(), standing())], [line("a"), line("a")], ON)
    with pytest.raises(ValueError, match="program ids"):
        grant_invoice([(program(), standing()), (program(), standing())], [line()], ON)


def test_nothing_to_grant_gives_no_grants() -> None:
    assert grant_invoice([], [line()], ON) == ()
    assert grant_invoice([(program(), standing())], [], ON) == ()


# Caps reached exactly ----------------------------------------------------------------------

# A ¥100 line at 50%: the rate gives 5,000 fen; each cap is set one fen above, exactly at
# and one fen below what it leaves room for.
RAW = 5_000


def capped(kind: str, room: int) -> tuple[ProgramRules, dict[str, Any]]:
    """Return a program and standing fields that leave exactly room fen under one cap."""
    if kind == "per_invoice":
        return program(caps=Caps(room, None, None, None)), {}
    if kind == "per_firm":
        return program(caps=Caps(None, room + 70_000, None, None)), {"firm_used_fen": 70_000}
    if kind == "first_claim":
        return program(caps=Caps(None, None, room, 1)), {"firm_claims": 0}
    if kind == "later_claim":
        return program(caps=Caps(None, None, 1, room)), {"firm_claims": 3}
    if kind == "year":
        return program(), {"firm_year_cap_fen": room + 9_000, "firm_year_used_fen": 9_000}
    if kind == "vendor_quota":
        return program(vendor_quotas_fen={7: room + 500}), {"vendor_quota_left_fen": {7: room}}
    assert kind == "budget"
    return program(), {"budget_left_fen": room}


CAP_REASONS = {
    "per_invoice": CappedBy.PER_INVOICE,
    "per_firm": CappedBy.PER_FIRM,
    "first_claim": CappedBy.CLAIM,
    "later_claim": CappedBy.CLAIM,
    "year": CappedBy.YEAR,
    "vendor_quota": CappedBy.VENDOR_QUOTA,
    "budget": CappedBy.BUDGET,
}


@pytest.mark.parametrize("kind", CAP_REASONS)
@pytest.mark.parametrize(
    ("room", "expected"),
    [(RAW + 1, (RAW, None)), (RAW, (RAW, None)), (RAW - 1, (RAW - 1, "cut"))],
    ids=["one fen above", "exactly at", "one fen below"],
)
def test_each_cap_is_reached_exactly(
    kind: str, room: int, expected: tuple[int, str | None]
) -> None:
    rules, fields = capped(kind, room)
    amount, cut = expected
    reason = CAP_REASONS[kind] if cut else CappedBy.NONE
    assert grant_one(rules, [line(amount_fen=10_000)], **fields) == [(amount, reason)]


@pytest.mark.parametrize("kind", CAP_REASONS)
def test_a_cap_used_up_leaves_nothing(kind: str) -> None:
    rules, fields = capped(kind, 0)
    assert grant_one(rules, [line()], **fields) == [(0, CAP_REASONS[kind])]


def test_a_standing_already_past_a_cap_grants_nothing_rather_than_a_negative_amount() -> None:
    rules = program(caps=Caps(None, 1_000, None, None))
    overdrawn: dict[str, Any] = {"firm_used_fen": 2_000, "budget_left_fen": -50}
    assert grant_one(rules, [line()], **overdrawn) == [(0, CappedBy.PER_FIRM)]
    assert grant_one(program(), [line()], budget_left_fen=-50) == [(0, CappedBy.BUDGET)]


def test_the_lines_of_an_invoice_share_the_per_invoice_cap() -> None:
    rules = program(caps=Caps(7_000, None, None, None))
    lines = [line("a"), line("b"), line("c")]
    assert grant_one(rules, lines) == [
        (5_000, CappedBy.NONE),
        (2_000, CappedBy.PER_INVOICE),
        (0, CappedBy.PER_INVOICE),
    ]


def test_the_first_claim_and_later_claims_have_their_own_caps() -> None:
    rules = program(caps=Caps(None, None, 8_000, 3_000))
    lines = [line("a"), line("b")]
    assert grant_one(rules, lines, firm_claims=0) == [
        (5_000, CappedBy.NONE),
        (3_000, CappedBy.CLAIM),
    ]
    assert grant_one(rules, lines, firm_claims=1) == [(3_000, CappedBy.CLAIM), (0, CappedBy.CLAIM)]
    assert grant_one(rules, lines, firm_claims=5) == [(3_000, CappedBy.CLAIM), (0, CappedBy.CLAIM)]


def test_a_claim_cap_left_open_does_not_limit() -> None:
    rules = program(caps=Caps(None, None, None, 1_000))
    assert grant_one(rules, [line("a"), line("b")], firm_claims=0) == [
        (5_000, CappedBy.NONE),
        (5_000, CappedBy.NONE),
    ]


def test_the_per_firm_cap_counts_what_the_firm_already_received() -> None:
    rules = program(caps=Caps(None, 12_000, None, None))
    lines = [line("a"), line("b")]
    assert grant_one(rules, lines, firm_used_fen=4_000) == [
        (5_000, CappedBy.NONE),
        (3_000, CappedBy.PER_FIRM),
    ]


def test_the_firm_annual_cap_is_shared_across_the_parks_programs() -> None:
    only_listing_1 = replace(ANY_PURCHASE, listing_ids=frozenset({1}))
    first = program(1, priority=1, qualifying=only_listing_1)
    second = program(2, priority=2)
    # ¥80 a year, ¥10 already used: the first program's 5,000 leaves 2,000 for the second.
    year = standing(firm_year_cap_fen=8_000, firm_year_used_fen=1_000)
    lines = [line("a", listing_id=1), line("b", listing_id=3)]
    grants = grant_invoice([(second, year), (first, year)], lines, ON)
    assert [(g.program_id, g.line_key, g.amount_fen, g.capped_by) for g in grants] == [
        (1, "a", 5_000, CappedBy.NONE),
        (1, "b", 0, CappedBy.NOT_QUALIFYING),
        (2, "a", 0, CappedBy.ALREADY_COVERED),
        (2, "b", 2_000, CappedBy.YEAR),
    ]


def test_the_first_limit_that_cuts_is_named_even_when_a_later_one_cuts_more() -> None:
    rules = program(caps=Caps(4_000, None, None, None))
    assert grant_one(rules, [line()], budget_left_fen=3_000) == [(3_000, CappedBy.PER_INVOICE)]
    assert grant_one(rules, [line()], budget_left_fen=4_500) == [(4_000, CappedBy.PER_INVOICE)]


# Vendor sub-quotas and the budget ----------------------------------------------------------


def test_a_line_gets_what_is_left_of_a_budget_smaller_than_it() -> None:
    lines = [line("a"), line("b")]
    assert grant_one(program(), lines, budget_left_fen=1_234) == [
        (1_234, CappedBy.BUDGET),
        (0, CappedBy.BUDGET),
    ]


def test_a_vendor_with_a_sub_quota_draws_only_on_its_quota() -> None:
    rules = program(vendor_quotas_fen={7: 20_000})
    lines = [line("a", vendor_id=7), line("b", vendor_id=7)]
    assert grant_one(rules, lines, vendor_quota_left_fen={7: 6_000}) == [
        (5_000, CappedBy.NONE),
        (1_000, CappedBy.VENDOR_QUOTA),
    ]


def test_a_vendor_quota_is_also_held_to_the_budget() -> None:
    rules = program(vendor_quotas_fen={7: 20_000})
    fields: dict[str, Any] = {"vendor_quota_left_fen": {7: 20_000}, "budget_left_fen": 2_500}
    assert grant_one(rules, [line(vendor_id=7)], **fields) == [(2_500, CappedBy.BUDGET)]


def test_vendors_without_a_sub_quota_share_the_budget_beyond_the_unused_sub_quotas() -> None:
    rules = program(vendor_quotas_fen={7: 20_000, 8: 10_000})
    fields: dict[str, Any] = {
        "budget_left_fen": 16_000,
        "vendor_quota_left_fen": {7: 5_000, 8: 4_000},
    }
    lines = [line("x", vendor_id=9), line("y", vendor_id=9), line("q", vendor_id=7)]
    # 16,000 left, 9,000 of it still reserved for vendors 7 and 8: vendor 9 may take 7,000.
    assert grant_one(rules, lines, **fields) == [
        (5_000, CappedBy.NONE),
        (2_000, CappedBy.BUDGET),
        (5_000, CappedBy.NONE),
    ]


def test_a_sub_quota_vendor_missing_from_the_standing_has_nothing_left() -> None:
    rules = program(vendor_quotas_fen={7: 20_000})
    assert grant_one(rules, [line(vendor_id=7)]) == [(0, CappedBy.VENDOR_QUOTA)]


def test_quota_left_for_a_vendor_the_program_no_longer_lists_is_ignored() -> None:
    fields: dict[str, Any] = {"vendor_quota_left_fen": {7: 100}}
    assert grant_one(program(), [line(vendor_id=7)], **fields) == [(5_000, CappedBy.NONE)]


# Stacking and priority ---------------------------------------------------------------------


def granted(grants: tuple[LineGrant, ...]) -> list[tuple[int, str, int, CappedBy]]:
    """Return each grant as (program, line, amount, capped_by)."""
    return [(g.program_id, g.line_key, g.amount_fen, g.capped_by) for g in grants]


def test_a_line_covered_by_a_program_that_does_not_stack_gets_nothing_more() -> None:
    first = program(1, priority=1, stackable=False)
    second = program(2, priority=2, stackable=True)
    grants = grant_invoice([(first, standing()), (second, standing())], [line()], ON)
    assert granted(grants) == [
        (1, "a", 5_000, CappedBy.NONE),
        (2, "a", 0, CappedBy.ALREADY_COVERED),
    ]


def test_a_program_that_does_not_stack_skips_a_line_already_drawing_on_another() -> None:
    first = program(1, priority=1, stackable=True)
    second = program(2, priority=2, stackable=False)
    grants = grant_invoice([(first, standing()), (second, standing())], [line()], ON)
    assert granted(grants) == [
        (1, "a", 5_000, CappedBy.NONE),
        (2, "a", 0, CappedBy.ALREADY_COVERED),
    ]


def test_stackable_programs_both_draw_the_second_on_what_the_first_left() -> None:
    first = program(1, "0.5", priority=1, stackable=True)
    second = program(2, "0.3", priority=2, stackable=True)
    grants = grant_invoice([(first, standing()), (second, standing())], [line()], ON)
    # 50% of 10,000 = 5,000; then 30% of the 5,000 left = 1,500; the firm pays 3,500.
    assert granted(grants) == [(1, "a", 5_000, CappedBy.NONE), (2, "a", 1_500, CappedBy.NONE)]


def test_stacked_programs_never_pay_more_than_the_line() -> None:
    full = program(1, "1", priority=1, stackable=True)
    again = program(2, "1", priority=2, stackable=True)
    grants = grant_invoice([(full, standing()), (again, standing())], [line()], ON)
    assert granted(grants) == [
        (1, "a", 10_000, CappedBy.NONE),
        (2, "a", 0, CappedBy.ALREADY_COVERED),
    ]


def test_lower_priority_numbers_draw_first_whatever_the_order_given() -> None:
    urgent = program(2, "0.2", priority=1)
    later = program(1, "0.9", priority=5)
    grants = grant_invoice([(later, standing()), (urgent, standing())], [line()], ON)
    assert granted(grants) == [
        (2, "a", 2_000, CappedBy.NONE),
        (1, "a", 0, CappedBy.ALREADY_COVERED),
    ]


def test_equal_priorities_draw_in_program_id_order() -> None:
    one = program(1, "0.2", priority=3)
    two = program(2, "0.9", priority=3)
    grants = grant_invoice([(two, standing()), (one, standing())], [line()], ON)
    assert granted(grants) == [
        (1, "a", 2_000, CappedBy.NONE),
        (2, "a", 0, CappedBy.ALREADY_COVERED),
    ]


def test_a_program_that_granted_nothing_does_not_block_the_next() -> None:
    empty = program(1, priority=1)
    next_one = program(2, "0.3", priority=2)
    programs = [(empty, standing(budget_left_fen=0)), (next_one, standing())]
    assert granted(grant_invoice(programs, [line()], ON)) == [
        (1, "a", 0, CappedBy.BUDGET),
        (2, "a", 3_000, CappedBy.NONE),
    ]


# Qualifying purchases ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qualifying", "met"),
    [
        (ANY_PURCHASE, True),
        (replace(ANY_PURCHASE, category_ids=frozenset({9})), True),
        (replace(ANY_PURCHASE, category_ids=frozenset({4})), False),
        (replace(ANY_PURCHASE, listing_ids=frozenset({3, 30})), True),
        (replace(ANY_PURCHASE, listing_ids=frozenset({30})), False),
        (replace(ANY_PURCHASE, vendor_ids=frozenset({7})), True),
        (replace(ANY_PURCHASE, vendor_ids=frozenset({70})), False),
        (Qualifying(frozenset({5}), frozenset({3}), frozenset({70}), 0), False),
    ],
)
def test_a_line_qualifies_by_category_listing_and_vendor(qualifying: Qualifying, met: bool) -> None:
    purchase = line(category_ids=frozenset({5, 9}), listing_id=3, vendor_id=7)
    expected = (5_000, CappedBy.NONE) if met else (0, CappedBy.NOT_QUALIFYING)
    assert grant_one(program(qualifying=qualifying), [purchase]) == [expected]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (9_999, (0, CappedBy.BELOW_MINIMUM)),
        (10_000, (5_000, CappedBy.NONE)),
        (10_001, (5_000, CappedBy.NONE)),
    ],
)
def test_a_line_below_the_minimum_amount_gets_nothing(
    amount: int, expected: tuple[int, CappedBy]
) -> None:
    rules = program(qualifying=replace(ANY_PURCHASE, min_amount_fen=10_000))
    assert grant_one(rules, [line(amount_fen=amount)]) == [expected]


@pytest.mark.parametrize(
    ("on", "inside"),
    [
        (date(2025, 2, 28), False),
        (date(2025, 3, 1), True),
        (date(2025, 3, 2), True),
        (date(2025, 9, 29), True),
        (date(2025, 9, 30), True),
        (date(2025, 10, 1), False),
    ],
)
def test_only_invoices_finalized_inside_the_window_qualify(on: date, inside: bool) -> None:
    rules = program(invoices_from=date(2025, 3, 1), invoices_until=date(2025, 9, 30))
    lines = [line("a"), line("b", amount_fen=300)]
    expected = (
        [(5_000, CappedBy.NONE), (150, CappedBy.NONE)]
        if inside
        else [(0, CappedBy.OUT_OF_WINDOW), (0, CappedBy.OUT_OF_WINDOW)]
    )
    assert grant_one(rules, lines, on) == expected


def test_lines_draw_in_the_order_given() -> None:
    small, large = line("small", 2_000), line("large", 20_000)
    assert grant_one(program(), [small, large], budget_left_fen=6_000) == [
        (1_000, CappedBy.NONE),
        (5_000, CappedBy.BUDGET),
    ]
    assert grant_one(program(), [large, small], budget_left_fen=6_000) == [
        (6_000, CappedBy.BUDGET),
        (0, CappedBy.BUDGET),
    ]


# Budget alerts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "alerts"),
    [
        (0, 7_999, ()),
        (0, 8_000, (80,)),
        (7_999, 8_000, (80,)),
        (8_000, 9_000, ()),
        (7_000, 10_000, (80, 100)),
        (9_999, 10_000, (100,)),
        (10_000, 12_000, ()),
        (9_000, 7_000, ()),
        (8_000, 8_000, ()),
    ],
)
def test_budget_alerts_fire_once_when_80_and_100_percent_are_crossed(
    before: int, after: int, alerts: tuple[int, ...]
) -> None:
    assert budget_alerts(10_000, before, after) == alerts


def test_a_budget_that_does_not_divide_evenly_alerts_at_the_exact_share() -> None:
    # 80% of 333 fen is 266.4 fen: 266 is below it, 267 past it.
    assert budget_alerts(333, 0, 266) == ()
    assert budget_alerts(333, 0, 267) == (80,)


def test_an_empty_budget_never_alerts() -> None:
    assert budget_alerts(0, 0, 0) == ()


# Three real program shapes -----------------------------------------------------------------


def test_half_the_bill_up_to_2000_yuan_a_firm_for_first_time_sme_buyers() -> None:
    vouchers = program(
        rate="0.5",
        caps=Caps(None, yuan(2_000), None, None),
        eligibility=Eligibility(first_time_buyers_only=True),
    )
    assert unmet_rules(vouchers.eligibility, firm(size_class="micro"), ON) == ()
    assert unmet_rules(vouchers.eligibility, firm(size_class="large"), ON) == (Unmet.SIZE,)
    returning = firm(had_paid_cloud_invoice_before=True)
    assert unmet_rules(vouchers.eligibility, returning, ON) == (Unmet.NOT_FIRST_TIME,)
    bill = [line(amount_fen=yuan(3_000))]
    # ¥3,000 bill: 50% = ¥1,500, under the ¥2,000 firm cap.
    assert grant_one(vouchers, bill) == [(yuan(1_500), CappedBy.NONE)]
    # Next ¥3,000 bill: 50% = ¥1,500, but only ¥2,000 − ¥1,500 = ¥500 is left.
    assert grant_one(vouchers, bill, firm_used_fen=yuan(1_500)) == [(yuan(500), CappedBy.PER_FIRM)]
    # The cap is reached: nothing more.
    assert grant_one(vouchers, bill, firm_used_fen=yuan(2_000)) == [(0, CappedBy.PER_FIRM)]


def test_40_percent_iaas_60_percent_saas_with_a_larger_first_claim() -> None:
    layered = program(
        rate_steps=(
            RateStep(
                date(2025, 1, 1), Decimal("0.6"), {Layer.IAAS: Decimal("0.4")}
            ),  # PaaS and SaaS: 60%
        ),
        caps=Caps(None, None, yuan(50_000), yuan(30_000)),
    )
    first_bill = [
        line("vm", yuan(100_000), layer=Layer.IAAS),
        line("crm", yuan(20_000), layer=Layer.SAAS),
    ]
    # First claim: 40% × ¥100,000 = ¥40,000; 60% × ¥20,000 = ¥12,000 would make ¥52,000,
    # over the ¥50,000 first-claim cap, so the SaaS line gets ¥10,000.
    assert grant_one(layered, first_bill) == [
        (yuan(40_000), CappedBy.NONE),
        (yuan(10_000), CappedBy.CLAIM),
    ]
    later_bill = [
        line("vm", yuan(50_000), layer=Layer.IAAS),
        line("crm", yuan(25_000), layer=Layer.SAAS),
    ]
    # Later claim: ¥20,000 + ¥15,000 = ¥35,000 is over ¥30,000: SaaS gets ¥10,000.
    assert grant_one(layered, later_bill, firm_claims=1, firm_used_fen=yuan(50_000)) == [
        (yuan(20_000), CappedBy.NONE),
        (yuan(10_000), CappedBy.CLAIM),
    ]
    # A small later bill stays under the cap: 40% × ¥1,000 + 60% × ¥500 = ¥700.
    small_bill = [
        line("vm", yuan(1_000), layer=Layer.IAAS),
        line("crm", yuan(500), layer=Layer.SAAS),
    ]
    assert grant_one(layered, small_bill, firm_claims=2) == [
        (yuan(400), CappedBy.NONE),
        (yuan(300), CappedBy.NONE),
    ]


def carry_forward(
    pool: Standing, grants: tuple[LineGrant, ...], lines: list[LineFacts]
) -> Standing:
    """Return the program's standing after an invoice's grants are reserved."""
    vendor_of = {item.line_key: item.vendor_id for item in lines}
    quota_left = dict(pool.vendor_quota_left_fen)
    for grant in grants:
        vendor_id = vendor_of[grant.line_key]
        if vendor_id in quota_left:
            quota_left[vendor_id] -= grant.amount_fen
    spent = sum(grant.amount_fen for grant in grants)
    return replace(
        pool, budget_left_fen=pool.budget_left_fen - spent, vendor_quota_left_fen=quota_left
    )


def test_a_fixed_budget_first_come_first_served_with_vendor_sub_quotas() -> None:
    # ¥100,000 in all at 50%: vendor 1 has ¥30,000 of it, vendor 2 ¥20,000, and every
    # other vendor shares the remaining ¥50,000. Invoices arrive in finalization order.
    fund = program(
        rate="0.5", budget_fen=yuan(100_000), vendor_quotas_fen={1: yuan(30_000), 2: yuan(20_000)}
    )
    pool = standing(
        budget_left_fen=yuan(100_000), vendor_quota_left_fen={1: yuan(30_000), 2: yuan(20_000)}
    )
    invoices: list[tuple[list[LineFacts], list[tuple[int, CappedBy]], tuple[int, ...]]] = [
        # Firm A, vendor 1, ¥40,000: ¥20,000 (vendor 1 has ¥10,000 left; ¥20,000 used).
        ([line("a", yuan(40_000), vendor_id=1)], [(yuan(20_000), CappedBy.NONE)], ()),
        # Firm B, vendor 1, ¥30,000: 50% is ¥15,000, vendor 1's quota stops it at ¥10,000.
        ([line("b", yuan(30_000), vendor_id=1)], [(yuan(10_000), CappedBy.VENDOR_QUOTA)], ()),
        # Firm C, vendor 3, ¥120,000: 50% is ¥60,000; ¥70,000 is left but ¥20,000 of it is
        # vendor 2's, so the shared pool gives ¥50,000. Used: ¥30,000 → ¥80,000 (80%).
        ([line("c", yuan(120_000), vendor_id=3)], [(yuan(50_000), CappedBy.BUDGET)], (80,)),
        # Firm D: vendor 3 gets nothing (shared pool empty), vendor 2 gets its ¥5,000.
        (
            [line("d3", yuan(10_000), vendor_id=3), line("d2", yuan(10_000), vendor_id=2)],
            [(0, CappedBy.BUDGET), (yuan(5_000), CappedBy.NONE)],
            (),
        ),
        # Firm E, vendor 2, ¥40,000: 50% is ¥20,000, ¥15,000 of quota is left → 100% used.
        ([line("e", yuan(40_000), vendor_id=2)], [(yuan(15_000), CappedBy.VENDOR_QUOTA)], (100,)),
        # Firm F, vendor 1: the quota and the budget are spent.
        ([line("f", yuan(2_000), vendor_id=1)], [(0, CappedBy.VENDOR_QUOTA)], ()),
    ]
    used = 0
    for lines, expected, alerts in invoices:
        grants = grant_invoice([(fund, pool)], lines, ON)
        assert [(g.amount_fen, g.capped_by) for g in grants] == expected
        spent = sum(g.amount_fen for g in grants)
        assert budget_alerts(fund.budget_fen, used, used + spent) == alerts
        used += spent
        pool = carry_forward(pool, grants, lines)
    assert used == fund.budget_fen
    assert pool.budget_left_fen == 0
    assert pool.vendor_quota_left_fen == {1: 0, 2: 0}
