"""The estimated subsidy on the subscription page's next invoice and the listing calculator."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.services import subscriptions as subs
from billing.subsidies.estimates import estimate_subsidy
from catalog.models import Listing, Plan
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from tests.billing.subsidies.world import SubsidyWorld, add_member_firm, add_program, simple_rules
from tests.firms.conftest import firm_with_owner
from tests.sessions import sign_in

ACTOR = Actor(None)


def grant_cells(page: str) -> list[str]:
    """Return the estimated grants shown on a page."""
    return re.findall(r'data-testid="subsidy-estimate-grant">([^<]*)<', page)


def pays_cell(page: str) -> str | None:
    """Return what the page says the firm would pay, if it says so."""
    found = re.search(r'data-testid="subsidy-estimate-pays">([^<]*)<', page)
    return found.group(1) if found else None


def test_the_estimate_runs_the_programs_without_holding_budget(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now(), budget_fen=7000)
    listing = session.get(Listing, subsidy_world.listing_id)
    assert listing is not None

    estimate = estimate_subsidy(
        session, subsidy_world.firm_id, listing.id, listing.vendor_id, [10000, 9000], clock.now()
    )

    assert estimate is not None
    assert [(g.program_id, g.amount_fen) for g in estimate.grants] == [(program.id, 7000)]
    assert (estimate.charged_fen, estimate.firm_pays_fen) == (19000, 12000)
    again = estimate_subsidy(
        session, subsidy_world.firm_id, listing.id, listing.vendor_id, [10000, 9000], clock.now()
    )
    assert again == estimate  # nothing was held


def test_credits_are_set_off_before_estimating(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    add_program(session, subsidy_world.park.id, clock.now())
    listing = session.get(Listing, subsidy_world.listing_id)
    assert listing is not None

    estimate = estimate_subsidy(
        session, subsidy_world.firm_id, listing.id, listing.vendor_id, [10000, -4000], clock.now()
    )

    assert estimate is not None and estimate.subsidy_fen == 3000
    assert estimate.firm_pays_fen == 3000


def test_no_estimate_for_a_firm_outside_any_program(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    listing = session.get(Listing, subsidy_world.listing_id)
    assert listing is not None
    assert (
        estimate_subsidy(
            session, subsidy_world.firm_id, listing.id, listing.vendor_id, [100], clock.now()
        )
        is None
    )


def test_the_subscription_page_shows_the_subsidy_on_the_next_invoice(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    add_program(session, subsidy_world.park.id, clock.now(), name="软件上云券")
    subscription = subs.subscribe(
        session, clock, ACTOR, subsidy_world.firm_id, subsidy_world.plan_id, 3
    )
    sign_in(client, subsidy_world.firm_owner, subsidy_world.firm.organization)

    page = client.get(f"/subscriptions/{subscription.id}").get_data(as_text=True)

    assert 'data-testid="estimate-total">¥190.00<' in page
    assert "Park subsidy: 软件上云券" in page
    assert grant_cells(page) == ["-¥95.00"] and pays_cell(page) == "¥95.00"


def calculator_url(session: Session, world: SubsidyWorld) -> str:
    """Return the listing page with the calculator sent for the world's plan and 3 seats."""
    plan = session.get(Plan, world.plan_id)
    listing = session.get(Listing, world.listing_id)
    assert plan is not None and listing is not None
    return f"/services/{listing.vendor_id}/{listing.slug}?plan={plan.code}&seats=3"


def test_the_calculator_shows_a_signed_in_firm_its_subsidy_and_the_cache_keeps_it_private(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    rules = simple_rules(
        rate_steps=[{"starts_on": "2026-01-01", "default_rate": "0.4", "layer_rates": {}}]
    )
    add_program(session, subsidy_world.park.id, clock.now(), rules=rules)
    url = calculator_url(session, subsidy_world)
    sign_in(client, subsidy_world.firm_owner, subsidy_world.firm.organization)

    page = client.get(url).get_data(as_text=True)

    assert 'data-testid="quote-total">¥190.00<' in page
    assert grant_cells(page) == ["-¥76.00"] and pays_cell(page) == "¥114.00"

    other, owner = add_member_firm(session, subsidy_world.park, clock.now())
    anonymous = client.application.test_client()
    assert grant_cells(anonymous.get(url).get_data(as_text=True)) == []
    # Another member firm of the park sees its own estimate (it would join automatically).
    other_client = client.application.test_client()
    sign_in(other_client, owner, other.organization)
    assert grant_cells(other_client.get(url).get_data(as_text=True)) == ["-¥76.00"]


def test_the_calculator_counts_only_the_programs_that_admit_the_firm(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    add_program(session, subsidy_world.park.id, clock.now())
    rules = simple_rules(eligibility={"size_classes": ["micro"]})  # the firm is small
    add_program(session, subsidy_world.park.id, clock.now(), rules=rules)
    sign_in(client, subsidy_world.firm_owner, subsidy_world.firm.organization)

    page = client.get(calculator_url(session, subsidy_world)).get_data(as_text=True)

    assert grant_cells(page) == ["-¥95.00"]


def test_the_calculator_shows_nothing_to_a_firm_outside_the_park(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    add_program(session, subsidy_world.park.id, clock.now())
    outsider, owner = firm_with_owner()
    sign_in(client, owner, outsider.organization)

    page = client.get(calculator_url(session, subsidy_world)).get_data(as_text=True)

    assert 'data-testid="quote-total">¥190.00<' in page and grant_cells(page) == []
