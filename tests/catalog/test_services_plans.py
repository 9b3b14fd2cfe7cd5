"""Adding and revising plans: structures checked by the price calculator, versions kept."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from catalog.models import Plan, PlanStatus, PriceComponent
from catalog.plans import plan_price
from catalog.pricing import quote
from catalog.services import listings, plans
from marketplace.audit.models import AuditEntry
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.events.models import OutboxEvent
from tests.catalog.workflow import (
    audit,
    content,
    count,
    events,
    make_operator,
    make_vendor,
    plan_terms,
    published,
    submitted,
)


def _draft(session: Session, clock: FrozenClock) -> tuple[Any, Any]:
    vendor = make_vendor()
    listing = listings.create_listing(session, clock, vendor.actor, vendor.org.id, content())
    return vendor, listing


def test_a_vendor_adds_a_plan_that_the_calculator_prices(
    session: Session, clock: FrozenClock
) -> None:
    vendor, listing = _draft(session, clock)

    plan = plans.add_plan(session, clock, vendor.actor, vendor.org.id, listing.id, plan_terms())

    assert (plan.code, plan.version, plan.status) == ("standard", 1, PlanStatus.DRAFT)
    assert plan.trial_days == 14 and plan.currency == "CNY"
    assert [c.kind for c in plan.components] == ["flat", "seat", "metered"]
    # 99 yuan flat + 5 seats at 20 yuan; 12000 billable calls: 10000 at 2 fen, 2000 at 1 fen.
    priced = quote(plan_price(plan), seats=5, usage={"api_calls": Decimal(13000)})
    assert priced.total_fen == 9900 + 5 * 2000 + 10000 * 2 + 2000 * 1
    (event,) = events(session, "plan.created")
    assert event.payload["plan_code"] == "standard" and event.payload["plan_version"] == 1
    assert len(audit(session, "plan.created")) == 1


def test_every_price_model_is_accepted(session: Session, clock: FrozenClock) -> None:
    vendor, listing = _draft(session, clock)
    metered = [
        {
            "kind": "metered",
            "dimension": "storage_gb",
            "aggregation": "max",
            "model": "per_unit",
            "unit_amount_fen": 30,
        },
        {
            "kind": "metered",
            "dimension": "users",
            "aggregation": "unique",
            "model": "volume",
            "tiers": [
                {"up_to": 10, "unit_amount_fen": 500},
                {"up_to": None, "unit_amount_fen": 400},
            ],
        },
        {
            "kind": "metered",
            "dimension": "sms",
            "model": "package",
            "package_size": 1000,
            "package_amount_fen": 4500,
            "included_quantity": 100,
        },
    ]

    plan = plans.add_plan(
        session,
        clock,
        vendor.actor,
        vendor.org.id,
        listing.id,
        plan_terms(components=metered, billing_interval="year"),
    )

    assert [c.model for c in plan.components] == ["per_unit", "volume", "package"]
    assert plan.billing_interval == "year"


BAD_TERMS: list[tuple[dict[str, Any], str]] = [
    ({"code": "Standard Plan"}, "code"),
    ({"name_zh": "标"}, "name_zh"),
    ({"currency": "yuan"}, "currency"),
    ({"billing_interval": "week"}, "billing_interval"),
    ({"trial_days": -1}, "trial_days"),
    ({"trial_days": 400}, "trial_days"),
    ({"auto_activate": "yes"}, "auto_activate"),
    ({"components": []}, "components"),
    ({"components": [{"kind": "bundle"}]}, "components[0].kind"),
    ({"components": [{"kind": "flat"}]}, "components[0].amount_fen"),
    ({"components": [{"kind": "flat", "amount_fen": -1}]}, "components[0].amount_fen"),
    ({"components": [{"kind": "flat", "amount_fen": 1.5}]}, "components[0].amount_fen"),
    (
        {"components": [{"kind": "seat", "unit_amount_fen": 100, "min_seats": 5, "max_seats": 2}]},
        "components[0].max_seats",
    ),
    (
        {"components": [{"kind": "metered", "model": "per_unit", "unit_amount_fen": 1}]},
        "components[0].dimension",
    ),
    (
        {"components": [{"kind": "metered", "dimension": "calls", "model": "per_unit"}]},
        "components[0].unit_amount_fen",
    ),
    (
        {
            "components": [
                {
                    "kind": "metered",
                    "dimension": "calls",
                    "model": "graduated",
                    "tiers": [{"up_to": 100, "unit_amount_fen": 1}],
                }
            ]
        },
        "components[0].tiers",
    ),
    (
        {
            "components": [
                {
                    "kind": "metered",
                    "dimension": "calls",
                    "model": "volume",
                    "tiers": [{"up_to": "x", "unit_amount_fen": 1}],
                }
            ]
        },
        "components[0].tiers[0].up_to",
    ),
    (
        {
            "components": [
                {
                    "kind": "metered",
                    "dimension": "calls",
                    "model": "package",
                    "package_size": 0,
                    "package_amount_fen": 100,
                }
            ]
        },
        "components[0].package_size",
    ),
    (
        {"components": [{"kind": "metered", "dimension": "calls", "model": "sometimes"}]},
        "components[0].model",
    ),
    (
        {
            "components": [
                {
                    "kind": "metered",
                    "dimension": "calls",
                    "model": "per_unit",
                    "unit_amount_fen": 1,
                },
                {
                    "kind": "metered",
                    "dimension": "calls",
                    "model": "per_unit",
                    "unit_amount_fen": 2,
                },
            ]
        },
        "components",
    ),
    ({"price": 100}, "price"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_TERMS)
def test_bad_plan_terms_are_refused_naming_the_field_and_nothing_is_saved(
    session: Session, clock: FrozenClock, changes: dict[str, Any], field: str
) -> None:
    vendor, listing = _draft(session, clock)
    before = (count(session, AuditEntry), count(session, OutboxEvent))

    with pytest.raises(ValidationFailed) as refused:
        plans.add_plan(
            session, clock, vendor.actor, vendor.org.id, listing.id, plan_terms(**changes)
        )

    assert field in refused.value.errors, refused.value.errors
    assert count(session, Plan) == count(session, PriceComponent) == 0
    assert (count(session, AuditEntry), count(session, OutboxEvent)) == before


def test_a_plan_code_is_unique_within_a_listing(session: Session, clock: FrozenClock) -> None:
    vendor, listing = _draft(session, clock)
    plans.add_plan(session, clock, vendor.actor, vendor.org.id, listing.id, plan_terms())

    with pytest.raises(ValidationFailed) as refused:
        plans.add_plan(session, clock, vendor.actor, vendor.org.id, listing.id, plan_terms())

    assert "code" in refused.value.errors


def test_revising_a_draft_plan_replaces_its_terms_in_place(
    session: Session, clock: FrozenClock
) -> None:
    vendor, listing = _draft(session, clock)
    plans.add_plan(session, clock, vendor.actor, vendor.org.id, listing.id, plan_terms())

    plan = plans.revise_plan(
        session,
        clock,
        vendor.actor,
        vendor.org.id,
        listing.id,
        "standard",
        plan_terms(components=[{"kind": "flat", "amount_fen": 19900}]),
    )

    assert plan.version == 1 and [c.amount_fen for c in plan.components] == [19900]
    assert count(session, Plan) == 1
    (entry,) = audit(session, "plan.revised")
    assert entry.before is not None and entry.after is not None
    assert '"amount_fen": 9900' in entry.before["components"]
    assert '"amount_fen": 19900' in entry.after["components"]


def test_revising_a_published_plan_makes_the_next_version_and_leaves_the_old_one(
    session: Session, clock: FrozenClock
) -> None:
    vendor, operator = make_vendor(), make_operator()
    listing = published(session, clock, vendor, operator)

    plan = plans.revise_plan(
        session,
        clock,
        vendor.actor,
        vendor.org.id,
        listing.id,
        "standard",
        plan_terms(components=[{"kind": "flat", "amount_fen": 19900}]),
    )

    old = next(p for p in listing.plans if p.version == 1)
    assert (plan.version, plan.status) == (2, PlanStatus.DRAFT)
    assert old.status == PlanStatus.PUBLISHED and len(old.components) == 3
    assert listings.latest_version(listing).version == 2  # the edit opened a new draft


def test_revising_an_unknown_plan_is_not_found(session: Session, clock: FrozenClock) -> None:
    vendor, listing = _draft(session, clock)

    with pytest.raises(NotFound):
        plans.revise_plan(
            session, clock, vendor.actor, vendor.org.id, listing.id, "gold", plan_terms()
        )


def test_plans_cannot_change_while_the_listing_is_in_review(
    session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = submitted(session, clock, vendor)

    with pytest.raises(Conflict):
        plans.add_plan(
            session, clock, vendor.actor, vendor.org.id, listing.id, plan_terms("premium")
        )
    assert count(session, Plan) == 1


def test_another_vendor_cannot_add_a_plan_to_a_listing(
    session: Session, clock: FrozenClock
) -> None:
    _, listing = _draft(session, clock)
    other = make_vendor()

    with pytest.raises(NotFound):
        plans.add_plan(session, clock, other.actor, other.org.id, listing.id, plan_terms())
    assert count(session, Plan) == 0
