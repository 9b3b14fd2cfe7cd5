"""Worked examples of the price calculator, model by model."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.pricing import (
    Aggregation,
    ComponentKind,
    FlatFee,
    MeteredPrice,
    PlanPrice,
    PriceModel,
    PriceStructureError,
    QuoteInputError,
    QuoteLine,
    SeatFee,
    Tier,
    aggregate,
    quote,
    rate_metered,
)

D = Decimal
# The Stripe documentation's example: up to 5 at ¥5.00, up to 10 at ¥4.00, above at ¥3.00.
STRIPE_TIERS = (Tier(D(5), 500), Tier(D(10), 400), Tier(None, 300))


def metered(model: PriceModel, **fields: object) -> MeteredPrice:
    """Return a metered price on api_calls summed over the period."""
    return MeteredPrice("api_calls", Aggregation.SUM, model, **fields)


def rate(price: MeteredPrice, quantity: str | int) -> int:
    """Rate a quantity written as text or an integer."""
    return rate_metered(price, D(quantity))


class TestAggregate:
    def test_sum_adds_every_record(self) -> None:
        assert aggregate(Aggregation.SUM, [D("1.5"), 2, "0.25"]) == D("3.75")

    def test_max_takes_the_largest_record(self) -> None:
        assert aggregate(Aggregation.MAX, [D(3), D(7), D(5)]) == D(7)

    def test_unique_counts_distinct_values(self) -> None:
        assert aggregate(Aggregation.UNIQUE, ["alice", "bob", "alice", "carol"]) == D(3)

    @pytest.mark.parametrize("aggregation", list(Aggregation))
    def test_no_records_aggregate_to_zero(self, aggregation: Aggregation) -> None:
        assert aggregate(aggregation, []) == D(0)


class TestPerUnit:
    def test_each_unit_costs_the_unit_price(self) -> None:
        assert rate(metered(PriceModel.PER_UNIT, unit_fen=2), 1500) == 3000

    def test_half_a_gigabyte_rounds_half_up_to_the_fen(self) -> None:
        assert rate(metered(PriceModel.PER_UNIT, unit_fen=99), "0.5") == 50

    def test_an_exact_half_fen_rounds_up_not_to_even(self) -> None:
        assert rate(metered(PriceModel.PER_UNIT, unit_fen=5), "0.5") == 3
        assert rate(metered(PriceModel.PER_UNIT, unit_fen=1), "2.5") == 3

    def test_the_included_quantity_is_free(self) -> None:
        price = metered(PriceModel.PER_UNIT, unit_fen=2, included_quantity=D(1000))
        assert rate(price, 800) == 0
        assert rate(price, 1000) == 0
        assert rate(price, 1500) == 1000


class TestGraduated:
    def test_the_stripe_example_prices_12_units_at_5100_fen(self) -> None:
        assert rate(metered(PriceModel.GRADUATED, tiers=STRIPE_TIERS), 12) == 5100

    @pytest.mark.parametrize(("units", "fen"), [(0, 0), (1, 500), (5, 2500), (6, 2900)])
    def test_each_unit_is_priced_in_its_own_tier(self, units: int, fen: int) -> None:
        assert rate(metered(PriceModel.GRADUATED, tiers=STRIPE_TIERS), units) == fen

    def test_a_tier_flat_fee_is_charged_once_a_unit_enters_the_tier(self) -> None:
        tiers = (Tier(D(5), 500, 1000), Tier(D(10), 400, 500), Tier(None, 300, 200))
        price = metered(PriceModel.GRADUATED, tiers=tiers)
        assert rate(price, 3) == 3 * 500 + 1000
        assert rate(price, 7) == 5 * 500 + 1000 + 2 * 400 + 500
        assert rate(price, 0) == 0

    def test_rounding_happens_once_for_the_line_not_per_tier(self) -> None:
        # Per tier, 0.5 fen + 0.5 fen would round to 1 + 1; the line is exactly 1 fen.
        tiers = (Tier(D("0.5"), 1), Tier(None, 1))
        assert rate(metered(PriceModel.GRADUATED, tiers=tiers), 1) == 1

    def test_tiers_apply_to_usage_beyond_the_included_quantity(self) -> None:
        price = metered(PriceModel.GRADUATED, tiers=STRIPE_TIERS, included_quantity=D(10))
        assert rate(price, 22) == 5100


class TestVolume:
    @pytest.mark.parametrize(("units", "fen"), [(0, 0), (5, 2500), (6, 2400), (12, 3600)])
    def test_every_unit_costs_the_price_of_the_tier_reached(self, units: int, fen: int) -> None:
        assert rate(metered(PriceModel.VOLUME, tiers=STRIPE_TIERS), units) == fen

    def test_the_reached_tier_adds_its_flat_fee(self) -> None:
        tiers = (Tier(D(10), 100, 1000), Tier(None, 50, 3000))
        price = metered(PriceModel.VOLUME, tiers=tiers)
        assert rate(price, 10) == 2000
        assert rate(price, 11) == 3550

    def test_crossing_into_a_cheaper_tier_can_lower_the_price(self) -> None:
        price = metered(PriceModel.VOLUME, tiers=STRIPE_TIERS)
        assert rate(price, 10) == 4000
        assert rate(price, 11) == 3300

    def test_fractional_usage_rounds_half_up(self) -> None:
        price = metered(PriceModel.VOLUME, tiers=(Tier(D(1), 3), Tier(None, 1)))
        assert rate(price, "0.5") == 2


class TestPackage:
    @pytest.mark.parametrize(("calls", "fen"), [(0, 0), (1, 500), (1000, 500), (1001, 1000)])
    def test_whole_packages_are_charged_rounding_up(self, calls: int, fen: int) -> None:
        price = metered(PriceModel.PACKAGE, package_size=1000, package_fen=500)
        assert rate(price, calls) == fen

    def test_packages_are_counted_after_the_included_quantity(self) -> None:
        price = metered(
            PriceModel.PACKAGE, package_size=1000, package_fen=500, included_quantity=D(500)
        )
        assert rate(price, 1500) == 500
        assert rate(price, "1500.5") == 1000


class TestRatingRefuses:
    def test_negative_usage_naming_the_dimension(self) -> None:
        with pytest.raises(QuoteInputError) as caught:
            rate(metered(PriceModel.PER_UNIT, unit_fen=1), -1)
        assert caught.value.field == "api_calls"

    def test_usage_that_is_not_a_number(self) -> None:
        with pytest.raises(QuoteInputError, match="finite"):
            rate_metered(metered(PriceModel.PER_UNIT, unit_fen=1), D("NaN"))


class TestPriceStructureRefuses:
    @pytest.mark.parametrize(
        ("tiers", "reason"),
        [
            ((), "at least one tier"),
            ((Tier(D(5), 1),), "last tier must have no upper bound"),
            ((Tier(None, 1), Tier(None, 1)), "only the last tier"),
            ((Tier(D(10), 1), Tier(D(5), 1), Tier(None, 1)), "must increase"),
            ((Tier(D(5), 1), Tier(D(5), 1), Tier(None, 1)), "must increase"),
        ],
    )
    def test_tiers_out_of_shape(self, tiers: tuple[Tier, ...], reason: str) -> None:
        with pytest.raises(PriceStructureError, match=reason) as caught:
            metered(PriceModel.GRADUATED, tiers=tiers)
        assert caught.value.field == "tiers"

    def test_a_tier_bound_of_zero(self) -> None:
        with pytest.raises(PriceStructureError, match="up_to"):
            Tier(D(0), 1)

    @pytest.mark.parametrize(
        ("fields", "field"),
        [
            ({"package_size": 0, "package_fen": 1}, "package_size"),
            ({"package_size": 1000}, "package_fen"),
            ({"package_size": 1000, "package_fen": -1}, "package_fen"),
        ],
    )
    def test_a_package_without_size_or_price(self, fields: dict[str, int], field: str) -> None:
        with pytest.raises(PriceStructureError) as caught:
            metered(PriceModel.PACKAGE, **fields)
        assert caught.value.field == field

    def test_per_unit_without_a_unit_price(self) -> None:
        with pytest.raises(PriceStructureError, match="unit_fen"):
            metered(PriceModel.PER_UNIT)

    def test_a_negative_included_quantity(self) -> None:
        with pytest.raises(PriceStructureError, match="included_quantity"):
            metered(PriceModel.PER_UNIT, unit_fen=1, included_quantity=D(-1))

    def test_negative_amounts(self) -> None:
        with pytest.raises(PriceStructureError, match="amount_fen"):
            FlatFee(-1)
        with pytest.raises(PriceStructureError, match="unit_fen"):
            SeatFee(-1)
        with pytest.raises(PriceStructureError, match="flat_fen"):
            Tier(None, 1, -1)

    def test_a_seat_maximum_below_the_minimum(self) -> None:
        with pytest.raises(PriceStructureError, match="max_seats"):
            SeatFee(100, min_seats=5, max_seats=4)

    def test_one_dimension_priced_twice(self) -> None:
        price = metered(PriceModel.PER_UNIT, unit_fen=1)
        with pytest.raises(PriceStructureError, match="dimension"):
            PlanPrice((price, price))


TEAM_PLAN = PlanPrice(
    (
        FlatFee(9900),
        SeatFee(3000, min_seats=3, max_seats=50),
        metered(PriceModel.PACKAGE, package_size=1000, package_fen=500, included_quantity=D(10000)),
        MeteredPrice(
            "storage_gb", Aggregation.MAX, PriceModel.PER_UNIT, unit_fen=99, included_quantity=D(5)
        ),
    )
)


class TestQuote:
    def test_a_plan_is_quoted_line_by_line_with_a_total(self) -> None:
        result = quote(TEAM_PLAN, seats=5, usage={"api_calls": D(12500), "storage_gb": D("7.5")})
        assert result.lines == (
            QuoteLine(ComponentKind.FLAT, "flat", D(1), 9900),
            QuoteLine(ComponentKind.SEAT, "seats", D(5), 15000),
            QuoteLine(ComponentKind.METERED, "api_calls", D(12500), 1500),
            QuoteLine(ComponentKind.METERED, "storage_gb", D("7.5"), 248),
        )
        assert result.total_fen == 9900 + 15000 + 1500 + 248

    def test_dimensions_without_usage_cost_nothing(self) -> None:
        result = quote(TEAM_PLAN, seats=3)
        assert [line.amount_fen for line in result.lines] == [9900, 9000, 0, 0]
        assert result.total_fen == 18900

    def test_a_plan_without_seat_fees_ignores_seats(self) -> None:
        assert quote(PlanPrice((FlatFee(100),)), seats=0).total_fen == 100

    @pytest.mark.parametrize(("seats", "reason"), [(2, "at least 3"), (51, "at most 50")])
    def test_seats_outside_the_plan_bounds_are_refused(self, seats: int, reason: str) -> None:
        with pytest.raises(QuoteInputError, match=reason) as caught:
            quote(TEAM_PLAN, seats=seats)
        assert caught.value.field == "seats"
        assert isinstance(caught.value, ValueError)

    def test_negative_seats_are_refused_even_without_a_seat_fee(self) -> None:
        with pytest.raises(QuoteInputError) as caught:
            quote(PlanPrice((FlatFee(100),)), seats=-1)
        assert caught.value.field == "seats"

    def test_usage_of_a_dimension_the_plan_does_not_meter_is_refused(self) -> None:
        with pytest.raises(QuoteInputError, match="not metered") as caught:
            quote(TEAM_PLAN, seats=3, usage={"sms": D(1)})
        assert caught.value.field == "sms"

    def test_negative_usage_is_refused_naming_the_dimension(self) -> None:
        with pytest.raises(QuoteInputError) as caught:
            quote(TEAM_PLAN, seats=3, usage={"storage_gb": D(-1)})
        assert caught.value.field == "storage_gb"


def test_the_largest_stored_usage_is_rated_exactly_beyond_decimals_default_precision() -> None:
    quantity = D("99999999999999.999999")  # the most Numeric(20, 6) holds
    price = metered(PriceModel.PER_UNIT, unit_fen=9_000_000_000_000_000_001)
    assert rate_metered(price, quantity) == 900000000000000000091000000000000
