"""A plan saved in the database prices exactly as the structure it was saved from."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from catalog.models import Plan, PriceComponent
from catalog.plans import plan_price
from catalog.pricing import (
    Aggregation,
    FlatFee,
    MeteredPrice,
    PlanPrice,
    PriceModel,
    PriceStructureError,
    SeatFee,
    Tier,
    quote,
)
from tests.catalog import reference
from tests.catalog.conftest import make_plan, save_plan_price
from tests.catalog.strategies import plan_prices, quantities, seats_within, whole_quantities


def reloaded(session: Session, plan: Plan) -> Plan:
    """Read a plan back from the database, components and tiers included."""
    session.expire_all()
    return session.scalars(sa.select(Plan).where(Plan.id == plan.id)).one()


def test_a_stored_plan_becomes_its_price_structure(session: Session) -> None:
    price = PlanPrice(
        (
            FlatFee(9900),
            SeatFee(3000, min_seats=3, max_seats=None),
            MeteredPrice(
                "api_calls",
                Aggregation.SUM,
                PriceModel.GRADUATED,
                tiers=(Tier(Decimal("5.5"), 500, 100), Tier(None, 300)),
                included_quantity=Decimal("0.25"),
            ),
            MeteredPrice(
                "sms", Aggregation.SUM, PriceModel.PACKAGE, package_size=100, package_fen=800
            ),
        )
    )
    assert plan_price(reloaded(session, save_plan_price(price))) == price


def test_a_plan_without_components_prices_at_nothing(session: Session) -> None:
    assert quote(plan_price(make_plan()), seats=3).total_fen == 0


def test_a_metered_component_without_its_tiers_cannot_be_priced(session: Session) -> None:
    component = PriceComponent(
        kind="metered",
        dimension="api_calls",
        aggregation="sum",
        model="volume",
        included_quantity=Decimal(0),
    )
    plan = make_plan(components=[component])
    with pytest.raises(PriceStructureError, match="tiers"):
        plan_price(reloaded(session, plan))


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_the_calculator_and_the_stored_plan_agree(session: Session, data: st.DataObject) -> None:
    price = data.draw(plan_prices(), label="plan")
    seats = data.draw(seats_within(price), label="seats")
    usage = {m.dimension: data.draw(whole_quantities, label=m.dimension) for m in price.metered}
    stored = plan_price(reloaded(session, save_plan_price(price)))
    assert stored == price
    assert quote(stored, seats, usage) == quote(price, seats, usage)
    assert quote(stored, seats, usage).total_fen == reference.total(price, seats, usage)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(st.data())
def test_stored_plans_quote_fractional_usage_as_their_structure_does(
    session: Session, data: st.DataObject
) -> None:
    price = data.draw(plan_prices(whole=False), label="plan")
    seats = data.draw(seats_within(price), label="seats")
    usage = {m.dimension: data.draw(quantities, label=m.dimension) for m in price.metered}
    stored = plan_price(reloaded(session, save_plan_price(price)))
    assert stored == price
    assert quote(stored, seats, usage) == quote(price, seats, usage)
