"""Hypothesis strategies for price structures, seats and usage."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from catalog.pricing import (
    Aggregation,
    FlatFee,
    MeteredPrice,
    PlanPrice,
    PriceModel,
    SeatFee,
    Tier,
)

fen = st.integers(min_value=0, max_value=100_000)
whole_quantities = st.integers(min_value=0, max_value=300).map(Decimal)
# Numeric(20, 6) keeps six places; usage here keeps three so sums stay exact.
fractional_quantities = st.decimals(min_value=0, max_value=300, places=3)
quantities = st.one_of(whole_quantities, fractional_quantities)


@st.composite
def tier_lists(draw: st.DrawFn, whole: bool = True) -> tuple[Tier, ...]:
    """Draw ascending tiers ending in one without an upper bound."""
    count = draw(st.integers(min_value=0, max_value=4))
    bound = (
        st.integers(min_value=1, max_value=200) if whole else st.decimals("0.001", 200, places=3)
    )
    bounds = sorted(set(draw(st.lists(bound, min_size=count, max_size=count))))
    ups: list[Decimal | None] = [Decimal(b) for b in bounds]
    ups.append(None)
    return tuple(Tier(up, draw(fen), draw(st.sampled_from([0, 0, 100, 1_000]))) for up in ups)


@st.composite
def metered_prices(
    draw: st.DrawFn,
    dimension: str = "api_calls",
    models: tuple[PriceModel, ...] = tuple(PriceModel),
    whole: bool = True,
) -> MeteredPrice:
    """Draw a metered price of one of the given models."""
    model = draw(st.sampled_from(models))
    included = draw(st.just(Decimal(0)) | (whole_quantities if whole else quantities))
    return MeteredPrice(
        dimension=dimension,
        aggregation=draw(st.sampled_from(Aggregation)),
        model=model,
        unit_fen=draw(fen) if model == PriceModel.PER_UNIT else None,
        tiers=draw(tier_lists(whole)) if model in (PriceModel.GRADUATED, PriceModel.VOLUME) else (),
        package_size=draw(st.integers(1, 1_000)) if model == PriceModel.PACKAGE else None,
        package_fen=draw(fen) if model == PriceModel.PACKAGE else None,
        included_quantity=included,
    )


@st.composite
def seat_fees(draw: st.DrawFn) -> SeatFee:
    """Draw a seat fee with bounds, the maximum sometimes open."""
    low = draw(st.integers(min_value=0, max_value=20))
    high = draw(st.none() | st.integers(min_value=low, max_value=low + 50))
    return SeatFee(draw(fen), low, high)


@st.composite
def plan_prices(draw: st.DrawFn, whole: bool = True) -> PlanPrice:
    """Draw a plan with up to one flat fee, one seat fee and three metered dimensions."""
    components: list[FlatFee | SeatFee | MeteredPrice] = []
    if draw(st.booleans()):
        components.append(FlatFee(draw(fen)))
    if draw(st.booleans()):
        components.append(draw(seat_fees()))
    count = draw(st.integers(min_value=0, max_value=3))
    components.extend(draw(metered_prices(dimension=f"dim_{n}", whole=whole)) for n in range(count))
    return PlanPrice(tuple(draw(st.permutations(components))))


def seats_within(plan: PlanPrice) -> st.SearchStrategy[int]:
    """Draw a seat count every seat fee of the plan accepts."""
    low = max((c.min_seats for c in plan.components if isinstance(c, SeatFee)), default=0)
    highs = [
        c.max_seats for c in plan.components if isinstance(c, SeatFee) and c.max_seats is not None
    ]
    return st.integers(min_value=low, max_value=min(highs, default=low + 100))
