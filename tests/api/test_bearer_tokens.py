"""Bearer protection of the API: missing, malformed, unknown, expired, revoked, narrow tokens."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from marketplace.clock import FrozenClock
from marketplace.orgs.models import OrgStatus
from tests.api.conftest import access_token, bearer, make_client, make_vendor, tokens_of

PROBLEM = "application/problem+json"


def _refused(response: TestResponse, code: str, status: int = 401) -> dict[str, object]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="yunshi"')
    body: dict[str, object] = response.get_json()
    assert body["code"] == code and body["status"] == status
    return body


def test_me_describes_the_client_behind_the_token(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor("闽云软件")
    issued = make_client(vendor, ("catalog:read", "usage:write"), name="ERP bridge", sandbox=True)
    token = access_token(client, issued, scope="usage:write")

    response = client.get("/api/v1/me", headers=bearer(token))

    assert response.status_code == 200
    assert response.get_json() == {
        "client_id": issued.client.client_id,
        "name": "ERP bridge",
        "organization": {"id": vendor.org.id, "name": "闽云软件"},
        "scopes": ["usage:write"],
        "sandbox": True,
    }


def test_a_request_without_a_token_is_refused_with_a_bearer_challenge(
    client: FlaskClient, session: Session
) -> None:
    body = _refused(client.get("/api/v1/me"), "missing_token")

    assert "Bearer" in str(body["detail"])


def test_a_malformed_authorization_header_is_refused(client: FlaskClient, session: Session) -> None:
    for header in ("Bearer", "Basic eXM6eXNz", "yat_only-a-token", "Bearer a b"):
        response = client.get("/api/v1/me", headers={"Authorization": header})

        assert response.status_code == 401, header
        assert response.mimetype == PROBLEM
        assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_an_unknown_token_is_refused(client: FlaskClient, session: Session) -> None:
    response = client.get("/api/v1/me", headers=bearer("yat_not-a-token-we-issued"))

    body = _refused(response, "invalid_token")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert body["detail"] == "The access token is not known."


def test_a_token_works_until_its_hour_is_up(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    token = access_token(client, make_client(make_vendor()))

    clock.advance(timedelta(minutes=59, seconds=59))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    clock.advance(timedelta(seconds=1))
    body = _refused(client.get("/api/v1/me", headers=bearer(token)), "invalid_token")

    assert "expired" in str(body["detail"])


def test_a_revoked_token_is_refused(client: FlaskClient, session: Session) -> None:
    issued = make_client(make_vendor())
    token = access_token(client, issued)
    [stored] = tokens_of(session, issued.client)
    stored.revoked_at = stored.issued_at
    session.commit()

    body = _refused(client.get("/api/v1/me", headers=bearer(token)), "invalid_token")

    assert "revoked" in str(body["detail"])


def test_a_token_of_a_revoked_client_is_refused(client: FlaskClient, session: Session) -> None:
    issued = make_client(make_vendor())
    token = access_token(client, issued)
    issued.client.revoked_at = issued.client.created_at
    session.commit()

    _refused(client.get("/api/v1/me", headers=bearer(token)), "invalid_token")


def test_a_token_of_a_suspended_vendor_is_refused(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    token = access_token(client, make_client(vendor))
    vendor.org.status = OrgStatus.SUSPENDED
    session.commit()

    body = _refused(client.get("/api/v1/me", headers=bearer(token)), "invalid_token")

    assert "suspended" in str(body["detail"])


def test_a_token_without_the_needed_scope_is_forbidden_naming_the_scope(
    scoped_client: FlaskClient, session: Session
) -> None:
    token = access_token(scoped_client, make_client(make_vendor(), ("catalog:read",)))

    response = scoped_client.get("/api/v1/probe/catalog", headers=bearer(token))

    body = _refused(response, "insufficient_scope", status=403)
    assert body["required_scopes"] == ["catalog:write"]
    assert "catalog:write" in str(body["detail"])
    assert 'scope="catalog:write"' in response.headers["WWW-Authenticate"]


def test_a_token_with_the_needed_scope_passes(scoped_client: FlaskClient, session: Session) -> None:
    issued = make_client(make_vendor(), ("catalog:write",))
    token = access_token(scoped_client, issued)

    response = scoped_client.get("/api/v1/probe/catalog", headers=bearer(token))

    assert response.status_code == 200
    assert response.get_json() == {"client_id": issued.client.client_id}


def test_any_one_of_several_scope_sets_passes(scoped_client: FlaskClient, session: Session) -> None:
    both = make_client(make_vendor(), ("catalog:read", "catalog:write"))
    half = make_client(make_vendor(), ("catalog:read",))

    passed = scoped_client.post(
        "/api/v1/probe/usage", headers=bearer(access_token(scoped_client, both))
    )
    refused = scoped_client.post(
        "/api/v1/probe/usage", headers=bearer(access_token(scoped_client, half))
    )

    assert passed.status_code == 200
    assert refused.status_code == 403
    assert refused.get_json()["required_scopes"] == ["usage:write", "catalog:read catalog:write"]


def test_a_token_narrowed_at_issue_lacks_the_scopes_it_did_not_ask_for(
    scoped_client: FlaskClient, session: Session
) -> None:
    issued = make_client(make_vendor(), ("catalog:read", "catalog:write"))
    token = access_token(scoped_client, issued, scope="catalog:read")

    response = scoped_client.get("/api/v1/probe/catalog", headers=bearer(token))

    assert response.status_code == 403


def test_an_unknown_api_path_answers_problem_json(client: FlaskClient, session: Session) -> None:
    response = client.get("/api/v1/no-such-thing")

    assert response.status_code == 404
    assert response.mimetype == PROBLEM


def test_api_posts_and_the_token_endpoint_need_no_csrf_token(
    protected_app: Flask, session: Session, clock: FrozenClock
) -> None:
    protected_app.extensions["clock"] = clock
    web = protected_app.test_client()
    with protected_app.app_context():
        issued = make_client(make_vendor(), ("usage:write",))
        token = access_token(web, issued)

        response = web.post("/api/v1/probe/usage", headers=bearer(token))
        console_post = web.post("/vendor/api-clients", data={"name": "No token"})

    assert response.status_code == 200
    assert console_post.status_code == 400  # the console's forms still need theirs


def test_a_token_issued_before_the_secret_changed_is_refused_even_if_missed_by_the_revoke(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    issued = make_client(make_vendor())
    token = access_token(client, issued)
    clock.advance(timedelta(seconds=1))
    issued.client.rotated_at = clock.now()  # as if the token had been stored after the revoke
    session.commit()

    body = _refused(client.get("/api/v1/me", headers=bearer(token)), "invalid_token")

    assert "secret changed" in str(body["detail"])
