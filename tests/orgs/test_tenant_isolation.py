"""Tenant isolation: ids of another organization's members and invitations answer 404."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.audit.models import AuditEntry
from marketplace.orgs.models import Invitation
from tests.factories import make_member
from tests.orgs.conftest import Team, acting_org_id, invite, make_team, rows, sign_in


def _routes_with_ids_of(other: Team, invitation_id: int) -> list[tuple[str, dict[str, str]]]:
    member_id = other.membership("member").id
    owner_id = other.membership("owner").id
    return [
        (f"/org/members/{member_id}/role", {"role": "admin"}),
        (f"/org/members/{owner_id}/role", {"role": "member"}),
        (f"/org/members/{member_id}/remove", {}),
        (f"/org/members/{owner_id}/remove", {}),
        (f"/org/invitations/{invitation_id}/revoke", {}),
    ]


def _audit_count(session: Session) -> int:
    return int(session.scalar(sa.select(sa.func.count(AuditEntry.id))) or 0)


def _open_invitation_id(session: Session, team: Team) -> int:
    stmt = sa.select(Invitation.id).where(Invitation.organization_id == team.org.id)
    return int(session.scalars(stmt).one())


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_a_manager_of_firm_a_gets_404_for_every_id_of_firm_b_and_nothing_changes(
    client: FlaskClient, session: Session, role: str
) -> None:
    firm_a, firm_b = make_team(name="甲公司"), make_team(name="乙公司")
    invite(firm_b, "b-guest@example.com", "member")
    invitation_id = _open_invitation_id(session, firm_b)
    sign_in(client, firm_a.users[role], firm_a.org)
    before, audited = rows(session), _audit_count(session)

    for url, data in _routes_with_ids_of(firm_b, invitation_id):
        response = client.post(url, data=data)
        assert response.status_code == 404, url
        assert "乙公司" not in response.get_data(as_text=True)

    assert rows(session) == before
    assert _audit_count(session) == audited


def test_belonging_to_both_firms_does_not_open_firm_b_ids_while_acting_for_firm_a(
    client: FlaskClient, session: Session
) -> None:
    firm_a, firm_b = make_team(name="甲公司"), make_team(name="乙公司")
    both = firm_a.users["owner"]
    make_member(firm_b.org, both, "owner")
    invite(firm_b, "b-guest@example.com")
    invitation_id = _open_invitation_id(session, firm_b)
    sign_in(client, both, firm_a.org)
    before = rows(session)

    for url, data in _routes_with_ids_of(firm_b, invitation_id):
        assert client.post(url, data=data).status_code == 404, url

    assert rows(session) == before
    assert acting_org_id(client) == firm_a.org.id


def test_the_members_page_shows_only_the_acting_firms_members_and_invitations(
    client: FlaskClient, session: Session
) -> None:
    firm_a, firm_b = make_team(name="甲公司"), make_team(name="乙公司")
    invite(firm_a, "a-guest@example.com")
    invite(firm_b, "b-guest@example.com")
    sign_in(client, firm_a.users["owner"], firm_a.org)

    page = client.get("/org/members").get_data(as_text=True)

    assert "a-guest@example.com" in page and "b-guest@example.com" not in page
    for role in ("owner", "admin", "member", "billing"):
        assert firm_a.users[role].email in page
        assert firm_b.users[role].email not in page
        assert f"member-{firm_b.membership(role).id}" not in page


def test_a_member_of_firm_a_cannot_switch_into_firm_b(
    client: FlaskClient, session: Session
) -> None:
    firm_a, firm_b = make_team(), make_team()
    sign_in(client, firm_a.users["member"], firm_a.org)

    response = client.post("/orgs/switch", data={"org_id": firm_b.org.id})

    assert response.status_code == 404
    assert acting_org_id(client) == firm_a.org.id


def test_my_organizations_lists_only_the_users_own_memberships(
    client: FlaskClient, session: Session
) -> None:
    firm_a = make_team(name="甲公司")
    make_team(name="乙公司")
    sign_in(client, firm_a.users["billing"], firm_a.org)

    page = client.get("/orgs").get_data(as_text=True)

    assert "甲公司" in page and "乙公司" not in page


def test_firm_b_can_still_change_its_own_rows_afterwards(
    client: FlaskClient, session: Session
) -> None:
    firm_a, firm_b = make_team(), make_team()
    target = firm_b.membership("member")
    sign_in(client, firm_a.users["owner"], firm_a.org)
    assert client.post(f"/org/members/{target.id}/role", data={"role": "admin"}).status_code == 404
    sign_in(client, firm_b.users["owner"], firm_b.org)

    assert client.post(f"/org/members/{target.id}/role", data={"role": "admin"}).status_code == 302
