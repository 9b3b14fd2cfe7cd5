"""Turn a stored plan and its price components into the structure the calculator prices."""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

from catalog.models import Plan, PriceComponent
from catalog.pricing import (
    Aggregation,
    ComponentKind,
    FlatFee,
    MeteredPrice,
    PlanPrice,
    PriceModel,
    PriceStructureError,
    SeatFee,
    Tier,
)
from catalog.pricing import PriceComponent as ComponentPrice

T = TypeVar("T")


def plan_price(plan: Plan) -> PlanPrice:
    """Return the price structure of a plan, components in their stored order."""
    return PlanPrice(tuple(component_price(component) for component in plan.components))


def component_price(component: PriceComponent) -> ComponentPrice:
    """Return the price of one stored component; raise PriceStructureError if incomplete."""
    if component.kind == ComponentKind.FLAT:
        return FlatFee(_required("amount_fen", component.amount_fen))
    if component.kind == ComponentKind.SEAT:
        return SeatFee(
            unit_fen=_required("unit_amount_fen", component.unit_amount_fen),
            min_seats=_required("min_seats", component.min_seats),
            max_seats=component.max_seats,
        )
    return _metered_price(component)


def _metered_price(component: PriceComponent) -> MeteredPrice:
    model = PriceModel(_required("model", component.model))
    uses_tiers = model in (PriceModel.GRADUATED, PriceModel.VOLUME)
    return MeteredPrice(
        dimension=_required("dimension", component.dimension),
        aggregation=Aggregation(_required("aggregation", component.aggregation)),
        model=model,
        unit_fen=component.unit_amount_fen if model == PriceModel.PER_UNIT else None,
        tiers=_tiers(component) if uses_tiers else (),
        package_size=component.package_size if model == PriceModel.PACKAGE else None,
        package_fen=component.package_amount_fen if model == PriceModel.PACKAGE else None,
        included_quantity=component.included_quantity or Decimal(0),
    )


def _tiers(component: PriceComponent) -> tuple[Tier, ...]:
    return tuple(Tier(t.up_to, t.unit_amount_fen, t.flat_amount_fen) for t in component.tiers)


def _required(field: str, value: T | None) -> T:
    if value is None:
        raise PriceStructureError(field, "is required for this kind of component")
    return value
