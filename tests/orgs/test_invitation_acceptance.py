"""The invited person's page: accept, or a clear refusal when the invitation cannot be used."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.clock import FrozenClock
from marketplace.orgs.models import Invitation, Membership, OrgStatus
from tests.factories import make_member, make_org
from tests.orgs.conftest import (
    acting_org_id,
    audit,
    invite,
    login_next,
    make_person,
    make_team,
    rows,
    sign_in,
    sign_out,
)


def _invitations(session: Session, org_id: int) -> list[Invitation]:
    session.expire_all()
    stmt = sa.select(Invitation).where(Invitation.organization_id == org_id)
    return list(session.scalars(stmt.order_by(Invitation.id)))


def _membership(session: Session, org_id: int, user_id: int) -> Membership | None:
    stmt = sa.select(Membership).where(
        Membership.organization_id == org_id, Membership.user_id == user_id
    )
    return session.scalars(stmt).one_or_none()


# ---- accepting ------------------------------------------------------------------------------


def test_the_accept_page_shows_the_organization_and_role(
    client: FlaskClient, session: Session
) -> None:
    team = make_team(name="莆田鞋业集团")
    token = invite(team, "invitee@example.com", "admin")
    sign_in(client, make_person("Invitee@Example.com"))

    response = client.get(f"/invitations/{token}")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "莆田鞋业集团" in page and "Admin" in page
    assert "Accept invitation" in page


def test_accepting_makes_the_user_a_member_and_acts_for_the_org(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    team = make_team()
    token = invite(team, "invitee@example.com", "billing")
    user = make_person("invitee@example.com")
    elsewhere = make_org()
    make_member(elsewhere, user)
    sign_in(client, user, elsewhere)

    response = client.post(f"/invitations/{token}")

    assert response.status_code == 302
    assert response.headers["Location"] == "/org/members"
    membership = _membership(session, team.org.id, user.id)
    assert membership is not None and membership.role == "billing"
    [invitation] = _invitations(session, team.org.id)
    assert invitation.accepted_at == clock.now()
    assert invitation.accepted_by_id == user.id
    assert acting_org_id(client) == team.org.id
    [entry] = audit(session, "invitation.accepted")
    assert entry.actor_user_id == user.id
    assert entry.subject_org_id == team.org.id
    assert entry.before is not None and entry.before["accepted_at"] is None
    assert entry.after is not None
    assert entry.after["membership_id"] == membership.id
    assert entry.after["role"] == "billing"


def test_the_accept_page_sends_a_visitor_to_log_in_and_back(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    token = invite(team, "invitee@example.com")

    response = client.get(f"/invitations/{token}")

    assert login_next(response) == f"/invitations/{token}"


def test_accepting_with_another_email_is_refused_clearly(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    token = invite(team, "invitee@example.com")
    stranger = make_person("stranger@example.com")
    sign_in(client, stranger)
    before = rows(session)

    for response in (client.get(f"/invitations/{token}"), client.post(f"/invitations/{token}")):
        assert response.status_code == 403
        page = response.get_data(as_text=True)
        assert "different email address" in page and "stranger@example.com" in page

    assert rows(session) == before


def test_an_expired_invitation_cannot_be_accepted(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    team = make_team()
    token = invite(team, "slow@example.com")
    user = make_person("slow@example.com")
    clock.advance(timedelta(days=7))
    sign_in(client, user)

    for response in (client.get(f"/invitations/{token}"), client.post(f"/invitations/{token}")):
        assert response.status_code == 410
        assert "expired" in response.get_data(as_text=True)

    assert _membership(session, team.org.id, user.id) is None


def test_an_invitation_still_works_just_before_it_expires(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    team = make_team()
    token = invite(team, "justintime@example.com")
    user = make_person("justintime@example.com")
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    sign_in(client, user)

    assert client.post(f"/invitations/{token}").status_code == 302


def test_a_revoked_invitation_cannot_be_accepted(client: FlaskClient, session: Session) -> None:
    team = make_team()
    token = invite(team, "gone@example.com")
    [invitation] = _invitations(session, team.org.id)
    sign_in(client, team.users["owner"], team.org)
    client.post(f"/org/invitations/{invitation.id}/revoke")
    user = make_person("gone@example.com")
    sign_in(client, user)

    response = client.post(f"/invitations/{token}")

    assert response.status_code == 410
    assert "withdrawn" in response.get_data(as_text=True)
    assert _membership(session, team.org.id, user.id) is None


def test_an_invitation_can_be_used_only_once(client: FlaskClient, session: Session) -> None:
    team = make_team()
    token = invite(team, "once@example.com")
    user = make_person("once@example.com")
    sign_in(client, user)
    assert client.post(f"/invitations/{token}").status_code == 302

    again = client.post(f"/invitations/{token}")

    assert again.status_code == 410
    assert "already been used" in again.get_data(as_text=True)
    assert len(audit(session, "invitation.accepted")) == 1


def test_an_unknown_token_answers_404(client: FlaskClient, session: Session) -> None:
    sign_in(client, make_person())

    assert client.get("/invitations/not-a-real-token").status_code == 404
    assert client.post("/invitations/not-a-real-token").status_code == 404


def test_a_member_cannot_accept_an_invitation_into_their_own_org_again(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    member = team.users["member"]
    token = invite(team, "future@example.com")
    # The invited address later became a member's address through an email change.
    member.email = "future@example.com"
    session.flush()
    sign_in(client, member)

    response = client.post(f"/invitations/{token}")

    assert response.status_code == 409
    assert _invitations(session, team.org.id)[0].accepted_at is None


def test_an_invitation_into_a_suspended_org_cannot_be_accepted(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    token = invite(team, "late@example.com")
    team.org.status = OrgStatus.SUSPENDED
    session.flush()
    user = make_person("late@example.com")
    sign_in(client, user)

    assert client.post(f"/invitations/{token}").status_code == 403
    assert _membership(session, team.org.id, user.id) is None


def test_signing_out_and_in_as_the_invitee_lets_them_accept(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    token = invite(team, "switcher@example.com")
    sign_in(client, team.users["owner"], team.org)
    assert client.get(f"/invitations/{token}").status_code == 403
    sign_out(client)
    user = make_person("switcher@example.com")
    sign_in(client, user)

    assert client.post(f"/invitations/{token}").status_code == 302
    assert _membership(session, team.org.id, user.id) is not None
