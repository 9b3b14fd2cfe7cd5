"""Applying as a vendor, and the create_organization service other parts use."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, ValidationFailed
from marketplace.orgs.models import Membership, Organization, OrgKind
from marketplace.orgs.services import create_organization
from tests.factories import make_member, make_org, make_user
from tests.orgs.conftest import acting_org_id, audit, login_next, make_person, sign_in


def _organizations(session: Session, kind: str) -> list[Organization]:
    stmt = sa.select(Organization).where(Organization.kind == kind).order_by(Organization.id)
    return list(session.scalars(stmt))


def test_the_vendor_application_form_is_shown_with_the_review_note(
    client: FlaskClient, session: Session
) -> None:
    sign_in(client, make_person())

    response = client.get("/vendors/new")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="name"' in page
    assert "will review vendors" in page


def test_applying_as_a_vendor_creates_a_vendor_org_owned_by_the_user_and_acts_for_it(
    client: FlaskClient, session: Session
) -> None:
    user = make_person()
    sign_in(client, user)

    response = client.post("/vendors/new", data={"name": "  厦门 云帆科技  "})

    assert response.status_code == 302
    assert response.headers["Location"] == "/orgs"
    vendor = _organizations(session, OrgKind.VENDOR)[-1]
    assert vendor.name == "厦门 云帆科技"
    assert vendor.status == "active"
    membership = session.scalars(
        sa.select(Membership).where(Membership.organization_id == vendor.id)
    ).one()
    assert (membership.user_id, membership.role) == (user.id, "owner")
    assert acting_org_id(client) == vendor.id
    [entry] = audit(session, "organization.created")
    assert entry.subject_org_id == vendor.id
    assert entry.actor_user_id == user.id
    assert entry.before is None
    assert entry.after == {
        "kind": "vendor",
        "name": "厦门 云帆科技",
        "status": "active",
        "owner_user_id": user.id,
    }


@pytest.mark.parametrize("name", ["", "   ", "x", "云", "x" * 201])
def test_a_vendor_name_outside_2_to_200_characters_is_refused_and_nothing_is_saved(
    client: FlaskClient, session: Session, name: str
) -> None:
    sign_in(client, make_person())
    before = len(_organizations(session, OrgKind.VENDOR))

    response = client.post("/vendors/new", data={"name": name})

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "is-invalid" in page
    assert len(_organizations(session, OrgKind.VENDOR)) == before
    assert audit(session, "organization.created") == []


def test_a_name_of_two_spaced_characters_counts_its_trimmed_length(
    client: FlaskClient, session: Session
) -> None:
    sign_in(client, make_person())

    response = client.post("/vendors/new", data={"name": " 云 "})

    assert response.status_code == 422
    assert "2 to 200 characters" in response.get_data(as_text=True)


def test_applying_as_a_vendor_needs_a_signed_in_user(client: FlaskClient, session: Session) -> None:
    response = client.post("/vendors/new", data={"name": "云帆科技"})

    assert login_next(response) == "/vendors/new"
    assert audit(session, "organization.created") == []


def test_create_organization_makes_a_park_without_an_owner(
    session: Session, clock: FrozenClock
) -> None:
    operator = make_org(OrgKind.OPERATOR)
    admin = make_member(operator)

    park = create_organization(
        session,
        clock,
        kind=OrgKind.PARK,
        name="福州软件园",
        owner=None,
        actor=Actor(admin.id, operator.id),
    )

    assert park.kind == "park" and park.created_at == clock.now()
    assert park.memberships == []
    [entry] = audit(session, "organization.created")
    assert entry.actor_org_id == operator.id and entry.after is not None
    assert entry.after["owner_user_id"] is None


def test_create_organization_refuses_an_unknown_kind(session: Session, clock: FrozenClock) -> None:
    with pytest.raises(ValidationFailed) as caught:
        create_organization(
            session, clock, kind="club", name="某俱乐部", owner=None, actor=Actor(None)
        )

    assert "kind" in caught.value.errors


def test_only_one_operator_organization_may_exist(session: Session, clock: FrozenClock) -> None:
    existing = _organizations(session, OrgKind.OPERATOR)
    if not existing:
        create_organization(
            session, clock, kind=OrgKind.OPERATOR, name="云市运营", owner=None, actor=Actor(None)
        )

    with pytest.raises(Conflict):
        create_organization(
            session, clock, kind=OrgKind.OPERATOR, name="第二运营", owner=None, actor=Actor(None)
        )

    assert [o.name for o in _organizations(session, OrgKind.OPERATOR)].count("第二运营") == 0


def test_an_unconfirmed_user_cannot_apply_as_a_vendor(
    client: FlaskClient, session: Session
) -> None:
    user = make_user(confirmed=False)
    sign_in(client, user)

    response = client.post("/vendors/new", data={"name": "未验证服务商有限公司"})

    assert response.status_code == 403
    assert _organizations(session, OrgKind.VENDOR) == []
