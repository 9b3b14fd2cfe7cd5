"""The lines of a boundary invoice, built from plain values, and their totals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing import models
from billing.invoicing import (
    AdvanceFees,
    BoundaryInputs,
    LineKind,
    LineValues,
    PendingChargeInput,
    UsageCharges,
    UsageTotals,
    boundary_lines,
    totals,
    usage_line,
)
from billing.periods import Period
from billing.tax import split_inclusive
from catalog.pricing import (
    Aggregation,
    FlatFee,
    MeteredPrice,
    PlanPrice,
    PriceModel,
    SeatFee,
    Tier,
    rate_metered,
)

D = Decimal
START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
USED = Period(START, datetime(2026, 4, 2, 1, 30, tzinfo=UTC))
NEXT = Period(USED.end, datetime(2026, 5, 2, 1, 30, tzinfo=UTC))
TIERS = (Tier(D(100), 10), Tier(D(1000), 5, 200), Tier(None, 2))
BOUNDS = [D(100), D(1000)]

rates = st.sampled_from([D("0.06"), D("0.09"), D("0.13"), D(0), D("0.0600")])
amounts = st.integers(min_value=-(10**9), max_value=10**9)
quantities = st.decimals(min_value=0, max_value=10**7, places=3, allow_nan=False)


def metered(model: PriceModel, aggregation: Aggregation = Aggregation.SUM) -> MeteredPrice:
    """Return a dimension priced with the shared tiers (or per unit, or by the package)."""
    if model in (PriceModel.GRADUATED, PriceModel.VOLUME):
        return MeteredPrice("calls", aggregation, model, tiers=TIERS)
    if model == PriceModel.PACKAGE:
        return MeteredPrice("calls", aggregation, model, package_size=100, package_fen=500)
    return MeteredPrice("calls", aggregation, model, unit_fen=7)


charges = st.lists(
    st.builds(
        PendingChargeInput, st.sampled_from(["unused_time", "seats_added"]), st.just(D(1)), amounts
    ),
    max_size=4,
)


@st.composite
def boundary_inputs(draw: st.DrawFn) -> BoundaryInputs:
    """Draw the inputs of any boundary invoice."""
    price = PlanPrice(
        (
            FlatFee(draw(st.integers(0, 10**7))),
            SeatFee(draw(st.integers(0, 10**6)), 0),
            metered(draw(st.sampled_from(list(PriceModel)))),
        )
    )
    seats = draw(st.integers(0, 500))
    advance = AdvanceFees(price, seats, NEXT) if draw(st.booleans()) else None
    usage = None
    if draw(st.booleans()):
        used = UsageTotals(draw(quantities), draw(quantities), draw(st.integers(0, 10**5)))
        usage = UsageCharges(price, USED, {"calls": used})
    return BoundaryInputs(advance, usage, draw(charges), draw(rates))


@given(boundary_inputs())
def test_totals_are_the_sums_of_the_lines(inputs: BoundaryInputs) -> None:
    lines = boundary_lines(inputs)
    sums = totals(lines)

    assert sums.total_fen == sum(line.amount_fen for line in lines) == sums.subtotal_fen
    assert sums.tax_fen == sum(line.tax_fen for line in lines)
    assert sums.amount_due_fen == max(sums.total_fen, 0)
    assert sums.amount_due_fen + sums.carried_credit_fen == sums.total_fen


@given(boundary_inputs())
def test_each_lines_tax_is_the_vat_inside_its_amount(inputs: BoundaryInputs) -> None:
    for line in boundary_lines(inputs):
        assert line.tax_fen == split_inclusive(line.amount_fen, inputs.vat_rate).tax_fen


@given(
    st.sampled_from(list(PriceModel)),
    st.sampled_from(list(Aggregation)),
    quantities,
    quantities,
    st.integers(0, 10**5),
)
def test_a_usage_line_is_what_the_catalog_rates(
    model: PriceModel, aggregation: Aggregation, total: Decimal, peak: Decimal, distinct: int
) -> None:
    price = metered(model, aggregation)
    used = UsageTotals(total, peak, distinct)

    line = usage_line(price, used, USED, D("0.06"))

    expected = {Aggregation.SUM: total, Aggregation.MAX: peak, Aggregation.UNIQUE: D(distinct)}
    assert line.quantity == expected[aggregation]
    assert line.amount_fen == rate_metered(price, expected[aggregation])
    assert (line.kind, line.dimension) == (LineKind.USAGE, "calls")
    assert (line.period_start, line.period_end) == (USED.start, USED.end)


def _amount(model: PriceModel, quantity: Decimal) -> int:
    return usage_line(metered(model), UsageTotals(total=quantity), USED, D("0.06")).amount_fen


def test_graduated_and_volume_at_one_below_and_one_above_every_bound() -> None:
    graduated = {q: _amount(PriceModel.GRADUATED, q) for b in BOUNDS for q in (b - 1, b, b + 1)}
    volume = {q: _amount(PriceModel.VOLUME, q) for b in BOUNDS for q in (b - 1, b, b + 1)}

    # Graduated: 10 fen each up to 100; from 101, 5 fen each and ¥2 once; from 1001, 2 fen.
    assert graduated == {
        D(99): 990,
        D(100): 1000,
        D(101): 1000 + 5 + 200,
        D(999): 1000 + 899 * 5 + 200,
        D(1000): 1000 + 900 * 5 + 200,
        D(1001): 1000 + 900 * 5 + 200 + 2,
    }
    # Volume: every unit at the price of the tier the total reaches (and that tier's flat).
    assert volume == {
        D(99): 990,
        D(100): 1000,
        D(101): 101 * 5 + 200,
        D(999): 999 * 5 + 200,
        D(1000): 1000 * 5 + 200,
        D(1001): 1001 * 2,
    }


@given(st.sampled_from(BOUNDS), st.sampled_from([PriceModel.GRADUATED, PriceModel.VOLUME]))
def test_usage_lines_match_the_catalog_around_each_bound(bound: Decimal, model: PriceModel) -> None:
    for quantity in (bound - 1, bound, bound + 1):
        assert _amount(model, quantity) == rate_metered(metered(model), quantity)


def test_lines_come_in_order_fees_then_prorations_then_usage() -> None:
    price = PlanPrice((FlatFee(10000), SeatFee(3000, 1), metered(PriceModel.PER_UNIT)))
    inputs = BoundaryInputs(
        AdvanceFees(price, 3, NEXT, plan_id=7),
        UsageCharges(price, USED, {"calls": UsageTotals(total=D(10))}, plan_id=6),
        [PendingChargeInput("unused_time", D(1), -8806, START, USED.end, 6)],
    )

    lines = boundary_lines(inputs)

    assert lines == [
        LineValues(
            LineKind.RECURRING, "recurring_fee", D(1), 10000, 566, None, NEXT.start, NEXT.end, 7
        ),
        LineValues(LineKind.SEATS, "seats", D(3), 9000, 509, None, NEXT.start, NEXT.end, 7),
        LineValues(LineKind.PRORATION, "unused_time", D(1), -8806, -498, None, START, USED.end, 6),
        LineValues(LineKind.USAGE, "usage", D(10), 70, 4, "calls", USED.start, USED.end, 6),
    ]


def test_nothing_in_advance_and_no_usage_makes_no_lines() -> None:
    assert boundary_lines(BoundaryInputs()) == []
    assert totals([]) == totals(boundary_lines(BoundaryInputs()))


def test_a_plan_without_a_flat_fee_or_seats_bills_no_such_lines() -> None:
    price = PlanPrice((metered(PriceModel.PER_UNIT),))

    assert boundary_lines(BoundaryInputs(AdvanceFees(price, 0, NEXT))) == []


def test_subsidy_lines_count_in_the_total_but_not_the_subtotal() -> None:
    charge = LineValues(LineKind.RECURRING, "recurring_fee", D(1), 10000, 566)
    subsidy = LineValues(LineKind.SUBSIDY, "park_subsidy", D(1), -3000, 0)

    sums = totals([charge, subsidy])

    assert (sums.subtotal_fen, sums.total_fen, sums.amount_due_fen) == (10000, 7000, 7000)


def test_a_credit_larger_than_the_charges_leaves_nothing_due_and_carries_the_rest() -> None:
    credit = LineValues(LineKind.PRORATION, "seats_removed", D(4), -8129, -460)

    sums = totals([credit, LineValues(LineKind.USAGE, "usage", D(1), 129, 7)])

    assert (sums.total_fen, sums.amount_due_fen, sums.carried_credit_fen) == (-8000, 0, -8000)


def test_the_line_kinds_are_the_ones_the_database_accepts() -> None:
    assert [k.value for k in LineKind] == [k.value for k in models.LineKind]


def test_an_advance_period_is_billed_whole_whatever_its_length() -> None:
    price = PlanPrice((FlatFee(10000),))
    short = Period(START, START + timedelta(days=28))

    [line] = boundary_lines(BoundaryInputs(AdvanceFees(price, 0, short)))

    assert (line.amount_fen, line.period_end) == (10000, short.end)
