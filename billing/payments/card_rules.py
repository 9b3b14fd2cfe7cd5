"""Whether a subscription needs a card on file before it starts (pure rules)."""

from __future__ import annotations

from catalog.pricing import FlatFee, MeteredPrice, PlanPrice, PriceComponent, SeatFee


def may_charge(component: PriceComponent) -> bool:
    """Tell whether a price component can ever bill a non-zero amount."""
    if isinstance(component, FlatFee):
        return component.amount_fen > 0
    if isinstance(component, SeatFee):
        return component.unit_fen > 0
    return _metered_may_charge(component)


def _metered_may_charge(price: MeteredPrice) -> bool:
    amounts = [price.unit_fen or 0, price.package_fen or 0]
    amounts += [tier.unit_fen + tier.flat_fen for tier in price.tiers]
    return any(amount > 0 for amount in amounts)


def needs_card(price: PlanPrice, *, sandbox: bool) -> bool:
    """Tell whether subscribing needs a card: the plan can bill something real.

    A free plan bills nothing, and a sandbox firm's invoices never charge. A plan with a
    free trial still needs the card: it is charged when the trial ends.
    """
    return not sandbox and any(may_charge(component) for component in price.components)
