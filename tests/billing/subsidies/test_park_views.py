"""The park's subsidy pages: list, create, read, revise, edit, move status, policy."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.subsidies.models import ProgramStatus, SubsidyProgram, SubsidyProgramVersion
from billing.subsidies.program_reads import park_policy
from catalog.models import Category
from marketplace.audit.models import AuditEntry
from marketplace.clock import FrozenClock
from marketplace.orgs.models import OrgKind
from tests.billing.subsidies.test_programs import hold
from tests.billing.subsidies.world import SubsidyWorld, add_program
from tests.factories import make_member, make_org
from tests.sessions import sign_in


def as_admin(client: FlaskClient, world: SubsidyWorld, lang: str = "en") -> None:
    """Sign the park's owner in, acting for the park."""
    sign_in(client, world.park_admin, world.park, lang=lang)


def typed_program(world: SubsidyWorld, **changes: Any) -> dict[str, Any]:
    """Return what an admin types to create a program of every kind of rule."""
    data: dict[str, Any] = {
        "name": "2026 上云券",
        "description": "Half of SMEs' cloud bills.",
        "enrollment": "automatic",
        "budget": "50000.00",
        "invoices_from": "2026-01-01",
        "invoices_until": "2026-12-31",
        "priority": "10",
        "stackable": "y",
        "rate_steps-0-starts_on": "2026-01-01",
        "rate_steps-0-default_rate": "50",
        "rate_steps-0-iaas": "40",
        "rate_steps-0-paas": "",
        "rate_steps-0-saas": "",
        "rate_steps-1-starts_on": "2026-07-01",
        "rate_steps-1-default_rate": "30",
        "rate_steps-2-starts_on": "",
        "rate_steps-2-default_rate": "",
        "cap_per_invoice": "500",
        "cap_per_firm": "2000",
        "cap_first_claim": "",
        "cap_later_claim": "",
        "listing_ids": [str(world.listing_id)],
        "vendor_ids": [str(world.vendor.id)],
        "min_amount": "10",
        "size_classes": ["micro", "small"],
        "industry_codes": ["software_it"],
        "legal_forms": ["enterprise"],
        "min_months_registered": "6",
        "exclude_dishonest": "y",
        "park_members_only": "y",
        "vendor_quotas-0-vendor_id": str(world.vendor.id),
        "vendor_quotas-0-amount": "10000",
        "vendor_quotas-1-vendor_id": "",
        "vendor_quotas-1-amount": "",
    }
    return data | changes


def programs_of(session: Session, park_id: int) -> list[SubsidyProgram]:
    """Return the park's programs."""
    return list(session.scalars(sa.select(SubsidyProgram).where(SubsidyProgram.park_id == park_id)))


def versions_of(session: Session, program_id: int) -> list[int]:
    """Return the version numbers of a program."""
    return list(
        session.scalars(
            sa.select(SubsidyProgramVersion.version)
            .where(SubsidyProgramVersion.program_id == program_id)
            .order_by(SubsidyProgramVersion.version)
        )
    )


# Creating -----------------------------------------------------------------------------------


def test_the_owner_creates_a_program_with_every_kind_of_rule(
    client: FlaskClient, session: Session, subsidy_world: SubsidyWorld
) -> None:
    as_admin(client, subsidy_world)
    category = session.scalars(sa.select(Category).order_by(Category.id)).first()
    data = typed_program(subsidy_world)
    if category is not None:
        data["category_ids"] = [str(category.id)]

    response = client.post("/park/subsidies/new", data=data)

    assert response.status_code == 302, response.get_data(as_text=True)
    [program] = programs_of(session, subsidy_world.park.id)
    assert response.headers["Location"].endswith(f"/park/subsidies/{program.id}")
    assert (program.status, program.enrollment, program.budget_fen) == (
        "draft",
        "automatic",
        5_000_000,
    )
    rules = session.scalars(
        sa.select(SubsidyProgramVersion.rules).where(SubsidyProgramVersion.program_id == program.id)
    ).one()
    assert rules["rate_steps"] == [
        {"starts_on": "2026-01-01", "default_rate": "0.5", "layer_rates": {"iaas": "0.4"}},
        {"starts_on": "2026-07-01", "default_rate": "0.3", "layer_rates": {}},
    ]
    assert rules["caps"] == {
        "per_invoice_fen": 50_000,
        "per_firm_fen": 200_000,
        "first_claim_fen": None,
        "later_claim_fen": None,
    }
    assert rules["qualifying"]["listing_ids"] == [subsidy_world.listing_id]
    assert rules["qualifying"]["category_ids"] == ([category.id] if category else [])
    assert rules["eligibility"]["industry_codes"] == ["software_it"]
    assert rules["eligibility"]["first_time_buyers_only"] is False
    assert rules["vendor_quotas_fen"] == {str(subsidy_world.vendor.id): 1_000_000}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2026 上云券" in page and "¥50,000.00" in page and "40%" in page


def test_a_refused_form_names_each_field_and_saves_nothing(
    client: FlaskClient, session: Session, subsidy_world: SubsidyWorld
) -> None:
    as_admin(client, subsidy_world)
    data = typed_program(subsidy_world, budget="lots", size_classes=[])
    data["rate_steps-1-default_rate"] = "150"

    response = client.post("/park/subsidies/new", data=data)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter an amount in yuan, like 1200 or 1200.50." in page
    assert "Enter a percentage from 0 to 100." in page
    assert programs_of(session, subsidy_world.park.id) == []
    assert 'value="2026 上云券"' in page  # what was typed is kept


def test_the_rules_schema_refusals_show_beside_their_fields(
    client: FlaskClient, session: Session, subsidy_world: SubsidyWorld
) -> None:
    as_admin(client, subsidy_world)

    response = client.post(
        "/park/subsidies/new", data=typed_program(subsidy_world, size_classes=[])
    )

    assert response.status_code == 422
    assert "Choose at least one size class." in response.get_data(as_text=True)
    assert programs_of(session, subsidy_world.park.id) == []


def test_a_listing_not_on_offer_is_refused(
    client: FlaskClient, session: Session, subsidy_world: SubsidyWorld
) -> None:
    as_admin(client, subsidy_world)

    response = client.post(
        "/park/subsidies/new", data=typed_program(subsidy_world, listing_ids=["999999"])
    )

    assert response.status_code == 422
    assert programs_of(session, subsidy_world.park.id) == []


def test_the_new_program_page_offers_the_catalog(
    client: FlaskClient, subsidy_world: SubsidyWorld
) -> None:
    as_admin(client, subsidy_world)

    page = client.get("/park/subsidies/new").get_data(as_text=True)

    assert f'value="{subsidy_world.listing_id}"' in page
    assert subsidy_world.vendor.name in page
    assert 'value="software_it"' in page
    assert "<script" not in page.split("</main>")[0].split("<main")[-1]


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_pages_render_in_both_languages(
    client: FlaskClient,
    session: Session,
    clock: FrozenClock,
    subsidy_world: SubsidyWorld,
    lang: str,
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    as_admin(client, subsidy_world, lang)

    for url in (
        "/park/subsidies",
        "/park/subsidies/new",
        f"/park/subsidies/{program.id}",
        f"/park/subsidies/{program.id}/rules",
        f"/park/subsidies/{program.id}/edit",
        f"/park/subsidies/{program.id}/close",
        "/park/subsidies/policy",
    ):
        assert client.get(url).status_code == 200, url


# Reading ------------------------------------------------------------------------------------


def test_the_list_shows_budget_used_and_remaining(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now(), budget_fen=1_000_000)
    hold(session, clock, subsidy_world, program.id)
    as_admin(client, subsidy_world)

    page = client.get("/park/subsidies").get_data(as_text=True)

    assert program.name in page
    assert "¥10,000.00" in page and "¥300.00" in page and "¥9,700.00" in page


def test_the_detail_shows_versions_and_the_rules_in_force(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    as_admin(client, subsidy_world)

    page = client.get(f"/park/subsidies/{program.id}").get_data(as_text=True)

    assert 'data-testid="version-1"' in page
    assert "In force" in page
    assert "50%" in page and "2026-01-01" in page


# Versions -----------------------------------------------------------------------------------


def typed_rules(world: SubsidyWorld, **changes: Any) -> dict[str, Any]:
    """Return a rules form without the program's details."""
    data = typed_program(world, **changes)
    for name in ("name", "description", "enrollment", "budget"):
        data.pop(name)
    return data


def test_saving_the_rules_writes_the_next_version(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    as_admin(client, subsidy_world)
    form = client.get(f"/park/subsidies/{program.id}/rules").get_data(as_text=True)
    assert 'value="50"' in form  # the form starts from the newest version

    response = client.post(
        f"/park/subsidies/{program.id}/rules",
        data=typed_rules(subsidy_world, takes_effect_at="2026-04-01T00:00"),
    )

    assert response.status_code == 302
    assert versions_of(session, program.id) == [1, 2]
    page = client.get(f"/park/subsidies/{program.id}").get_data(as_text=True)
    assert "Scheduled" in page


def test_a_version_in_the_past_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    as_admin(client, subsidy_world)

    response = client.post(
        f"/park/subsidies/{program.id}/rules",
        data=typed_rules(subsidy_world, takes_effect_at="2020-01-01T00:00"),
    )

    assert response.status_code == 422
    assert "Choose now or a later moment." in response.get_data(as_text=True)
    assert versions_of(session, program.id) == [1]


# Details ------------------------------------------------------------------------------------


def test_editing_details_keeps_the_rules(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    as_admin(client, subsidy_world)

    response = client.post(
        f"/park/subsidies/{program.id}/edit",
        data={"name": "新名", "description": "", "enrollment": "application", "budget": "1.5"},
    )

    assert response.status_code == 302
    assert (program.name, program.enrollment, program.budget_fen) == ("新名", "application", 150)
    assert versions_of(session, program.id) == [1]


def test_the_budget_may_not_go_below_what_is_used(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now(), budget_fen=1_000_000)
    hold(session, clock, subsidy_world, program.id)
    as_admin(client, subsidy_world)

    response = client.post(
        f"/park/subsidies/{program.id}/edit",
        data={"name": "x", "description": "", "enrollment": "automatic", "budget": "299.99"},
    )

    assert response.status_code == 422
    assert "The program has used ¥300.00 already." in response.get_data(as_text=True)
    assert program.budget_fen == 1_000_000


# Status -------------------------------------------------------------------------------------


def test_the_status_buttons_move_a_program_and_close_asks_first(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now(), status=ProgramStatus.DRAFT)
    as_admin(client, subsidy_world)
    base = f"/park/subsidies/{program.id}"

    statuses = []
    for action in ("activate", "pause", "resume"):
        assert client.post(f"{base}/{action}").status_code == 302
        statuses.append(program.status)
    confirm = client.get(f"{base}/close")
    assert program.status == "active"
    assert 'data-testid="confirm-close"' in confirm.get_data(as_text=True)
    assert client.post(f"{base}/close").status_code == 302

    assert [*statuses, program.status] == ["active", "paused", "active", "closed"]
    assert client.post(f"{base}/resume").status_code == 409
    actions = session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.target_id == str(program.id))
    ).all()
    assert "subsidy_program.closed" in actions


def test_an_illegal_move_is_a_conflict(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    as_admin(client, subsidy_world)

    assert client.post(f"/park/subsidies/{program.id}/activate").status_code == 409
    assert program.status == "active"


# Policy -------------------------------------------------------------------------------------


def test_the_park_cap_is_set_and_bad_amounts_are_refused(
    client: FlaskClient, session: Session, subsidy_world: SubsidyWorld
) -> None:
    as_admin(client, subsidy_world)

    refused = client.post("/park/subsidies/policy", data={"firm_year_cap": "a lot"})
    assert refused.status_code == 422
    assert "Enter an amount in yuan" in refused.get_data(as_text=True)
    assert park_policy(session, subsidy_world.park.id) is None
    huge = client.post("/park/subsidies/policy", data={"firm_year_cap": "1e999999"})
    assert huge.status_code == 422 and "¥10,000,000,000" in huge.get_data(as_text=True)

    assert client.post("/park/subsidies/policy", data={"firm_year_cap": "20000"}).status_code == 302
    assert park_policy(session, subsidy_world.park.id) == 2_000_000
    assert "¥20,000.00" in client.get("/park/subsidies").get_data(as_text=True)


# Who may do what ----------------------------------------------------------------------------


def test_another_parks_program_is_not_found(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    theirs = add_program(session, make_org(OrgKind.PARK).id, clock.now())
    as_admin(client, subsidy_world)
    base = f"/park/subsidies/{theirs.id}"

    for url in (base, f"{base}/rules", f"{base}/edit", f"{base}/close"):
        assert client.get(url).status_code == 404, url
    for action in ("activate", "pause", "resume", "close"):
        assert client.post(f"{base}/{action}").status_code == 404, action
    assert client.post(f"{base}/rules", data=typed_rules(subsidy_world)).status_code == 404
    assert theirs.status == "active"
    assert theirs.name not in client.get("/park/subsidies").get_data(as_text=True)


def test_a_plain_member_may_look_but_not_change(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    member = make_member(subsidy_world.park, role="member")
    sign_in(client, member, subsidy_world.park)

    listing = client.get("/park/subsidies")
    assert listing.status_code == 200
    assert 'data-testid="new-program"' not in listing.get_data(as_text=True)
    assert client.get(f"/park/subsidies/{program.id}").status_code == 200
    assert client.get("/park/subsidies/policy").status_code == 200
    assert client.get("/park/subsidies/new").status_code == 403
    assert client.post(f"/park/subsidies/{program.id}/pause").status_code == 403
    assert client.post("/park/subsidies/policy", data={"firm_year_cap": "1"}).status_code == 403
    assert program.status == "active"


def test_a_firm_cannot_use_the_park_pages(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    sign_in(client, subsidy_world.firm_owner, subsidy_world.firm.organization)

    assert client.get("/park/subsidies").status_code == 404
    assert client.get(f"/park/subsidies/{program.id}").status_code == 404
    assert client.post(f"/park/subsidies/{program.id}/pause").status_code == 404
    assert client.post("/park/subsidies/new", data=typed_program(subsidy_world)).status_code == 404
    assert program.status == "active"


def test_a_visitor_is_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/park/subsidies")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
