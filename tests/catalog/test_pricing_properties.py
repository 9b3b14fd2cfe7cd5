"""Properties of the price calculator, checked against a plain reference calculator."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from catalog.pricing import (
    Aggregation,
    MeteredPrice,
    PlanPrice,
    PriceModel,
    Tier,
    aggregate,
    quote,
    rate_metered,
)
from tests.catalog import reference
from tests.catalog.strategies import (
    fractional_quantities,
    metered_prices,
    plan_prices,
    quantities,
    seats_within,
    whole_quantities,
)

NOT_VOLUME = (PriceModel.PER_UNIT, PriceModel.GRADUATED, PriceModel.PACKAGE)
UNTIERED = (PriceModel.PER_UNIT, PriceModel.PACKAGE)


def near_tier_bounds(price: MeteredPrice) -> st.SearchStrategy[Decimal]:
    """Draw usage at, just below or just above a tier bound, past the included quantity."""
    bounds = [tier.up_to for tier in price.tiers if tier.up_to is not None]
    if not bounds:
        return whole_quantities
    return st.builds(
        lambda bound, step: max(bound + price.included_quantity + step, Decimal(0)),
        st.sampled_from(bounds),
        st.sampled_from([Decimal(-1), Decimal(0), Decimal(1)]),
    )


@given(metered_prices(), whole_quantities)
def test_every_model_agrees_with_the_reference_on_whole_units(
    price: MeteredPrice, quantity: Decimal
) -> None:
    assert rate_metered(price, quantity) == reference.rate(price, quantity)


@given(metered_prices(models=(PriceModel.GRADUATED, PriceModel.VOLUME)), st.data())
def test_tiers_agree_with_the_reference_at_their_bounds(
    price: MeteredPrice, data: st.DataObject
) -> None:
    quantity = data.draw(near_tier_bounds(price), label="quantity")
    assert rate_metered(price, quantity) == reference.rate(price, quantity)


@given(st.integers(0, 10_000), st.integers(0, 5_000).map(lambda n: 2 * n + 1))
def test_an_exact_half_fen_always_rounds_up(whole: int, odd_unit_fen: int) -> None:
    price = MeteredPrice("x", Aggregation.SUM, PriceModel.PER_UNIT, unit_fen=odd_unit_fen)
    quantity = Decimal(whole) + Decimal("0.5")
    assert rate_metered(price, quantity) == reference.rate(price, quantity)
    assert rate_metered(price, quantity) == (2 * whole + 1) * odd_unit_fen // 2 + 1


@given(metered_prices(models=UNTIERED), fractional_quantities)
def test_per_unit_and_package_agree_with_the_reference_on_fractions(
    price: MeteredPrice, quantity: Decimal
) -> None:
    assert rate_metered(price, quantity) == reference.rate(price, quantity)


@given(metered_prices(models=NOT_VOLUME, whole=False), quantities, quantities)
def test_more_usage_never_costs_less_except_under_volume_pricing(
    price: MeteredPrice, first: Decimal, second: Decimal
) -> None:
    low, high = sorted((first, second))
    assert rate_metered(price, low) <= rate_metered(price, high)


@given(metered_prices(whole=False), quantities)
def test_a_rated_amount_is_never_negative(price: MeteredPrice, quantity: Decimal) -> None:
    assert rate_metered(price, quantity) >= 0


@given(metered_prices(whole=False), quantities)
def test_usage_within_the_included_quantity_is_free(price: MeteredPrice, quantity: Decimal) -> None:
    assert rate_metered(price, min(quantity, price.included_quantity)) == 0


@given(st.integers(0, 100_000), st.integers(0, 10_000), quantities)
def test_one_unbounded_tier_prices_like_per_unit_plus_its_flat_fee(
    unit_fen: int, flat_fen: int, quantity: Decimal
) -> None:
    tiers = (Tier(None, unit_fen, flat_fen),)
    per_unit = MeteredPrice("x", Aggregation.SUM, PriceModel.PER_UNIT, unit_fen=unit_fen)
    flat = flat_fen if quantity > 0 else 0
    for model in (PriceModel.GRADUATED, PriceModel.VOLUME):
        tiered = MeteredPrice("x", Aggregation.SUM, model, tiers=tiers)
        assert rate_metered(tiered, quantity) == rate_metered(per_unit, quantity) + flat


@given(plan_prices().flatmap(lambda plan: st.tuples(st.just(plan), seats_within(plan))), st.data())
def test_a_quote_totals_its_lines_and_agrees_with_the_reference(
    plan_and_seats: tuple[PlanPrice, int], data: st.DataObject
) -> None:
    plan, seats = plan_and_seats
    usage = {price.dimension: data.draw(whole_quantities) for price in plan.metered}
    result = quote(plan, seats, usage)
    assert result.total_fen == sum(line.amount_fen for line in result.lines)
    assert result.total_fen == reference.total(plan, seats, usage)
    assert len(result.lines) == len(plan.components)


@given(st.lists(st.decimals(0, 1000, places=3)))
def test_sum_and_max_bound_each_other(records: list[Decimal]) -> None:
    total = aggregate(Aggregation.SUM, records)
    peak = aggregate(Aggregation.MAX, records)
    assert peak <= total <= peak * len(records)


@given(st.lists(st.sampled_from(["alice", "bob", "carol", "dan"])))
def test_unique_counts_never_exceed_the_records(records: list[str]) -> None:
    assert aggregate(Aggregation.UNIQUE, records) <= min(len(records), 4)
