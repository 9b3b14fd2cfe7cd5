"""What a plan charges up front each period: its flat fees and its seats.

Pure: works on catalog.pricing's PlanPrice, so proration and invoices agree with the quote
a firm saw on the storefront.
"""

from __future__ import annotations

from catalog.pricing import FlatFee, PlanPrice, SeatFee


def flat_fen(price: PlanPrice) -> int:
    """Return the plan's flat fees for one period."""
    return sum(c.amount_fen for c in price.components if isinstance(c, FlatFee))


def seat_unit_fen(price: PlanPrice) -> int:
    """Return what one seat costs for one period (0 when the plan sells no seats)."""
    return sum(c.unit_fen for c in price.components if isinstance(c, SeatFee))


def sells_seats(price: PlanPrice) -> bool:
    """Say whether the plan charges per seat, so seats must be given to named users."""
    return any(isinstance(c, SeatFee) for c in price.components)


def recurring_fen(price: PlanPrice, seats: int) -> int:
    """Return the plan's up-front charge for one period at a number of seats."""
    return flat_fen(price) + seats * seat_unit_fen(price)


def default_seats(price: PlanPrice) -> int:
    """Return the seats a new subscription starts with: the plan's minimum, or none."""
    minimums = [c.min_seats for c in price.components if isinstance(c, SeatFee)]
    return max(minimums, default=0)
