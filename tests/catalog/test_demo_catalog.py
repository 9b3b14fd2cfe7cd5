"""The demo catalog that `make run` loads after the marketplace's demo organizations."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.demo import load_catalog_demo
from catalog.models import Listing, Plan, PriceComponent
from catalog.storefront import BrowseQuery, browse
from marketplace.clock import FrozenClock
from marketplace.demo import EXTRA_LOADERS, load_demo


def test_the_app_registers_the_catalog_demo_with_the_demo_command(app: Flask) -> None:
    assert load_catalog_demo in EXTRA_LOADERS


def test_the_demo_publishes_a_dozen_listings_in_every_layer(
    session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)

    page = browse(session, BrowseQuery())
    layers = {
        card.version.layer_category.code for card in page.cards if card.version.layer_category
    }
    vendors = {card.listing.vendor.name for card in page.cards}
    assert page.total >= 12
    assert layers == {"iaas", "paas", "saas"}
    assert len(vendors) == 3
    assert all(card.cheapest is not None for card in page.cards)


def test_the_demo_represents_every_price_model(session: Session, clock: FrozenClock) -> None:
    load_demo(session, clock)

    components = session.scalars(sa.select(PriceComponent)).all()
    kinds = {c.kind for c in components}
    models = {c.model for c in components if c.model}
    plans = session.scalars(sa.select(Plan)).all()
    assert kinds == {"flat", "seat", "metered"}
    assert models == {"per_unit", "graduated", "volume", "package"}
    assert any(c.kind == "seat" and c.max_seats for c in components)
    assert any(c.included_quantity for c in components if c.kind == "metered")
    assert {c.aggregation for c in components if c.aggregation} == {"sum", "max", "unique"}
    assert any(plan.trial_days for plan in plans)
    assert {plan.billing_interval for plan in plans} == {"month", "year"}


def test_the_catalog_demo_skips_vendors_that_do_not_exist(
    session: Session, clock: FrozenClock
) -> None:
    load_catalog_demo(session, clock)

    assert session.scalar(sa.select(sa.func.count()).select_from(Listing)) == 0


def test_demo_listings_open_on_the_storefront(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)
    listings = session.scalars(sa.select(Listing)).all()

    for listing in listings:
        response = client.get(f"/services/{listing.vendor_id}/{listing.slug}")
        assert response.status_code == 200, listing.slug


def test_a_volume_tiered_demo_plan_is_described_and_quoted(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)
    hr = session.scalars(sa.select(Listing).where(Listing.slug == "hr-cloud")).one()
    client.post("/lang", data={"lang": "en"})

    page = client.get(
        f"/services/{hr.vendor_id}/hr-cloud",
        query_string={"plan": "standard", "usage-employees": "60"},
    ).get_data(as_text=True)

    assert "Volume tiers" in page
    assert "above 50 up to 300 employee: ¥4.00 each" in page
    # 60 employees, 10 included: 50 billable, all in the first band at ¥5; plus ¥99 flat.
    assert 'data-testid="quote-total">¥349.00<' in page
