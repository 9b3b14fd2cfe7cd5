"""A published plan is frozen: its terms change only through a new version."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.models import Plan, PlanStatus, PriceComponent, PriceTier, PublishedPlanChanged
from catalog.pricing import Aggregation, FlatFee, MeteredPrice, PlanPrice, PriceModel, Tier
from marketplace.errors import Conflict
from tests.catalog.conftest import NOW, make_plan, save_plan_price

PRICE = PlanPrice(
    (
        FlatFee(9900),
        MeteredPrice(
            "api_calls",
            Aggregation.SUM,
            PriceModel.GRADUATED,
            tiers=(Tier(Decimal(5), 500), Tier(None, 300)),
        ),
    )
)


@pytest.fixture
def published(session: Session) -> Plan:
    """A published plan read back from the database."""
    plan = save_plan_price(PRICE)
    session.expire_all()
    return session.scalars(sa.select(Plan).where(Plan.id == plan.id)).one()


@pytest.mark.parametrize(
    ("field", "value"),
    [("name_zh", "旗舰版"), ("trial_days", 30), ("billing_interval", "year"), ("currency", "USD")],
)
def test_a_published_plans_terms_cannot_change_in_place(
    session: Session, published: Plan, field: str, value: object
) -> None:
    setattr(published, field, value)
    with pytest.raises(PublishedPlanChanged) as caught:
        session.flush()
    assert isinstance(caught.value, Conflict)


def test_a_component_cannot_be_added_to_a_published_plan(session: Session, published: Plan) -> None:
    published.components.append(PriceComponent(position=9, kind="flat", amount_fen=100))
    with pytest.raises(PublishedPlanChanged):
        session.flush()


def test_a_component_added_by_plan_id_alone_is_refused_too(
    session: Session, published: Plan
) -> None:
    session.add(PriceComponent(plan_id=published.id, position=9, kind="flat", amount_fen=100))
    with pytest.raises(PublishedPlanChanged):
        session.flush()


def test_a_component_price_of_a_published_plan_cannot_change(
    session: Session, published: Plan
) -> None:
    published.components[0].amount_fen = 1
    with pytest.raises(PublishedPlanChanged):
        session.flush()


def test_a_tier_of_a_published_plan_cannot_change(session: Session, published: Plan) -> None:
    published.components[1].tiers[0].unit_amount_fen = 1
    with pytest.raises(PublishedPlanChanged):
        session.flush()


def test_a_tier_cannot_be_added_to_a_published_plan_by_id(
    session: Session, published: Plan
) -> None:
    component_id = published.components[1].id
    session.expire_all()
    session.add(PriceTier(component_id=component_id, position=5, up_to=None, unit_amount_fen=1))
    with pytest.raises(PublishedPlanChanged):
        session.flush()


def test_a_component_cannot_be_removed_from_a_published_plan(
    session: Session, published: Plan
) -> None:
    published.components.pop()
    with pytest.raises(PublishedPlanChanged):
        session.flush()


def test_a_published_plan_cannot_become_a_draft_again(session: Session, published: Plan) -> None:
    published.status = PlanStatus.DRAFT
    with pytest.raises(PublishedPlanChanged):
        session.flush()


def test_a_published_plan_can_be_retired(session: Session, published: Plan) -> None:
    published.status = PlanStatus.RETIRED
    session.flush()
    assert published.status == PlanStatus.RETIRED


def test_a_retired_plan_is_frozen_too(session: Session, published: Plan) -> None:
    published.status = PlanStatus.RETIRED
    session.flush()
    published.components[0].amount_fen = 1
    with pytest.raises(PublishedPlanChanged):
        session.flush()


def test_a_change_is_published_as_a_new_version_with_the_same_code(
    session: Session, published: Plan
) -> None:
    newer = make_plan(published.listing, code=published.code, version=published.version + 1)
    newer.components.append(PriceComponent(position=0, kind="flat", amount_fen=12900))
    session.flush()
    newer.status = PlanStatus.PUBLISHED
    newer.published_at = NOW
    session.flush()
    codes = session.execute(
        sa.select(Plan.code, Plan.version).where(Plan.listing_id == published.listing_id)
    ).all()
    assert sorted(codes) == [(published.code, 1), (published.code, 2)]


def test_a_draft_plan_is_edited_and_published_in_one_flush(session: Session) -> None:
    plan = make_plan()
    plan.name_zh = "专业版"
    plan.components.append(PriceComponent(position=0, kind="flat", amount_fen=500))
    plan.status = PlanStatus.PUBLISHED
    plan.published_at = NOW
    session.flush()
    assert plan.status == PlanStatus.PUBLISHED


def test_a_published_plan_can_be_deleted_whole(session: Session, published: Plan) -> None:
    component_ids = [component.id for component in published.components]
    session.delete(published)
    session.flush()
    tiers = sa.select(PriceTier).where(PriceTier.component_id.in_(component_ids))
    assert session.scalars(tiers).all() == []
