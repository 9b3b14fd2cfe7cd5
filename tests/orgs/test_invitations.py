"""Invitations: send, replace, revoke, and how the members page lists them."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.clock import FrozenClock
from marketplace.orgs.models import Invitation, Membership
from tests.orgs.conftest import (
    audit,
    invite,
    mails_to,
    make_person,
    make_team,
    sign_in,
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


# ---- sending --------------------------------------------------------------------------------


def test_inviting_stores_a_hashed_token_expiring_in_seven_days_and_mails_the_link(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    team = make_team(name="漳州食品有限公司")
    sign_in(client, team.users["admin"], team.org)

    response = client.post(
        "/org/invitations", data={"email": " New.Person@Example.COM ", "role": "billing"}
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/org/members"
    [invitation] = _invitations(session, team.org.id)
    assert invitation.email == "new.person@example.com"
    assert invitation.role == "billing"
    assert invitation.invited_by_id == team.users["admin"].id
    assert invitation.expires_at == clock.now() + timedelta(days=7)
    [mail] = mails_to(session, "new.person@example.com")
    assert mail.kind == "invitation"
    assert "漳州食品有限公司" in mail.subject
    link = next(line for line in mail.body.splitlines() if "/invitations/" in line)
    token = link.rsplit("/", 1)[1]
    assert link.startswith("http://localhost/invitations/")
    assert len(token) >= 43
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(audit(session, "invitation.created")[0].after)


def test_an_invitation_is_audited_and_listed_as_open(client: FlaskClient, session: Session) -> None:
    team = make_team()
    sign_in(client, team.users["owner"], team.org)

    client.post("/org/invitations", data={"email": "guest@example.com", "role": "member"})

    [entry] = audit(session, "invitation.created")
    assert entry.subject_org_id == team.org.id
    assert entry.actor_user_id == team.users["owner"].id
    assert entry.after is not None
    assert (entry.after["email"], entry.after["role"]) == ("guest@example.com", "member")
    page = client.get("/org/members").get_data(as_text=True)
    assert "guest@example.com" in page and "Revoke" in page


INVITE_MATRIX = [
    ("owner", "owner", 302),
    ("owner", "admin", 302),
    ("admin", "owner", 403),
    ("admin", "admin", 302),
    ("admin", "member", 302),
    ("member", "member", 403),
    ("billing", "billing", 403),
]


@pytest.mark.parametrize(("actor", "role", "status"), INVITE_MATRIX)
def test_invitations_follow_the_role_matrix(
    client: FlaskClient, session: Session, actor: str, role: str, status: int
) -> None:
    team = make_team()
    sign_in(client, team.users[actor], team.org)

    response = client.post("/org/invitations", data={"email": "x@example.com", "role": role})

    assert response.status_code == status
    assert len(_invitations(session, team.org.id)) == (1 if status == 302 else 0)
    assert len(mails_to(session, "x@example.com")) == (1 if status == 302 else 0)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "", "role": "member"}, "email"),
        ({"email": "not-an-address", "role": "member"}, "email"),
        ({"email": "a@" + "b" * 250 + ".com", "role": "member"}, "email"),
        ({"email": "ok@example.com", "role": "emperor"}, "role"),
    ],
)
def test_a_bad_invitation_shows_the_field_error_and_saves_nothing(
    client: FlaskClient, session: Session, data: dict[str, str], field: str
) -> None:
    team = make_team()
    sign_in(client, team.users["owner"], team.org)

    response = client.post("/org/invitations", data=data)

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "is-invalid" in page and f'name="{field}"' in page
    assert _invitations(session, team.org.id) == []


def test_inviting_someone_who_is_already_a_member_is_an_error_on_the_email(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    member_email = team.users["member"].email
    sign_in(client, team.users["owner"], team.org)

    response = client.post(
        "/org/invitations", data={"email": member_email.upper(), "role": "admin"}
    )

    assert response.status_code == 422
    assert "already a member" in response.get_data(as_text=True)
    assert _invitations(session, team.org.id) == []
    assert mails_to(session, member_email) == []


def test_inviting_the_same_address_again_replaces_the_open_invitation(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    old_token = invite(team, "twice@example.com", "member")
    sign_in(client, team.users["owner"], team.org)

    response = client.post("/org/invitations", data={"email": "Twice@example.com", "role": "admin"})

    assert response.status_code == 302
    old, new = _invitations(session, team.org.id)
    assert old.revoked_at is not None and new.revoked_at is None
    assert new.role == "admin"
    [revoked] = audit(session, "invitation.revoked")
    assert revoked.after is not None
    assert revoked.after["replaced_by_invitation_id"] == new.id
    assert revoked.before is not None and revoked.before["revoked_at"] is None
    assert len(mails_to(session, "twice@example.com")) == 2
    invitee = make_person("twice@example.com")
    sign_in(client, invitee)
    assert client.get(f"/invitations/{old_token}").status_code == 410


# ---- revoking -------------------------------------------------------------------------------


def test_revoking_an_open_invitation_marks_it_and_audits_it(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    team = make_team()
    invite(team, "later@example.com")
    [invitation] = _invitations(session, team.org.id)
    sign_in(client, team.users["admin"], team.org)

    response = client.post(f"/org/invitations/{invitation.id}/revoke")

    assert response.status_code == 302
    assert _invitations(session, team.org.id)[0].revoked_at == clock.now()
    [entry] = audit(session, "invitation.revoked")
    assert entry.subject_org_id == team.org.id
    assert entry.before is not None and entry.after is not None
    assert entry.before["revoked_at"] is None and entry.after["revoked_at"] is not None
    assert 'data-testid="invitations"' not in client.get("/org/members").get_data(as_text=True)


REVOKE_MATRIX = [
    ("owner", "owner", 302),
    ("admin", "member", 302),
    ("admin", "owner", 403),
    ("member", "member", 403),
    ("billing", "billing", 403),
]


@pytest.mark.parametrize(("actor", "role", "status"), REVOKE_MATRIX)
def test_revocations_follow_the_role_matrix(
    client: FlaskClient, session: Session, actor: str, role: str, status: int
) -> None:
    team = make_team()
    invite(team, "someone@example.com", role)
    [invitation] = _invitations(session, team.org.id)
    sign_in(client, team.users[actor], team.org)

    response = client.post(f"/org/invitations/{invitation.id}/revoke")

    assert response.status_code == status
    revoked = _invitations(session, team.org.id)[0].revoked_at is not None
    assert revoked is (status == 302)


def test_revoking_twice_is_a_conflict(client: FlaskClient, session: Session) -> None:
    team = make_team()
    invite(team, "once@example.com")
    [invitation] = _invitations(session, team.org.id)
    sign_in(client, team.users["owner"], team.org)

    assert client.post(f"/org/invitations/{invitation.id}/revoke").status_code == 302
    assert client.post(f"/org/invitations/{invitation.id}/revoke").status_code == 409
    assert len(audit(session, "invitation.revoked")) == 1


def test_revoking_an_invitation_that_does_not_exist_answers_404(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    sign_in(client, team.users["owner"], team.org)

    assert client.post("/org/invitations/987654321/revoke").status_code == 404


def test_the_members_page_marks_expired_invitations(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    team = make_team()
    invite(team, "expired@example.com")
    clock.advance(timedelta(days=8))
    invite(team, "fresh@example.com")
    sign_in(client, team.users["owner"], team.org)

    page = client.get("/org/members").get_data(as_text=True)

    expired_part = page.split("expired@example.com")[1].split("</li>")[0]
    fresh_part = page.split("fresh@example.com")[1].split("</li>")[0]
    assert "Expired" in expired_part and "Expired" not in fresh_part


@pytest.mark.parametrize("role", ["member", "billing"])
def test_members_and_billing_do_not_see_open_invitations(
    client: FlaskClient, session: Session, role: str
) -> None:
    team = make_team()
    invite(team, "private@example.com")
    sign_in(client, team.users[role], team.org)

    assert "private@example.com" not in client.get("/org/members").get_data(as_text=True)


def test_an_owner_with_an_unconfirmed_address_cannot_send_invitations(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    owner = team.users["owner"]
    owner.email_confirmed_at = None
    session.flush()
    sign_in(client, owner, team.org)

    response = client.post("/org/invitations", data={"email": "x@example.com", "role": "member"})

    assert response.status_code == 403
    assert _invitations(session, team.org.id) == []
    assert mails_to(session, "x@example.com") == []
