"""Filtering the storefront by price model, alone and with a category and search text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.models import PlanStatus
from catalog.pricing import (
    Aggregation,
    FlatFee,
    MeteredPrice,
    PlanPrice,
    PriceModel,
    SeatFee,
    Tier,
)
from catalog.storefront import BrowseQuery, browse
from tests.catalog.conftest import NOW, component_row, make_plan
from tests.catalog.storefront_data import publish_listing

TIERS = (Tier(Decimal(1000), 10), Tier(None, 5))


def metered(model: PriceModel, **terms: object) -> PlanPrice:
    """Return a plan price with a single metered dimension priced by a model."""
    return PlanPrice((MeteredPrice("calls", Aggregation.SUM, model, **terms),))  # type: ignore[arg-type]


@pytest.fixture
def catalog(session: Session) -> dict[str, str]:
    """Six published services, one for each price model, keyed by the model."""
    prices = {
        "flat": PlanPrice((FlatFee(9900),)),
        "seat": PlanPrice((SeatFee(3000, 1, 10),)),
        "per_unit": metered(PriceModel.PER_UNIT, unit_fen=2),
        "graduated": metered(PriceModel.GRADUATED, tiers=TIERS),
        "volume": metered(PriceModel.VOLUME, tiers=TIERS),
        "package": metered(PriceModel.PACKAGE, package_size=1000, package_fen=4500),
    }
    names = {model: f"按{model}计费服务" for model in prices}
    for model, price in prices.items():
        layer = "iaas" if model in ("per_unit", "volume") else "saas"
        publish_listing(name_zh=names[model], layer=layer, price=price)
    return names


def found(session: Session, **asked: str) -> set[str]:
    """Return the names of the services the storefront finds for a query."""
    page = browse(session, BrowseQuery(**asked))  # type: ignore[arg-type]
    return {card.version.name_zh for card in page.cards}


@pytest.mark.parametrize("model", ["flat", "seat", "per_unit", "graduated", "volume", "package"])
def test_each_price_model_finds_exactly_the_services_priced_that_way(
    session: Session, catalog: dict[str, str], model: str
) -> None:
    assert found(session, model=model) == {catalog[model]}


def test_a_service_with_several_components_matches_each_of_their_models(
    session: Session, catalog: dict[str, str]
) -> None:
    both = PlanPrice((FlatFee(100), SeatFee(500, 1, None)))
    publish_listing(name_zh="套餐加席位", price=both)

    assert found(session, model="flat") == {catalog["flat"], "套餐加席位"}
    assert found(session, model="seat") == {catalog["seat"], "套餐加席位"}


def test_only_plans_on_sale_count_for_the_price_model(session: Session) -> None:
    listing = publish_listing(name_zh="只卖固定费")
    make_plan(listing, [component_row(SeatFee(500, 1, None), 0)], status=PlanStatus.DRAFT)
    per_unit = component_row(MeteredPrice("calls", Aggregation.SUM, PriceModel.PER_UNIT, 1), 0)
    make_plan(listing, [per_unit], status=PlanStatus.RETIRED, published_at=NOW)

    assert found(session, model="flat") == {"只卖固定费"}
    assert found(session, model="seat") == set()
    assert found(session, model="per_unit") == set()


def test_the_price_model_combines_with_the_category_and_the_search_text(
    session: Session, catalog: dict[str, str]
) -> None:
    assert found(session, model="volume", category="iaas") == {catalog["volume"]}
    assert found(session, model="volume", category="saas") == set()
    assert found(session, model="package", q="package") == {catalog["package"]}
    assert found(session, model="package", q="flat") == set()


def test_an_unknown_price_model_is_dropped_and_every_service_shows(
    session: Session, catalog: dict[str, str]
) -> None:
    page = browse(session, BrowseQuery(model="bitcoin"))

    assert page.model_ignored
    assert page.query.model == ""
    assert {card.version.name_zh for card in page.cards} == set(catalog.values())


def test_the_browse_page_filters_by_the_price_model_chosen(
    client: FlaskClient, catalog: dict[str, str]
) -> None:
    response = client.get("/services?model=seat&category=saas")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert catalog["seat"] in page and catalog["flat"] not in page
    assert '<option value="seat" selected>' in page


def test_the_browse_page_says_when_it_ignores_an_unknown_price_model(
    client: FlaskClient, catalog: dict[str, str]
) -> None:
    response = client.get("/services?model=%3Cscript%3E")
    page = response.get_data(as_text=True)

    assert response.status_code == 200
    assert 'data-testid="model-ignored"' in page
    assert all(name in page for name in catalog.values())
    assert "<script>" not in page.split('data-testid="model-ignored"')[1][:300]
