"""Building blocks of the demo catalog: listing and plan specs, price components."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from catalog.models import PriceComponent, PriceTier

TierSpec = tuple[int | None, int, int]  # (up to, fen per unit, flat fen)


@dataclass(frozen=True)
class DemoPlan:
    """A plan of a demo listing: its terms and its price components."""

    code: str
    name_zh: str
    name_en: str
    components: tuple[PriceComponent, ...]
    interval: str = "month"
    trial_days: int = 0


@dataclass(frozen=True)
class DemoListing:
    """A demo listing: its vendor, content, categories and plans."""

    vendor: str
    slug: str
    layer: str
    categories: tuple[str, ...]
    name_zh: str
    name_en: str
    summary_zh: str
    summary_en: str
    description_md: str
    plans: tuple[DemoPlan, ...]
    support_phone: str = "0591-8888 0000"
    screenshots: tuple[str, ...] = ()


def flat(amount_fen: int) -> PriceComponent:
    """Return a flat recurring fee."""
    return PriceComponent(kind="flat", amount_fen=amount_fen)


def seats(unit_fen: int, min_seats: int = 1, max_seats: int | None = None) -> PriceComponent:
    """Return a per-seat fee with seat bounds."""
    return PriceComponent(
        kind="seat", unit_amount_fen=unit_fen, min_seats=min_seats, max_seats=max_seats
    )


def _metered(dimension: str, unit: tuple[str, str], model: str, **terms: object) -> PriceComponent:
    included = Decimal(str(terms.pop("included", 0)))
    return PriceComponent(
        kind="metered",
        dimension=dimension,
        unit_name_zh=unit[0],
        unit_name_en=unit[1],
        aggregation=str(terms.pop("aggregation", "sum")),
        model=model,
        included_quantity=included,
        **terms,
    )


def per_unit(
    dimension: str, unit: tuple[str, str], unit_fen: int, **terms: object
) -> PriceComponent:
    """Return a metered dimension priced per unit."""
    return _metered(dimension, unit, "per_unit", unit_amount_fen=unit_fen, **terms)


def tiered(
    dimension: str, unit: tuple[str, str], model: str, tiers: list[TierSpec], **terms: object
) -> PriceComponent:
    """Return a metered dimension priced by graduated or volume tiers."""
    rows = [
        PriceTier(
            position=n,
            up_to=None if up_to is None else Decimal(up_to),
            unit_amount_fen=unit_fen,
            flat_amount_fen=flat_fen,
        )
        for n, (up_to, unit_fen, flat_fen) in enumerate(tiers)
    ]
    return _metered(dimension, unit, model, tiers=rows, **terms)


def package(
    dimension: str, unit: tuple[str, str], size: int, amount_fen: int, **terms: object
) -> PriceComponent:
    """Return a metered dimension sold in whole packages, rounded up."""
    return _metered(
        dimension, unit, "package", package_size=size, package_amount_fen=amount_fen, **terms
    )
