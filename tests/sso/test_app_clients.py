"""A listing's single sign-on client through the services and the vendor API.

Made once per live listing (redirect URIs seeded from the listing), changed field by field
under the catalog's URL rules, its secret shown once and stored as a digest, rotated so the
old one fails at once; every change audited; another vendor's listing as missing as none.
The API speaks the default language, Chinese, so the services' reasons are checked in it;
marshmallow's shape errors stay in English.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from marshmallow import ValidationError
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from catalog.models import Listing
from catalog.schemas import _check_app_url
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, Forbidden, NotFound
from marketplace.orgs.models import OrgStatus
from sso.credentials import digest
from sso.provider import apps
from sso.provider.models import AppClient
from sso.provider.server import AppOAuthClient
from tests.catalog.storefront_data import publish_listing
from tests.sso.conftest import (
    Vendor,
    access_token,
    audit,
    basic,
    bearer,
    make_client,
    make_vendor,
)

LISTED_URIS = ["https://app.ledger.example/callback", "http://localhost:8000/cb"]
READ_WRITE = ("catalog:read", "catalog:write")
SETTINGS = {
    "redirect_uris": ["https://app.example/cb"],
    "post_logout_redirect_uris": ["https://app.example/bye"],
    "initiate_login_uri": "https://app.example/login",
    "logo_url": "https://cdn.example/logo.png",
}


def _listing(vendor: Vendor, **fields: Any) -> Listing:
    fields.setdefault("sso_redirect_uris", list(LISTED_URIS))
    return publish_listing(vendor.org, **fields)


def _headers(client: FlaskClient, vendor: Vendor, *, sandbox: bool = False) -> dict[str, str]:
    issued = make_client(vendor, READ_WRITE, name="Sign-on setup", sandbox=sandbox)
    return bearer(access_token(client, issued))


def _url(listing_id: int, tail: str = "") -> str:
    return f"/api/v1/listings/{listing_id}/sso-client{tail}"


def _problem(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = response.get_json()
    return body


def _client_of(session: Session, listing: Listing) -> AppClient | None:
    session.expire_all()
    return apps.app_client_of_listing(session, listing.id)


def _rows(session: Session) -> list[tuple[Any, ...]]:
    session.expire_all()
    table = sa.inspect(AppClient).local_table
    return [tuple(row) for row in session.execute(sa.select(table).order_by(table.c.id))]


def _owner_actor(vendor: Vendor) -> Actor:
    return Actor(vendor.users["owner"].id, vendor.org.id)


# ---- making the client ----------------------------------------------------------------------


def test_putting_nothing_makes_the_client_with_the_listings_redirect_uris(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)

    response = client.put(_url(listing.id), json={}, headers=_headers(client, vendor))

    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["client_id"].startswith("ysa_")
    assert body["client_secret"]
    assert body["listing_id"] == listing.id
    assert body["redirect_uris"] == LISTED_URIS
    assert body["post_logout_redirect_uris"] == []
    assert body["initiate_login_uri"] is None and body["logo_url"] is None
    assert body["secret_rotated_at"] is None
    row = _client_of(session, listing)
    assert row is not None and row.client_id == body["client_id"]
    assert row.created_at == row.updated_at == clock.now()


def test_the_secret_is_stored_only_as_its_digest_and_never_audited(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)

    body = client.put(_url(listing.id), json={}, headers=_headers(client, vendor)).get_json()

    secret = body["client_secret"]
    [row] = [r for r in _rows(session) if body["client_id"] in r]
    assert digest(secret) in row
    assert not any(secret in str(value) for value in row)
    [entry] = audit(session, "app_client.created")
    assert entry.target_id == str(_client_of(session, listing).id)  # type: ignore[union-attr]
    assert entry.subject_org_id == vendor.org.id
    assert entry.after is not None and entry.after["client_id"] == body["client_id"]
    assert secret not in str(entry.after) and digest(secret) not in str(entry.after)
    assert AppOAuthClient(_client_of(session, listing)).check_client_secret(secret)  # type: ignore[arg-type]


def test_putting_settings_makes_the_client_with_them(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)

    response = client.put(_url(listing.id), json=SETTINGS, headers=_headers(client, vendor))

    assert response.status_code == 201
    body = response.get_json()
    assert {key: body[key] for key in SETTINGS} == SETTINGS


def test_getting_shows_the_client_without_its_secret(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    headers = _headers(client, vendor)
    made = client.put(_url(listing.id), json=SETTINGS, headers=headers).get_json()

    response = client.get(_url(listing.id), headers=headers)

    assert response.status_code == 200
    body = response.get_json()
    assert "client_secret" not in body
    assert made["client_secret"] not in response.get_data(as_text=True)
    assert body["client_id"] == made["client_id"]
    assert body["redirect_uris"] == SETTINGS["redirect_uris"]


def test_getting_a_listing_without_a_client_answers_404(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)

    body = _problem(client.get(_url(listing.id), headers=_headers(client, vendor)), 404)

    assert "还没有单点登录客户端" in body["detail"]


def test_a_listing_naming_no_redirect_uri_needs_one_given(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor, sso_redirect_uris=[])

    body = _problem(client.put(_url(listing.id), json={}, headers=_headers(client, vendor)), 422)

    assert list(body["errors"]) == ["redirect_uris"]
    assert _client_of(session, listing) is None


def test_a_second_create_is_refused_as_a_conflict(session: Session, clock: FrozenClock) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    actor = _owner_actor(vendor)
    apps.create_listing_app_client(session, clock, actor, vendor.org.id, listing.id, {})
    before = _rows(session)

    with pytest.raises(Conflict, match="已有登录客户端"):
        apps.create_listing_app_client(session, clock, actor, vendor.org.id, listing.id, {})

    assert _rows(session) == before


# ---- changing it ----------------------------------------------------------------------------


def test_putting_again_changes_the_given_settings_and_shows_no_secret(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    headers = _headers(client, vendor)
    made = client.put(_url(listing.id), json=SETTINGS, headers=headers).get_json()
    clock.advance(timedelta(minutes=10))
    changes = {"redirect_uris": ["https://app.example/cb2", "http://127.0.0.1:5000/cb"]}
    changes |= {"logo_url": None}

    response = client.put(_url(listing.id), json=changes, headers=headers)

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["client_secret"] is None
    assert body["client_id"] == made["client_id"]
    assert body["redirect_uris"] == changes["redirect_uris"]
    assert body["logo_url"] is None
    assert body["post_logout_redirect_uris"] == SETTINGS["post_logout_redirect_uris"]
    assert body["initiate_login_uri"] == SETTINGS["initiate_login_uri"]
    row = _client_of(session, listing)
    assert row is not None and row.updated_at == clock.now() > row.created_at
    assert AppOAuthClient(row).check_client_secret(made["client_secret"])
    [entry] = audit(session, "app_client.updated")
    assert entry.before is not None and entry.after is not None
    assert "cdn.example" in entry.before["logo_url"] and entry.after["logo_url"] is None


def test_an_empty_string_clears_a_single_address(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    headers = _headers(client, vendor)
    client.put(_url(listing.id), json=SETTINGS, headers=headers)

    body = client.put(_url(listing.id), json={"initiate_login_uri": " "}, headers=headers)

    assert body.get_json()["initiate_login_uri"] is None


def test_a_save_that_changes_nothing_writes_no_audit_entry(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    headers = _headers(client, vendor)
    client.put(_url(listing.id), json=SETTINGS, headers=headers)

    response = client.put(_url(listing.id), json=SETTINGS, headers=headers)

    assert response.status_code == 200
    assert audit(session, "app_client.updated") == []


def test_the_update_service_needs_a_client(session: Session, clock: FrozenClock) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)

    with pytest.raises(NotFound):
        apps.update_listing_app_client(
            session, clock, _owner_actor(vendor), vendor.org.id, listing.id, SETTINGS
        )


def test_the_update_service_changes_only_what_it_is_given(
    session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    actor = _owner_actor(vendor)
    apps.create_listing_app_client(session, clock, actor, vendor.org.id, listing.id, SETTINGS)

    changed = apps.update_listing_app_client(
        session, clock, actor, vendor.org.id, listing.id, {"post_logout_redirect_uris": []}
    )

    assert changed.post_logout_redirect_uris == []
    assert changed.redirect_uris == SETTINGS["redirect_uris"]


# ---- bad input ------------------------------------------------------------------------------

BAD_SETTINGS = [
    ({"redirect_uris": ["http://app.example/cb"]}, "redirect_uris.0", "https"),
    ({"redirect_uris": ["https://u:p@app.example/cb"]}, "redirect_uris.0", "用户名"),
    ({"redirect_uris": ["https://app.example/cb#top"]}, "redirect_uris.0", "片段"),
    ({"redirect_uris": ["app.example/cb"]}, "redirect_uris.0", "完整网址"),
    ({"redirect_uris": ["ftp://app.example/cb"]}, "redirect_uris.0", "完整网址"),
    ({"redirect_uris": ["https://app.example:99999/cb"]}, "redirect_uris.0", "完整网址"),
    ({"redirect_uris": ["https://app.example/a b"]}, "redirect_uris.0", "空格"),
    ({"redirect_uris": ["https://app.example/\x00"]}, "redirect_uris.0", "控制字符"),
    (
        {"redirect_uris": ["https://a.example/cb", "https://b.example/cb", "https://a.example/cb"]},
        "redirect_uris.2",
        "第 0 项",
    ),
    ({"redirect_uris": [f"https://app.example/{n}" for n in range(11)]}, "redirect_uris", "10"),
    ({"redirect_uris": ["https://app.example/" + "x" * 500]}, "redirect_uris.0", "500"),
    ({"redirect_uris": "https://app.example/cb"}, "redirect_uris", "list"),
    ({"redirect_uris": [7]}, "redirect_uris.0", "string"),
    (
        {"post_logout_redirect_uris": ["https://app.example/bye", "http://evil.example/bye"]},
        "post_logout_redirect_uris.1",
        "https",
    ),
    (
        {"post_logout_redirect_uris": ["https://app.example/bye", " https://app.example/bye"]},
        "post_logout_redirect_uris.1",
        "第 0 项",
    ),
    ({"initiate_login_uri": "javascript:alert(1)"}, "initiate_login_uri", "完整网址"),
    ({"initiate_login_uri": "https://app.example/login#x"}, "initiate_login_uri", "片段"),
    ({"initiate_login_uri": 5}, "initiate_login_uri", "string"),
    ({"logo_url": "http://cdn.example/logo.png"}, "logo_url", "https"),
    ({"logo_url": "data:image/png;base64,AAAA"}, "logo_url", "完整网址"),
    ({"client_secret": "mine"}, "client_secret", "Unknown"),
]


@pytest.mark.parametrize(("settings", "field", "reason"), BAD_SETTINGS)
def test_a_bad_setting_on_create_is_named_and_makes_nothing(
    client: FlaskClient, session: Session, settings: dict[str, Any], field: str, reason: str
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)

    response = client.put(_url(listing.id), json=settings, headers=_headers(client, vendor))

    body = _problem(response, 422)
    assert field in body["errors"], body
    assert reason.lower() in " ".join(body["errors"][field]).lower(), body
    assert _client_of(session, listing) is None
    assert audit(session, "app_client.created") == []


@pytest.mark.parametrize(("settings", "field", "reason"), BAD_SETTINGS)
def test_a_bad_setting_on_update_is_named_and_changes_nothing(
    client: FlaskClient, session: Session, settings: dict[str, Any], field: str, reason: str
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    headers = _headers(client, vendor)
    client.put(_url(listing.id), json=SETTINGS, headers=headers)
    before = _rows(session)

    body = _problem(client.put(_url(listing.id), json=settings, headers=headers), 422)

    assert field in body["errors"], body
    assert _rows(session) == before
    assert audit(session, "app_client.updated") == []


def test_every_bad_field_is_named_at_once(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    settings = {
        "redirect_uris": ["https://ok.example/cb", "http://bad.example/cb"],
        "post_logout_redirect_uris": ["nope"],
        "initiate_login_uri": "http://bad.example/login",
        "logo_url": "https://cdn.example/logo.png#x",
    }

    body = _problem(
        client.put(_url(listing.id), json=settings, headers=_headers(client, vendor)), 422
    )

    assert set(body["errors"]) == {
        "redirect_uris.1",
        "post_logout_redirect_uris.0",
        "initiate_login_uri",
        "logo_url",
    }


def test_emptying_the_redirect_uris_of_a_client_is_refused(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    headers = _headers(client, vendor)
    client.put(_url(listing.id), json=SETTINGS, headers=headers)

    body = _problem(client.put(_url(listing.id), json={"redirect_uris": []}, headers=headers), 422)

    assert "至少" in body["errors"]["redirect_uris"][0]


def test_a_body_that_is_no_json_object_is_refused(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)

    body = _problem(client.put(_url(listing.id), json=[1], headers=_headers(client, vendor)), 422)

    assert "body" in body["errors"]


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:3000/cb",
        "https://app.example/cb?tenant=1",
        "  https://app.example/padded  ",
    ],
)
def test_loopback_http_and_https_addresses_are_accepted(url: str) -> None:
    assert apps.app_url_problem(url) is None
    assert apps.clean_settings({"redirect_uris": [url]}) == {"redirect_uris": [url.strip()]}


PARITY_URLS = [
    "https://app.example/cb",
    "http://localhost/cb",
    "http://LOCALHOST/cb",
    "http://127.0.0.1:8080/cb",
    "http://[::1]/cb",
    "http://app.example/cb",
    "https://u@app.example/cb",
    "https://app.example/cb#",
    "https://app.example:0/cb",
    "https://app.example:70000/cb",
    "https://[::1/cb",
    "https:///cb",
    "mailto:a@b.example",
    "//app.example/cb",
    "https://app.example/\u200bx",
    "https://app.example/\tx",
    "https://例子.中国/cb",
]


@pytest.mark.parametrize("url", PARITY_URLS)
def test_the_rule_agrees_with_the_catalog_apis_redirect_uri_rule(url: str) -> None:
    try:
        _check_app_url(url)
    except ValidationError:
        catalog_accepts = False
    else:
        catalog_accepts = True

    assert (apps.app_url_problem(url) is None) == catalog_accepts


# ---- the secret -----------------------------------------------------------------------------


def test_rotating_shows_a_new_secret_once_and_the_old_one_fails_at_once(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    headers = _headers(client, vendor)
    made = client.put(_url(listing.id), json=SETTINGS, headers=headers).get_json()
    clock.advance(timedelta(minutes=10))

    response = client.post(_url(listing.id, "/secret"), headers=headers)

    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    new, old = body["client_secret"], made["client_secret"]
    assert new and new != old and body["client_id"] == made["client_id"]
    row = _client_of(session, listing)
    assert row is not None and row.secret_rotated_at == clock.now()
    assert AppOAuthClient(row).check_client_secret(new)
    assert not AppOAuthClient(row).check_client_secret(old)
    assert row.client_secret_hash == digest(new)
    [entry] = audit(session, "app_client.secret_rotated")
    assert entry.after is not None and new not in str(entry.after)
    assert "client_secret" not in client.get(_url(listing.id), headers=headers).get_json()


def test_the_token_endpoint_refuses_the_old_secret_after_rotation(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    actor = _owner_actor(vendor)
    made = apps.create_listing_app_client(session, clock, actor, vendor.org.id, listing.id, {})
    rotated = apps.rotate_listing_app_client_secret(
        session, clock, actor, vendor.org.id, listing.id
    )
    form = {"grant_type": "refresh_token", "refresh_token": "yrt_unknown"}
    client_id = made.client.client_id

    with_old = client.post("/oauth/token", data=form, headers=basic(client_id, made.client_secret))
    with_new = client.post(
        "/oauth/token", data=form, headers=basic(client_id, rotated.client_secret)
    )

    assert with_old.status_code == 401 and with_old.get_json()["error"] == "invalid_client"
    assert with_new.get_json()["error"] == "invalid_grant"


def test_rotating_a_listing_without_a_client_answers_404(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)

    _problem(client.post(_url(listing.id, "/secret"), headers=_headers(client, vendor)), 404)


def test_a_replayed_rotation_does_not_show_the_secret_again(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    headers = _headers(client, vendor)
    client.put(_url(listing.id), json=SETTINGS, headers=headers)
    keyed = {**headers, "Idempotency-Key": "rotate-1"}

    first = client.post(_url(listing.id, "/secret"), headers=keyed)
    again = client.post(_url(listing.id, "/secret"), headers=keyed)

    assert first.get_json()["client_secret"]
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["client_secret"] is None
    assert len(audit(session, "app_client.secret_rotated")) == 1


# ---- who may ---------------------------------------------------------------------------------


def test_another_vendors_listing_is_not_found_and_stays_untouched(
    client: FlaskClient, session: Session
) -> None:
    owner, intruder = make_vendor(), make_vendor()
    listing = _listing(owner)
    owner_headers, intruder_headers = _headers(client, owner), _headers(client, intruder)
    client.put(_url(listing.id), json=SETTINGS, headers=owner_headers)
    before = _rows(session)

    answers = [
        client.get(_url(listing.id), headers=intruder_headers),
        client.put(_url(listing.id), json={"logo_url": None}, headers=intruder_headers),
        client.post(_url(listing.id, "/secret"), headers=intruder_headers),
    ]

    for answer in answers:
        _problem(answer, 404)
        assert SETTINGS["redirect_uris"][0] not in answer.get_data(as_text=True)
    assert _rows(session) == before


@pytest.mark.parametrize("listing_id", [2_000_000_000, 2**31, 10**30])
def test_a_listing_id_that_names_nothing_answers_404(
    client: FlaskClient, session: Session, listing_id: int
) -> None:
    headers = _headers(client, make_vendor())

    _problem(client.get(_url(listing_id), headers=headers), 404)
    _problem(client.put(_url(listing_id), json={}, headers=headers), 404)


def test_the_services_refuse_another_vendors_listing(session: Session, clock: FrozenClock) -> None:
    owner, intruder = make_vendor(), make_vendor()
    listing = _listing(owner)
    actor = _owner_actor(intruder)

    with pytest.raises(NotFound):
        apps.create_listing_app_client(session, clock, actor, intruder.org.id, listing.id, {})
    with pytest.raises(NotFound):
        apps.listing_sign_on(session, intruder.org.id, listing.id)


def test_a_sandbox_listing_is_refused_as_a_conflict(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    listing = _listing(vendor, sandbox=True)
    headers = _headers(client, vendor, sandbox=True)

    answers = [
        client.put(_url(listing.id), json={}, headers=headers),
        client.get(_url(listing.id), headers=headers),
        client.post(_url(listing.id, "/secret"), headers=headers),
    ]

    for answer in answers:
        assert "仅适用于正式上架的商品" in _problem(answer, 409)["detail"]
    assert _client_of(session, listing) is None


def test_a_live_client_finds_no_sandbox_listing_nor_a_sandbox_client_a_live_one(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    live, sandbox = _listing(vendor), _listing(vendor, sandbox=True, slug="sandbox-app")

    _problem(client.put(_url(sandbox.id), json={}, headers=_headers(client, vendor)), 404)
    sandbox_headers = _headers(client, vendor, sandbox=True)
    _problem(client.put(_url(live.id), json={}, headers=sandbox_headers), 404)


def test_the_console_path_refuses_a_sandbox_listing_too(
    session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor, sandbox=True)

    with pytest.raises(Conflict, match="仅适用于正式上架"):
        apps.save_listing_app_client(
            session, clock, _owner_actor(vendor), vendor.org.id, listing.id, {}
        )


def test_a_suspended_vendor_changes_nothing(session: Session, clock: FrozenClock) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    actor = _owner_actor(vendor)
    apps.create_listing_app_client(session, clock, actor, vendor.org.id, listing.id, {})
    vendor.org.status = OrgStatus.SUSPENDED
    session.flush()
    before = _rows(session)

    with pytest.raises(Forbidden):
        apps.rotate_listing_app_client_secret(session, clock, actor, vendor.org.id, listing.id)
    with pytest.raises(Forbidden):
        apps.save_listing_app_client(session, clock, actor, vendor.org.id, listing.id, SETTINGS)

    assert _rows(session) == before
    assert apps.app_client_in(session, vendor.org.id, listing.id).client_id


def test_reading_needs_catalog_read_and_changing_catalog_write(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    client.put(_url(listing.id), json=SETTINGS, headers=_headers(client, vendor))
    reader = bearer(access_token(client, make_client(vendor, ("catalog:read",), name="Reader")))
    other = bearer(access_token(client, make_client(vendor, ("usage:write",), name="Meter")))

    assert client.get(_url(listing.id), headers=reader).status_code == 200
    assert _problem(client.put(_url(listing.id), json={}, headers=reader), 403)
    assert _problem(client.post(_url(listing.id, "/secret"), headers=reader), 403)
    assert _problem(client.get(_url(listing.id), headers=other), 403)
    assert _problem(client.get(_url(listing.id)), 401)


def test_the_document_describes_the_three_operations(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]

    operations = paths["/api/v1/listings/{listing_id}/sso-client"]
    rotate = paths["/api/v1/listings/{listing_id}/sso-client/secret"]["post"]
    assert set(operations) == {"get", "put"}
    assert operations["get"]["security"] == [{"oauth2": ["catalog:read"]}]
    assert operations["put"]["security"] == [{"oauth2": ["catalog:write"]}]
    assert "requestBody" in operations["put"]
    assert {"404", "409", "422"} <= set(operations["put"]["responses"])
    assert rotate["security"] == [{"oauth2": ["catalog:write"]}]


def test_nothing_but_the_owner_vendors_entries_are_written(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    headers = _headers(client, vendor)

    client.put(_url(listing.id), json=SETTINGS, headers=headers)
    client.put(_url(listing.id), json={"logo_url": None}, headers=headers)
    client.post(_url(listing.id, "/secret"), headers=headers)

    session.expire_all()
    stmt = sa.select(AuditEntry).where(AuditEntry.target_type == "app_client")
    entries = list(session.scalars(stmt.order_by(AuditEntry.id)))
    assert [e.action for e in entries] == [
        "app_client.created",
        "app_client.updated",
        "app_client.secret_rotated",
    ]
    assert {(e.actor_org_id, e.subject_org_id) for e in entries} == {(vendor.org.id, vendor.org.id)}
