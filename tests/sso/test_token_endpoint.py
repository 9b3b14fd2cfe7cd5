"""POST /oauth/token: client credentials, scopes bounded by the client, refusals that say why."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.clock import FrozenClock
from marketplace.orgs.models import OrgStatus
from sso.credentials import digest
from tests.sso.conftest import make_client, make_vendor, request_token, tokens_of


def test_a_client_gets_a_bearer_token_with_http_basic(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    issued = make_client(make_vendor())

    response = request_token(client, issued.client.client_id, issued.secret)

    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "catalog:read usage:write"
    assert body["access_token"].startswith("yat_")
    assert response.headers["Cache-Control"] == "no-store"
    [stored] = tokens_of(session, issued.client)
    assert stored.token_hash == digest(body["access_token"])
    assert stored.issued_at == clock.now()
    assert stored.expires_at == clock.now() + timedelta(hours=1)


def test_a_client_gets_a_token_with_the_secret_in_the_posted_form(
    client: FlaskClient, session: Session
) -> None:
    issued = make_client(make_vendor())

    response = request_token(client, issued.client.client_id, issued.secret, method="post")

    assert response.status_code == 200
    assert response.get_json()["token_type"] == "Bearer"


def test_the_token_is_stored_only_as_a_digest(client: FlaskClient, session: Session) -> None:
    issued = make_client(make_vendor())

    token = request_token(client, issued.client.client_id, issued.secret).get_json()
    [stored] = tokens_of(session, issued.client)

    assert token["access_token"] not in {stored.token_hash, stored.scope}
    assert issued.secret != issued.client.client_secret_hash


def test_a_client_may_ask_for_fewer_scopes_than_it_holds(
    client: FlaskClient, session: Session
) -> None:
    issued = make_client(make_vendor(), ("catalog:read", "catalog:write", "usage:write"))

    response = request_token(
        client, issued.client.client_id, issued.secret, scope="usage:write catalog:read"
    )

    assert response.status_code == 200
    assert response.get_json()["scope"] == "catalog:read usage:write"
    assert tokens_of(session, issued.client)[0].scope == "catalog:read usage:write"


def test_a_scope_the_client_does_not_hold_is_refused_by_name(
    client: FlaskClient, session: Session
) -> None:
    issued = make_client(make_vendor(), ("catalog:read",))

    response = request_token(
        client, issued.client.client_id, issued.secret, scope="catalog:read catalog:write"
    )

    assert response.status_code == 400
    body = response.get_json()
    assert body["error"] == "invalid_scope"
    assert "catalog:write" in body["error_description"]
    assert body["status"] == 400 and body["detail"] == body["error_description"]
    assert tokens_of(session, issued.client) == []


def test_an_unknown_scope_is_refused(client: FlaskClient, session: Session) -> None:
    issued = make_client(make_vendor())

    response = request_token(client, issued.client.client_id, issued.secret, scope="admin:all")

    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_scope"


def test_a_wrong_secret_is_refused_with_a_basic_challenge(
    client: FlaskClient, session: Session
) -> None:
    issued = make_client(make_vendor())

    response = request_token(client, issued.client.client_id, issued.secret + "x")

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert tokens_of(session, issued.client) == []


def test_a_wrong_secret_in_the_form_is_refused(client: FlaskClient, session: Session) -> None:
    issued = make_client(make_vendor())

    response = request_token(client, issued.client.client_id, "yss_wrong", method="post")

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_an_unknown_client_is_refused(client: FlaskClient, session: Session) -> None:
    response = request_token(client, "ys_nobody", "yss_whatever")

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_a_request_without_credentials_is_refused(client: FlaskClient, session: Session) -> None:
    response = client.post("/oauth/token", data={"grant_type": "client_credentials"})

    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"


def test_a_revoked_client_gets_no_token(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    issued = make_client(vendor)
    issued.client.revoked_at = issued.client.created_at
    session.commit()

    response = request_token(client, issued.client.client_id, issued.secret)

    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == "invalid_client"
    assert "revoked" in body["error_description"]
    assert tokens_of(session, issued.client) == []


def test_a_client_of_a_suspended_vendor_gets_no_token(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    issued = make_client(vendor)
    vendor.org.status = OrgStatus.SUSPENDED
    session.commit()

    response = request_token(client, issued.client.client_id, issued.secret, method="post")

    assert response.status_code == 401
    body = response.get_json()
    assert body["error"] == "invalid_client"
    assert "suspended" in body["error_description"]


def test_a_grant_type_other_than_client_credentials_is_refused_to_an_api_client(
    client: FlaskClient, session: Session
) -> None:
    issued = make_client(make_vendor())
    expected = {
        "password": "unsupported_grant_type",
        "": "unsupported_grant_type",
        # The server knows these grants (for vendor apps), but an API client may not use them.
        "authorization_code": "unauthorized_client",
        "refresh_token": "unauthorized_client",
    }

    for grant_type, error in expected.items():
        response = request_token(
            client, issued.client.client_id, issued.secret, grant_type=grant_type
        )

        assert response.status_code == 400, grant_type
        assert response.get_json()["error"] == error, grant_type
    assert tokens_of(session, issued.client) == []


def test_the_token_endpoint_answers_only_post(client: FlaskClient, session: Session) -> None:
    response = client.get("/oauth/token")

    assert response.status_code == 405
