"""Enrollment pages: the firm's programs and applications, the park's decisions, the credit flag."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.subsidies import enrollment, ledger
from billing.subsidies.eligibility import Unmet
from billing.subsidies.models import EnrollmentMode, SubsidyEnrollment, SubsidyParkPolicy
from marketplace.clock import FrozenClock
from marketplace.console.queries import PAGE_SIZE
from marketplace.firms.models import SmeProfile
from marketplace.orgs.models import OrgKind, Role
from tests.billing.subsidies.test_enrollment import (
    BREAKERS,
    audit,
    dishonest,
    enrollment_of,
    firm_actor,
    flag,
    grant,
    pay_an_invoice,
    program,
    status_of,
)
from tests.billing.subsidies.world import (
    SubsidyWorld,
    add_member_firm,
    add_program,
    enroll,
    simple_rules,
)
from tests.factories import make_member, make_org
from tests.firms.conftest import firm_with_owner
from tests.sessions import sign_in


def as_firm(client: FlaskClient, world: SubsidyWorld, lang: str = "en") -> None:
    """Sign the firm's owner in, acting for the firm."""
    sign_in(client, world.firm_owner, world.firm.organization, lang=lang)


def as_park(client: FlaskClient, world: SubsidyWorld, lang: str = "en") -> None:
    """Sign the park's owner in, acting for the park."""
    sign_in(client, world.park_admin, world.park, lang=lang)


def page_of(response: Any) -> str:
    """Return a response's HTML."""
    return str(response.get_data(as_text=True))


# The firm's page ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_the_firm_page_names_every_rule_the_firm_does_not_meet(
    client: FlaskClient,
    session: Session,
    clock: FrozenClock,
    subsidy_world: SubsidyWorld,
    lang: str,
) -> None:
    world = subsidy_world
    rules: dict[str, Any] = {}
    for breaker in BREAKERS.values():
        rules |= breaker(session, world)
    pay_an_invoice(session, world)
    flag(session, world.firm_id)
    target = program(session, clock, world.park.id, **rules)
    as_firm(client, world, lang)

    response = client.get("/firm/subsidies")

    assert response.status_code == 200
    page = page_of(response)
    card = page[page.index(f'data-testid="program-{target.id}"') :]
    assert re.findall(r'data-rule="([a-z_]+)"', card) == [rule.value for rule in Unmet]
    assert 'data-testid="apply"' not in card
    if lang == "en":
        for words in (
            "size classes: Medium",
            "certain industries",
            "legal forms: Sole proprietor",
            "at least 1200 months",
            "seriously dishonest (严重失信)",
            "first time",
            "members of its park",
        ):
            assert words in card


def test_the_firm_applies_follows_and_withdraws_its_application(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    as_firm(client, world)
    assert 'data-testid="apply"' in page_of(client.get("/firm/subsidies"))
    assert client.get(f"/firm/subsidies/{target.id}/apply").status_code == 200

    response = client.post(f"/firm/subsidies/{target.id}/apply", data={"message": "ERP"})

    assert response.status_code == 302
    assert status_of(session, target.id, world.firm_id) == "applied"
    page = page_of(client.get("/firm/subsidies"))
    assert "Application pending" in page and 'data-testid="withdraw"' in page

    assert client.post(f"/firm/subsidies/{target.id}/withdraw").status_code == 302
    assert status_of(session, target.id, world.firm_id) == "withdrawn"
    assert "Apply again" in page_of(client.get("/firm/subsidies"))


def test_an_ineligible_application_is_refused_with_each_rule_and_nothing_saved(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(
        session, clock, world.park.id, size_classes=["medium"], min_months_registered=1200
    )
    as_firm(client, world)

    response = client.post(f"/firm/subsidies/{target.id}/apply", data={"message": ""})

    assert response.status_code == 422
    page = page_of(response)
    assert page.count('data-testid="form-error"') == 2
    assert "size classes: Medium" in page and "1200 months" in page
    assert enrollment_of(session, target.id, world.firm_id) is None


def test_a_too_long_message_is_shown_beside_its_box(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    as_firm(client, world)

    response = client.post(f"/firm/subsidies/{target.id}/apply", data={"message": "x" * 501})

    assert response.status_code == 422
    assert "at most 500 characters" in page_of(response)
    assert enrollment_of(session, target.id, world.firm_id) is None


def test_the_firm_joins_an_automatic_program_now(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id, enrollment_mode=EnrollmentMode.AUTOMATIC)
    as_firm(client, world)
    assert 'data-testid="join"' in page_of(client.get("/firm/subsidies"))

    assert client.post(f"/firm/subsidies/{target.id}/join").status_code == 302

    assert status_of(session, target.id, world.firm_id) == "approved"
    assert "Enrolled" in page_of(client.get("/firm/subsidies"))


def test_a_plain_member_of_the_firm_sees_the_programs_but_may_not_apply(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    member = make_member(world.firm.organization, role=Role.MEMBER)
    sign_in(client, member, world.firm.organization)

    page = page_of(client.get("/firm/subsidies"))

    assert f'data-testid="program-{target.id}"' in page and 'data-testid="apply"' not in page
    assert client.post(f"/firm/subsidies/{target.id}/apply", data={}).status_code == 403
    assert enrollment_of(session, target.id, world.firm_id) is None


def test_the_firm_page_shows_subsidy_received_against_the_caps(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    caps = {"per_firm_fen": 500000, "first_claim_fen": 300000, "later_claim_fen": 100000}
    capped = add_program(session, world.park.id, clock.now(), rules=simple_rules(caps=caps))
    enroll(session, capped.id, world.firm_id, clock.now())
    session.add(
        SubsidyParkPolicy(park_id=world.park.id, firm_year_cap_fen=800000, updated_at=clock.now())
    )
    grant(session, clock, world, capped.id, 123456)
    voided = grant(session, clock, world, capped.id, 700)
    ledger.release_invoice(session, clock, voided)
    as_firm(client, world)

    page = page_of(client.get("/firm/subsidies"))

    row = page[page.index(f'data-testid="received-{capped.id}"') :]
    assert '"granted">¥1,234.56<' in row
    assert '"per-firm-cap">¥5,000.00<' in row
    assert '"per-firm-left">¥3,765.44<' in row
    assert '"claims">1<' in row
    assert '"next-claim-cap">¥1,000.00<' in row
    assert "¥1,234.56</strong> / ¥8,000.00" in page


def test_another_firm_sees_nothing_of_this_firms_application(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    target = program(session, clock, world.park.id)
    enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "")
    other, owner = firm_with_owner()
    sign_in(client, owner, other.organization)

    page = page_of(client.get("/firm/subsidies"))
    assert "Application pending" not in page

    assert client.post(f"/firm/subsidies/{target.id}/withdraw").status_code == 404
    assert status_of(session, target.id, world.firm_id) == "applied"


def test_a_park_user_cannot_open_the_firm_pages(
    client: FlaskClient, subsidy_world: SubsidyWorld
) -> None:
    as_park(client, subsidy_world)

    assert client.get("/firm/subsidies").status_code == 404


# The park's pages ----------------------------------------------------------------------------


def applied(session: Session, clock: FrozenClock, world: SubsidyWorld, **rules: Any) -> Any:
    """Return the firm's pending application to a new application program of the park."""
    target = program(session, clock, world.park.id, **rules)
    return enrollment.apply(session, clock, firm_actor(world), world.firm_id, target.id, "ERP")


def test_the_park_sees_applications_with_size_class_and_standard_and_approves(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    made = applied(session, clock, world)
    as_park(client, world)

    page = page_of(client.get("/park/subsidies/applications"))

    row = page[page.index(f'data-testid="application-{made.id}"') :]
    assert world.firm.organization.name in row and "ERP" in row
    assert '"size-class">Small<' in row
    assert world.firm.size_standard_id in row

    response = client.post(f"/park/subsidies/applications/{made.id}/approve")

    assert response.status_code == 302
    assert status_of(session, made.program_id, world.firm_id) == "approved"
    firms = page_of(client.get(f"/park/subsidies/{made.program_id}/firms"))
    assert f'data-testid="enrolled-{world.firm_id}"' in firms


def test_approving_an_ineligible_firm_is_refused_and_the_rules_are_shown(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    made = applied(session, clock, world)
    flag(session, world.firm_id)
    as_park(client, world)

    response = client.post(f"/park/subsidies/applications/{made.id}/approve", follow_redirects=True)

    assert response.status_code == 200
    assert "seriously dishonest (严重失信)" in page_of(response)
    assert status_of(session, made.program_id, world.firm_id) == "applied"
    assert audit(session, "subsidy_enrollment.approved") == []


def test_rejecting_asks_for_a_reason_and_the_firm_sees_it(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    made = applied(session, clock, world)
    as_park(client, world)
    url = f"/park/subsidies/applications/{made.id}/reject"
    assert client.get(url).status_code == 200

    refused = client.post(url, data={"reason": "  "})

    assert refused.status_code == 422 and "Give a reason." in page_of(refused)
    assert status_of(session, made.program_id, world.firm_id) == "applied"

    assert client.post(url, data={"reason": "No cloud purchase planned"}).status_code == 302
    assert status_of(session, made.program_id, world.firm_id) == "rejected"
    as_firm(client, world)
    page = page_of(client.get("/firm/subsidies"))
    assert "No cloud purchase planned" in page and "Apply again" in page


def test_another_park_gets_not_found_for_this_parks_applications_and_programs(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    made = applied(session, clock, world)
    elsewhere = make_org(OrgKind.PARK, "Other park")
    sign_in(client, make_member(elsewhere), elsewhere)

    assert f"application-{made.id}" not in page_of(client.get("/park/subsidies/applications"))
    assert client.post(f"/park/subsidies/applications/{made.id}/approve").status_code == 404
    assert client.get(f"/park/subsidies/applications/{made.id}/reject").status_code == 404
    reject = client.post(f"/park/subsidies/applications/{made.id}/reject", data={"reason": "x"})
    assert reject.status_code == 404
    assert client.get(f"/park/subsidies/{made.program_id}/firms").status_code == 404
    assert status_of(session, made.program_id, world.firm_id) == "applied"


def test_a_firm_user_cannot_open_the_park_pages(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    made = applied(session, clock, world)
    as_firm(client, world)

    assert client.get("/park/subsidies/applications").status_code == 404
    assert client.post(f"/park/subsidies/applications/{made.id}/approve").status_code == 404


# The operator's credit flag ---------------------------------------------------------------------


def as_operator(client: FlaskClient, role: str = Role.OWNER) -> None:
    """Sign a member of the operator in, acting for it."""
    org = make_org(OrgKind.OPERATOR, "Yunshi")
    sign_in(client, make_member(org, role=role), org)


def test_the_operator_flags_a_firm_from_the_credit_flag_page(
    client: FlaskClient, session: Session, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    as_operator(client)
    url = f"/operator/firms/{world.firm_id}/credit-flag"
    assert "Not flagged" in page_of(client.get(url))

    refused = client.post(url, data={"flagged": "y", "note": ""})
    assert refused.status_code == 422 and "Say where the firm is listed." in page_of(refused)

    response = client.post(url, data={"flagged": "y", "note": "信用中国 2026-031"})

    assert response.status_code == 302
    session.expire_all()
    profile = session.get(SmeProfile, world.firm_id)
    assert profile is not None and profile.seriously_dishonest
    assert profile.dishonest_note == "信用中国 2026-031"
    assert len(audit(session, "sme_profile.dishonest_flagged")) == 1


def test_only_an_acting_operator_may_change_the_credit_flag(
    client: FlaskClient, session: Session, subsidy_world: SubsidyWorld
) -> None:
    world = subsidy_world
    url = f"/operator/firms/{world.firm_id}/credit-flag"
    as_operator(client, Role.MEMBER)
    assert client.get(url).status_code == 200
    assert client.post(url, data={"flagged": "y", "note": "x"}).status_code == 403
    as_firm(client, world)
    assert client.get(url).status_code == 404
    assert client.post(url, data={"flagged": "y", "note": "x"}).status_code == 404
    session.expire_all()
    assert dishonest(session, world.firm_id) is False


def test_the_applications_list_pages_by_fifty(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    target = add_program(
        session, subsidy_world.park.id, clock.now(), enrollment=EnrollmentMode.APPLICATION
    )
    for _ in range(PAGE_SIZE + 1):
        firm, _owner = add_member_firm(session, subsidy_world.park, clock.now())
        session.add(
            SubsidyEnrollment(
                program_id=target.id, firm_id=firm.organization_id, requested_at=clock.now()
            )
        )
    session.flush()
    sign_in(client, subsidy_world.park_admin, subsidy_world.park)

    first = client.get("/park/subsidies/applications").get_data(as_text=True)
    second = client.get("/park/subsidies/applications?page=2").get_data(as_text=True)

    assert first.count('data-testid="application-') == PAGE_SIZE and 'rel="next"' in first
    assert second.count('data-testid="application-') == 1 and 'rel="prev"' in second
