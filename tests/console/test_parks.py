"""The operator creates an industrial park and invites its first admin."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.mail.models import OutboundEmail
from marketplace.orgs.models import Invitation, Membership, Organization, OrgKind, Role
from tests.console.conftest import Operator, audit, sign_in
from tests.factories import make_user


def _parks(session: Session) -> list[Organization]:
    stmt = sa.select(Organization).where(Organization.kind == OrgKind.PARK)
    return list(session.scalars(stmt))


def _invitations(session: Session) -> list[Invitation]:
    return list(session.scalars(sa.select(Invitation).order_by(Invitation.id)))


def test_the_new_park_page_shows_the_form(console: FlaskClient) -> None:
    response = console.get("/console/parks/new")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="name"' in page and 'name="admin_email"' in page


def test_creating_a_park_adds_the_organization_an_owner_invitation_and_audit_entries(
    console: FlaskClient, session: Session, operator: Operator
) -> None:
    response = console.post(
        "/console/parks/new",
        data={"name": " 福州软件园 ", "admin_email": "Admin@FZSP.example"},
    )
    assert response.status_code == 302
    [park] = _parks(session)
    assert response.headers["Location"].endswith(f"/console/orgs/{park.id}")
    assert park.name == "福州软件园" and park.is_active
    [invitation] = _invitations(session)
    assert invitation.organization_id == park.id
    assert invitation.email == "admin@fzsp.example" and invitation.role == Role.OWNER
    assert invitation.invited_by_id == operator.owner.id
    [created] = audit(session, "organization.created")
    assert created.subject_org_id == park.id and created.actor_user_id == operator.owner.id
    [invited] = audit(session, "invitation.created")
    assert invited.subject_org_id == park.id and invited.after is not None
    assert invited.after["role"] == "owner"
    [mail] = session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.to_address == "admin@fzsp.example")
    )
    assert "福州软件园" in mail.subject and "/invitations/" in mail.body


def test_the_invited_admin_becomes_the_parks_owner_on_accepting(
    console: FlaskClient, session: Session
) -> None:
    console.post(
        "/console/parks/new", data={"name": "厦门软件园", "admin_email": "wu@xmsp.example"}
    )
    [park] = _parks(session)
    [mail] = session.scalars(sa.select(OutboundEmail).where(OutboundEmail.kind == "invitation"))
    match = re.search(r"/invitations/(\S+)", mail.body)
    assert match is not None
    wu = make_user("wu@xmsp.example")
    sign_in(console, wu)
    assert console.post(f"/invitations/{match.group(1)}").status_code == 302
    membership = session.scalar(sa.select(Membership).where(Membership.user_id == wu.id))
    assert membership is not None
    assert (membership.organization_id, membership.role) == (park.id, Role.OWNER)


def test_a_bad_name_or_email_names_each_field_and_creates_nothing(
    console: FlaskClient, session: Session
) -> None:
    for data in (
        {"name": "X", "admin_email": "admin@fzsp.example"},
        {"name": "福州软件园", "admin_email": "not-an-email"},
        {"name": "", "admin_email": ""},
        {"name": "P" * 201, "admin_email": "admin@fzsp.example"},
    ):
        response = console.post("/console/parks/new", data=data)
        assert response.status_code == 422
        assert "is-invalid" in response.get_data(as_text=True)
    assert _parks(session) == [] and _invitations(session) == []
    assert audit(session, "organization.created") == []


def test_both_bad_fields_are_reported_at_once(console: FlaskClient) -> None:
    response = console.post("/console/parks/new", data={"name": "X", "admin_email": "nope"})
    page = response.get_data(as_text=True)
    assert page.count("invalid-feedback") >= 2
