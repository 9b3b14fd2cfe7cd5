"""The members page and changing members' roles."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.orgs.models import Membership
from tests.factories import make_member
from tests.orgs.conftest import (
    ROLES,
    Team,
    audit,
    login_next,
    make_person,
    make_team,
    rows,
    sign_in,
)


def _role_of(session: Session, membership_id: int) -> str | None:
    session.expire_all()
    stmt = sa.select(Membership.role).where(Membership.id == membership_id)
    return session.scalar(stmt)


def _another(team: Team, role: str) -> Membership:
    """Add a second user in role, so an actor never targets themselves by accident."""
    user = make_member(team.org, make_person(), role)
    return db.session.scalars(sa.select(Membership).where(Membership.user_id == user.id)).one()


# ---- the page -------------------------------------------------------------------------------


def test_the_members_page_lists_every_member_with_their_role(
    client: FlaskClient, session: Session
) -> None:
    team = make_team(name="泉州纺织有限公司")
    sign_in(client, team.users["owner"], team.org)

    response = client.get("/org/members")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "泉州纺织有限公司" in page
    for role in ROLES:
        user = team.users[role]
        assert user.email in page
        assert f'data-testid="member-{team.membership(role).id}"' in page
    assert "Owner" in page and "Admin" in page and "Billing" in page


def test_owners_see_controls_for_everyone_and_the_invitation_form(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    _another(team, "owner")
    sign_in(client, team.users["owner"], team.org)

    page = client.get("/org/members").get_data(as_text=True)

    assert page.count("Change role") == 5
    assert page.count(">Remove<") == 5
    assert 'action="/org/invitations"' in page
    assert '<option value="owner"' in page


def test_admins_see_no_controls_for_owners_and_cannot_offer_the_owner_role(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    sign_in(client, team.users["admin"], team.org)

    page = client.get("/org/members").get_data(as_text=True)

    owner_id = team.membership("owner").id
    assert f"/org/members/{owner_id}/role" not in page
    assert f"/org/members/{owner_id}/remove" not in page
    assert f"/org/members/{team.membership('member').id}/role" in page
    assert '<option value="owner"' not in page


@pytest.mark.parametrize("role", ["member", "billing"])
def test_members_and_billing_see_the_list_but_no_controls(
    client: FlaskClient, session: Session, role: str
) -> None:
    team = make_team()
    sign_in(client, team.users[role], team.org)

    page = client.get("/org/members").get_data(as_text=True)

    assert team.users["owner"].email in page
    assert "Change role" not in page and ">Remove<" not in page
    assert 'action="/org/invitations"' not in page
    assert "Leave this organization" in page


def test_the_members_page_needs_an_organization(client: FlaskClient, session: Session) -> None:
    sign_in(client, make_person())

    assert client.get("/org/members").status_code == 403


def test_the_members_page_needs_a_signed_in_user(client: FlaskClient, session: Session) -> None:
    response = client.get("/org/members")

    assert login_next(response) == "/org/members"


# ---- changing roles -------------------------------------------------------------------------

ROLE_CHANGES = [
    ("owner", "owner", "admin", 302),
    ("owner", "admin", "owner", 302),
    ("owner", "member", "billing", 302),
    ("owner", "billing", "admin", 302),
    ("admin", "owner", "member", 403),
    ("admin", "admin", "member", 302),
    ("admin", "member", "owner", 403),
    ("admin", "member", "billing", 302),
    ("admin", "billing", "admin", 302),
    ("member", "member", "billing", 403),
    ("member", "admin", "member", 403),
    ("member", "billing", "owner", 403),
    ("billing", "billing", "member", 403),
    ("billing", "member", "admin", 403),
    ("billing", "owner", "member", 403),
]


@pytest.mark.parametrize(("actor", "target", "new", "status"), ROLE_CHANGES)
def test_role_changes_follow_the_role_matrix(
    client: FlaskClient, session: Session, actor: str, target: str, new: str, status: int
) -> None:
    team = make_team()
    victim = _another(team, target)
    sign_in(client, team.users[actor], team.org)

    response = client.post(f"/org/members/{victim.id}/role", data={"role": new})

    assert response.status_code == status
    assert _role_of(session, victim.id) == (new if status == 302 else target)
    assert len(audit(session, "membership.role_changed")) == (1 if status == 302 else 0)


def test_a_role_change_is_audited_with_before_and_after(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    member = team.membership("member")
    sign_in(client, team.users["admin"], team.org)

    response = client.post(f"/org/members/{member.id}/role", data={"role": "billing"})

    assert response.headers["Location"] == "/org/members"
    [entry] = audit(session, "membership.role_changed")
    assert entry.actor_user_id == team.users["admin"].id
    assert entry.actor_org_id == team.org.id
    assert entry.subject_org_id == team.org.id
    assert (entry.target_type, entry.target_id) == ("membership", str(member.id))
    assert entry.before == {
        "user_id": member.user_id,
        "organization_id": team.org.id,
        "role": "member",
    }
    assert entry.after == {**entry.before, "role": "billing"}


def test_giving_a_member_the_role_they_have_changes_nothing(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    sign_in(client, team.users["owner"], team.org)

    response = client.post(
        f"/org/members/{team.membership('member').id}/role", data={"role": "member"}
    )

    assert response.status_code == 302
    assert audit(session, "membership.role_changed") == []


@pytest.mark.parametrize("data", [{}, {"role": ""}, {"role": "king"}])
def test_an_unknown_role_is_refused_naming_the_role_field(
    client: FlaskClient, session: Session, data: dict[str, str]
) -> None:
    team = make_team()
    sign_in(client, team.users["owner"], team.org)
    before = rows(session)

    response = client.post(f"/org/members/{team.membership('member').id}/role", data=data)

    assert response.status_code == 422
    assert "role" in response.get_data(as_text=True)
    assert rows(session) == before


def test_changing_the_role_of_a_membership_that_does_not_exist_answers_404(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    sign_in(client, team.users["owner"], team.org)

    assert client.post("/org/members/987654321/role", data={"role": "admin"}).status_code == 404
