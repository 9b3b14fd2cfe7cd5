"""The vendor console's API client pages: create, see the secret once, rotate, revoke."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from marketplace.orgs.models import OrgKind, OrgStatus
from sso.models import ApiClient
from tests.sso.conftest import (
    access_token,
    audit,
    bearer,
    client_rows,
    make_client,
    make_vendor,
    request_token,
    sign_in,
    tokens_of,
)

SECRET = re.compile(r'data-testid="client-secret">(yss_[A-Za-z0-9_-]+)<')
CLIENT_ID = re.compile(r'data-testid="client-id">(ys_[A-Za-z0-9_-]+)<')


def _secret_of(response: TestResponse) -> str:
    found = SECRET.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return found.group(1)


def _create(web: FlaskClient, **form: object) -> TestResponse:
    data = {"name": "Billing sync", "scopes": ["catalog:read", "usage:write"], **form}
    return web.post("/vendor/api-clients", data=data)


def test_an_owner_creates_a_client_and_sees_its_secret_once(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    sign_in(client, vendor.users["owner"], vendor.org)

    created = _create(client, sandbox="y")

    assert created.status_code == 200
    assert created.headers["Cache-Control"] == "no-store"
    secret = _secret_of(created)
    client_id = CLIENT_ID.search(created.get_data(as_text=True))
    assert client_id is not None
    [row] = session.query(ApiClient).filter_by(organization_id=vendor.org.id).all()
    assert (row.client_id, row.name, row.scopes, row.sandbox) == (
        client_id.group(1),
        "Billing sync",
        "catalog:read usage:write",
        True,
    )
    listing = client.get("/vendor/api-clients").get_data(as_text=True)
    assert row.client_id in listing and "Billing sync" in listing
    assert secret not in listing and "yss_" not in listing
    assert request_token(client, row.client_id, secret).status_code == 200


def test_an_admin_may_manage_clients_too(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    sign_in(client, vendor.users["admin"], vendor.org)

    assert client.get("/vendor/api-clients").status_code == 200
    assert _create(client).status_code == 200


@pytest.mark.parametrize(
    ("form", "field", "reason"),
    [
        ({"name": "x"}, "name", "between 2 and 100"),
        ({"name": "n" * 101}, "name", "between 2 and 100"),
        ({"name": ""}, "name", "required"),
        ({"scopes": []}, "scopes", "Choose at least one scope."),
        ({"scopes": ["admin:all"]}, "scopes", "is not a valid choice"),
    ],
)
def test_a_bad_client_form_is_refused_naming_the_field(
    client: FlaskClient, session: Session, form: dict[str, object], field: str, reason: str
) -> None:
    vendor = make_vendor()
    sign_in(client, vendor.users["owner"], vendor.org)

    response = _create(client, **form)

    assert response.status_code == 422
    assert reason in response.get_data(as_text=True)
    assert "yss_" not in response.get_data(as_text=True)
    assert client_rows(session) == []


def test_creating_a_client_is_audited_without_its_secret(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    sign_in(client, vendor.users["owner"], vendor.org)

    secret = _secret_of(_create(client))
    row = session.query(ApiClient).filter_by(organization_id=vendor.org.id).one()

    [entry] = audit(session, "api_client.created")
    assert entry.subject_org_id == vendor.org.id
    assert entry.actor_user_id == vendor.users["owner"].id
    assert entry.after is not None and entry.after["client_id"] == row.client_id
    assert secret not in str(entry.after) and row.client_secret_hash not in str(entry.after)


def test_rotating_shows_a_new_secret_and_the_old_secret_and_tokens_stop_working(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    issued = make_client(vendor)
    old_token = access_token(client, issued)
    sign_in(client, vendor.users["owner"], vendor.org)

    rotated = client.post(f"/vendor/api-clients/{issued.client.id}/rotate")

    assert rotated.status_code == 200
    assert rotated.headers["Cache-Control"] == "no-store"
    new_secret = _secret_of(rotated)
    assert new_secret != issued.secret
    client_id = issued.client.client_id
    assert request_token(client, client_id, issued.secret).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(old_token)).status_code == 401
    assert all(t.revoked_at is not None for t in tokens_of(session, issued.client))
    new_token = access_token(client, issued.__class__(issued.client, new_secret))
    assert client.get("/api/v1/me", headers=bearer(new_token)).status_code == 200
    [entry] = audit(session, "api_client.secret_rotated")
    assert entry.after is not None and entry.after["tokens_revoked"] == 1
    assert new_secret not in str(entry.after) and issued.secret not in str(entry.before)


def test_revoking_a_client_stops_it_and_its_tokens(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    issued = make_client(vendor)
    token = access_token(client, issued)
    sign_in(client, vendor.users["admin"], vendor.org)

    response = client.post(f"/vendor/api-clients/{issued.client.id}/revoke")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/vendor/api-clients")
    assert request_token(client, issued.client.client_id, issued.secret).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
    session.expire_all()
    assert issued.client.revoked_at is not None
    [entry] = audit(session, "api_client.revoked")
    assert entry.after is not None and entry.after["revoked_at"] is not None
    listing = client.get("/vendor/api-clients").get_data(as_text=True)
    assert "Revoked" in listing and "/rotate" not in listing


def test_a_revoked_client_can_be_neither_rotated_nor_revoked_again(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    issued = make_client(vendor)
    sign_in(client, vendor.users["owner"], vendor.org)
    client.post(f"/vendor/api-clients/{issued.client.id}/revoke")
    before = client_rows(session)

    assert client.post(f"/vendor/api-clients/{issued.client.id}/rotate").status_code == 409
    assert client.post(f"/vendor/api-clients/{issued.client.id}/revoke").status_code == 409
    assert client_rows(session) == before


@pytest.mark.parametrize("role", ["member", "billing"])
def test_members_without_a_managing_role_are_forbidden(
    client: FlaskClient, session: Session, role: str
) -> None:
    vendor = make_vendor()
    issued = make_client(vendor)
    before = client_rows(session)
    sign_in(client, vendor.users[role], vendor.org)

    assert client.get("/vendor/api-clients").status_code == 403
    assert _create(client).status_code == 403
    assert client.post(f"/vendor/api-clients/{issued.client.id}/rotate").status_code == 403
    assert client.post(f"/vendor/api-clients/{issued.client.id}/revoke").status_code == 403
    assert client_rows(session) == before


@pytest.mark.parametrize("kind", [OrgKind.SME, OrgKind.PARK, OrgKind.OPERATOR])
def test_other_kinds_of_organization_find_no_api_client_pages(
    client: FlaskClient, session: Session, kind: str
) -> None:
    other = make_vendor(kind=kind)
    sign_in(client, other.users["owner"], other.org)

    assert client.get("/vendor/api-clients").status_code == 404
    assert _create(client).status_code == 404
    assert client_rows(session) == []


def test_another_vendors_client_is_not_found_and_stays_as_it_was(
    client: FlaskClient, session: Session
) -> None:
    mine, theirs = make_vendor(), make_vendor()
    make_client(mine)
    their_client = make_client(theirs, name="Their secret sync")
    token = access_token(client, their_client)
    before = client_rows(session)
    sign_in(client, mine.users["owner"], mine.org)

    rotate = client.post(f"/vendor/api-clients/{their_client.client.id}/rotate")
    revoke = client.post(f"/vendor/api-clients/{their_client.client.id}/revoke")
    nowhere = client.post("/vendor/api-clients/2000000000/revoke")
    listing = client.get("/vendor/api-clients").get_data(as_text=True)

    assert rotate.status_code == revoke.status_code == nowhere.status_code == 404
    assert "Their secret sync" not in listing and their_client.client.client_id not in listing
    assert client_rows(session) == before
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert audit(session, "api_client.secret_rotated") == []
    assert audit(session, "api_client.revoked") == []


def test_a_suspended_vendor_sees_its_clients_but_changes_nothing(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    issued = make_client(vendor)
    vendor.org.status = OrgStatus.SUSPENDED
    session.commit()
    before = client_rows(session)
    sign_in(client, vendor.users["owner"], vendor.org)

    page = client.get("/vendor/api-clients")

    assert page.status_code == 200
    assert issued.client.client_id in page.get_data(as_text=True)
    assert 'data-testid="suspended-notice"' in page.get_data(as_text=True)
    assert _create(client).status_code == 403
    assert client.post(f"/vendor/api-clients/{issued.client.id}/revoke").status_code == 403
    assert client_rows(session) == before


def test_a_visitor_is_sent_to_sign_in(client: FlaskClient, session: Session) -> None:
    response = client.get("/vendor/api-clients")

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_navigation_links_the_page_for_owners_and_admins_only(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    sign_in(client, vendor.users["admin"], vendor.org)
    admin_home = client.get("/").get_data(as_text=True)
    sign_in(client, vendor.users["member"], vendor.org)
    member_home = client.get("/").get_data(as_text=True)

    assert 'href="/vendor/api-clients"' in admin_home
    assert 'href="/vendor/api-clients"' not in member_home


def test_the_pages_speak_chinese(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    make_client(vendor)
    sign_in(client, vendor.users["owner"], vendor.org, lang="zh_CN")

    listing = client.get("/vendor/api-clients").get_data(as_text=True)
    created = client.post(
        "/vendor/api-clients", data={"name": "账单同步", "scopes": ["usage:write"]}
    ).get_data(as_text=True)

    assert "API 客户端" in listing and "更换密钥" in listing and "上报计量用量" in listing
    assert "只显示这一次" in created
