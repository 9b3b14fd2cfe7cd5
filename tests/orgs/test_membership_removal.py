"""Removing members, leaving, the last owner, and a suspended organization."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.orgs.models import Membership, OrgStatus
from tests.factories import make_member
from tests.orgs.conftest import (
    Team,
    acting_org_id,
    audit,
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


# ---- removing -------------------------------------------------------------------------------

REMOVALS = [
    ("owner", "owner", 302),
    ("owner", "admin", 302),
    ("owner", "billing", 302),
    ("admin", "owner", 403),
    ("admin", "admin", 302),
    ("admin", "member", 302),
    ("admin", "billing", 302),
    ("member", "billing", 403),
    ("member", "owner", 403),
    ("billing", "member", 403),
    ("billing", "admin", 403),
]


@pytest.mark.parametrize(("actor", "target", "status"), REMOVALS)
def test_removals_follow_the_role_matrix(
    client: FlaskClient, session: Session, actor: str, target: str, status: int
) -> None:
    team = make_team()
    victim = _another(team, target)
    victim_id = victim.id
    sign_in(client, team.users[actor], team.org)

    response = client.post(f"/org/members/{victim_id}/remove")

    assert response.status_code == status
    assert (_role_of(session, victim_id) is None) is (status == 302)


def test_a_removal_is_audited_with_the_membership_before(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    billing = team.membership("billing")
    billing_id, billing_user_id = billing.id, billing.user_id
    sign_in(client, team.users["owner"], team.org)

    response = client.post(f"/org/members/{billing_id}/remove")

    assert response.headers["Location"] == "/org/members"
    [entry] = audit(session, "membership.removed")
    assert entry.subject_org_id == team.org.id
    assert entry.before == {
        "user_id": billing_user_id,
        "organization_id": team.org.id,
        "role": "billing",
    }
    assert entry.after is None


def test_removing_a_membership_that_does_not_exist_answers_404(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    sign_in(client, team.users["owner"], team.org)

    assert client.post("/org/members/987654321/remove").status_code == 404


# ---- the last owner -------------------------------------------------------------------------


def test_the_last_owner_cannot_be_demoted(client: FlaskClient, session: Session) -> None:
    team = make_team()
    owner = team.membership("owner")
    sign_in(client, team.users["owner"], team.org)

    response = client.post(f"/org/members/{owner.id}/role", data={"role": "admin"})

    assert response.status_code == 409
    assert "at least one owner" in response.get_data(as_text=True)
    assert _role_of(session, owner.id) == "owner"
    assert audit(session, "membership.role_changed") == []


def test_the_last_owner_cannot_be_removed(client: FlaskClient, session: Session) -> None:
    team = make_team()
    owner = team.membership("owner")
    sign_in(client, team.users["owner"], team.org)

    response = client.post(f"/org/members/{owner.id}/remove")

    assert response.status_code == 409
    assert "at least one owner" in response.get_data(as_text=True)
    assert _role_of(session, owner.id) == "owner"


def test_of_two_owners_one_may_step_down_but_then_the_other_may_not(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    first, second = team.membership("owner"), _another(team, "owner")
    sign_in(client, team.users["owner"], team.org)

    assert client.post(f"/org/members/{first.id}/role", data={"role": "admin"}).status_code == 302
    sign_in(client, second.user, team.org)
    assert client.post(f"/org/members/{second.id}/role", data={"role": "admin"}).status_code == 409

    assert _role_of(session, second.id) == "owner"


def test_the_last_owner_sees_no_controls_on_their_own_row_and_no_leave_button(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    owner = team.membership("owner")
    sign_in(client, team.users["owner"], team.org)

    page = client.get("/org/members").get_data(as_text=True)

    assert f"/org/members/{owner.id}/role" not in page
    assert "Leave this organization" not in page
    assert "You are the last owner" in page


# ---- leaving --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "member", "billing"])
def test_a_member_may_leave_and_the_acting_org_is_forgotten(
    client: FlaskClient, session: Session, role: str
) -> None:
    team = make_team()
    membership = team.membership(role)
    membership_id = membership.id
    sign_in(client, team.users[role], team.org)

    response = client.post("/org/leave")

    assert response.status_code == 302
    assert response.headers["Location"] == "/orgs"
    assert _role_of(session, membership_id) is None
    assert acting_org_id(client) is None
    [entry] = audit(session, "membership.left")
    assert entry.actor_user_id == team.users[role].id
    assert entry.subject_org_id == team.org.id
    assert entry.before is not None and entry.before["role"] == role


def test_an_owner_may_leave_when_another_owner_stays(client: FlaskClient, session: Session) -> None:
    team = make_team()
    _another(team, "owner")
    sign_in(client, team.users["owner"], team.org)

    assert client.post("/org/leave").status_code == 302


def test_the_last_owner_cannot_leave(client: FlaskClient, session: Session) -> None:
    team = make_team()
    sign_in(client, team.users["owner"], team.org)
    before = rows(session)

    response = client.post("/org/leave")

    assert response.status_code == 409
    assert "at least one owner" in response.get_data(as_text=True)
    assert rows(session) == before
    assert audit(session, "membership.left") == []


def test_leaving_needs_an_organization(client: FlaskClient, session: Session) -> None:
    sign_in(client, make_person())

    assert client.post("/org/leave").status_code == 403


# ---- a suspended organization ---------------------------------------------------------------


def test_members_of_a_suspended_org_see_the_list_read_only(
    client: FlaskClient, session: Session
) -> None:
    team = make_team(status=OrgStatus.SUSPENDED)
    sign_in(client, team.users["owner"], team.org)

    response = client.get("/org/members")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-testid="suspended-notice"' in page
    assert team.users["member"].email in page
    assert "Change role" not in page and ">Remove<" not in page
    assert 'action="/org/invitations"' not in page and "Leave this organization" not in page


def test_every_change_to_a_suspended_org_is_refused(client: FlaskClient, session: Session) -> None:
    team = make_team(status=OrgStatus.SUSPENDED)
    _another(team, "owner")
    member_id = team.membership("member").id
    sign_in(client, team.users["owner"], team.org)
    before = rows(session)

    attempts = [
        ("/org/invitations", {"email": "new@example.com", "role": "member"}),
        (f"/org/members/{member_id}/role", {"role": "admin"}),
        (f"/org/members/{member_id}/remove", {}),
        ("/org/leave", {}),
    ]
    for url, data in attempts:
        response = client.post(url, data=data)
        assert response.status_code == 403, url
        assert "suspended" in response.get_data(as_text=True)

    assert rows(session) == before
