"""The console's services refuse bad input and wrong actors on their own, not only via forms."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.console import queries, services
from marketplace.errors import Forbidden, NotFound, ValidationFailed
from marketplace.orgs.models import Invitation, Organization, OrgKind, OrgStatus, Role
from tests.console.conftest import Operator, audit, reload
from tests.factories import make_member, make_org


def _owner(operator: Operator) -> Actor:
    return Actor(operator.owner.id, operator.org.id)


def test_an_actor_outside_the_operator_is_told_nothing_exists(
    session: Session, operator: Operator
) -> None:
    vendor = make_org(OrgKind.VENDOR)
    outsider = Actor(make_member(vendor, role=Role.OWNER).id, vendor.id)
    with pytest.raises(NotFound):
        queries.search_organizations(session, outsider)
    # Claiming the operator's id without a membership in it does not help either.
    with pytest.raises(NotFound):
        queries.search_users(session, Actor(outsider.user_id, operator.org.id))


def test_a_member_of_the_operator_may_read_but_not_act(
    session: Session, clock: FrozenClock, operator: Operator
) -> None:
    member = Actor(operator.member.id, operator.org.id)
    vendor = make_org(OrgKind.VENDOR)
    assert queries.organization_detail(session, member, vendor.id).organization.id == vendor.id
    with pytest.raises(Forbidden):
        services.suspend_organization(session, clock, member, vendor.id, "Spam")
    assert reload(session, vendor).status == OrgStatus.ACTIVE


def test_the_suspend_service_names_the_reason_field(
    session: Session, clock: FrozenClock, operator: Operator
) -> None:
    vendor = make_org(OrgKind.VENDOR)
    for reason in (None, "", "  ", "x" * 501):
        with pytest.raises(ValidationFailed) as failure:
            services.suspend_organization(session, clock, _owner(operator), vendor.id, reason)
        assert list(failure.value.errors) == ["reason"]
    assert reload(session, vendor).status == OrgStatus.ACTIVE
    assert audit(session, "organization.suspended") == []


def test_the_park_service_reports_both_bad_fields_and_adds_nothing(
    session: Session, clock: FrozenClock, operator: Operator
) -> None:
    with pytest.raises(ValidationFailed) as failure:
        services.create_park(
            session, clock, _owner(operator), "P", "nope", accept_url=lambda t: f"/i/{t}"
        )
    assert set(failure.value.errors) == {"name", "admin_email"}
    parks = session.scalars(sa.select(Organization).where(Organization.kind == OrgKind.PARK))
    assert list(parks) == []
    assert list(session.scalars(sa.select(Invitation))) == []


def test_an_unknown_kind_or_status_filter_names_its_field(
    session: Session, operator: Operator
) -> None:
    for field, kwargs in (("kind", {"kind": "bank"}), ("status", {"status": "asleep"})):
        with pytest.raises(ValidationFailed) as failure:
            queries.search_organizations(session, _owner(operator), **kwargs)
        assert list(failure.value.errors) == [field]


def test_a_page_past_the_end_is_empty(session: Session, operator: Operator) -> None:
    page = queries.search_organizations(session, _owner(operator), page=9)
    assert page.items == [] and not page.has_next and page.has_previous


def test_the_operator_actor_is_found_by_email_in_any_case(
    session: Session, operator: Operator
) -> None:
    assert services.operator_actor(session, " OWNER@ops.example ") == _owner(operator)
    vendor = make_org(OrgKind.VENDOR)
    stranger = make_member(vendor)
    with pytest.raises(NotFound):
        services.operator_actor(session, stranger.email)
