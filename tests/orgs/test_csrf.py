"""Every form of the orgs part carries a CSRF token, and a post without one changes nothing."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from tests.orgs.conftest import make_team, rows, sign_in


@pytest.fixture
def csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Turn CSRF protection on for one test, as in production."""
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def _token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match is not None
    return match.group(1)


@pytest.mark.usefixtures("csrf_on")
def test_posts_without_a_csrf_token_are_refused_and_change_nothing(
    client: FlaskClient, session: Session
) -> None:
    team = make_team()
    member_id = team.membership("member").id
    sign_in(client, team.users["owner"], team.org)
    before = rows(session)

    for url, data in [
        ("/org/invitations", {"email": "csrf@example.com", "role": "member"}),
        (f"/org/members/{member_id}/role", {"role": "admin"}),
        (f"/org/members/{member_id}/remove", {}),
        ("/orgs/switch", {"org_id": str(team.org.id)}),
        ("/vendors/new", {"name": "云帆科技"}),
    ]:
        assert client.post(url, data=data).status_code == 400, url

    assert rows(session) == before


@pytest.mark.usefixtures("csrf_on")
def test_the_members_page_token_lets_an_owner_invite(client: FlaskClient, session: Session) -> None:
    team = make_team()
    sign_in(client, team.users["owner"], team.org)
    token = _token(client.get("/org/members").get_data(as_text=True))

    response = client.post(
        "/org/invitations",
        data={"email": "csrf@example.com", "role": "member", "csrf_token": token},
    )

    assert response.status_code == 302
    assert len(rows(session)["invitations"]) == 1
