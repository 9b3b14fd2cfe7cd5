"""The vendor console's single sign-on page of a listing: make, change, rotate; who may."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app import create_app
from catalog.models import Listing
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.orgs.models import OrgStatus
from sso.provider import apps
from sso.provider.models import AppClient
from sso.provider.server import AppOAuthClient
from tests.catalog.storefront_data import publish_listing
from tests.conftest import make_test_settings
from tests.sso.conftest import Vendor, audit, make_vendor, sign_in

SECRET = re.compile(r'data-testid="client-secret">(yss_[A-Za-z0-9_-]+)<')
LISTED_URIS = ["https://app.ledger.example/callback", "http://localhost:8000/cb"]
FORM = {
    "redirect_uris": "https://app.example/cb\n\n  https://app.example/cb2  \n",
    "post_logout_redirect_uris": "https://app.example/bye",
    "initiate_login_uri": "https://app.example/login",
    "logo_url": "https://cdn.example/logo.png",
}


def _listing(vendor: Vendor, **fields: object) -> Listing:
    fields.setdefault("sso_redirect_uris", list(LISTED_URIS))
    return publish_listing(vendor.org, **fields)


def _page(listing: Listing) -> str:
    return f"/vendor/listings/{listing.id}/single-sign-on"


def _made(session: Session, clock: FrozenClock, vendor: Vendor, listing: Listing) -> str:
    """Make the listing's client through the service; return its secret."""
    owner = Actor(vendor.users["owner"].id, vendor.org.id)
    issued = apps.create_listing_app_client(session, clock, owner, vendor.org.id, listing.id, {})
    return issued.client_secret


def _row(session: Session, listing: Listing) -> AppClient | None:
    session.expire_all()
    return apps.app_client_of_listing(session, listing.id)


def _secret_of(response: TestResponse) -> str:
    found = SECRET.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return found.group(1)


def test_the_listings_page_links_each_live_listing_to_its_sign_on_page(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    live, sandbox = _listing(vendor), _listing(vendor, sandbox=True, slug="sandbox-app")
    sign_in(client, vendor.users["member"], vendor.org)

    html = client.get("/vendor/listings").get_data(as_text=True)

    assert f'href="{_page(live)}"' in html
    assert _page(sandbox) not in html


def test_before_there_is_a_client_the_form_offers_the_listings_redirect_uris(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    sign_in(client, vendor.users["owner"], vendor.org)

    page = client.get(_page(listing))

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="no-app-client"' in html
    assert "https://app.ledger.example/callback\nhttp://localhost:8000/cb" in html
    assert 'data-testid="settings-form"' in html and 'data-testid="rotate-form"' not in html


def test_an_owner_makes_the_client_and_sees_its_secret_once(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    sign_in(client, vendor.users["owner"], vendor.org)

    made = client.post(_page(listing), data={"redirect_uris": ""})

    assert made.status_code == 200
    assert made.headers["Cache-Control"] == "no-store"
    secret = _secret_of(made)
    row = _row(session, listing)
    assert row is not None and row.redirect_uris == LISTED_URIS
    assert AppOAuthClient(row).check_client_secret(secret)
    later = client.get(_page(listing)).get_data(as_text=True)
    assert row.client_id in later and secret not in later and "yss_" not in later
    assert len(audit(session, "app_client.created")) == 1


def test_an_admin_saves_the_settings_one_address_per_line(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    _made(session, clock, vendor, listing)
    sign_in(client, vendor.users["admin"], vendor.org)

    saved = client.post(_page(listing), data=FORM)

    assert saved.status_code == 302 and saved.headers["Location"].endswith(_page(listing))
    row = _row(session, listing)
    assert row is not None
    assert row.redirect_uris == ["https://app.example/cb", "https://app.example/cb2"]
    assert row.post_logout_redirect_uris == ["https://app.example/bye"]
    assert (row.initiate_login_uri, row.logo_url) == (FORM["initiate_login_uri"], FORM["logo_url"])
    assert len(audit(session, "app_client.updated")) == 1
    html = client.get(_page(listing)).get_data(as_text=True)
    assert "saved" in html and "https://app.example/cb2" in html


def test_a_bad_line_is_named_by_its_line_number_and_nothing_changes(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    _made(session, clock, vendor, listing)
    sign_in(client, vendor.users["owner"], vendor.org)
    form = FORM | {"redirect_uris": "https://app.example/cb\n\nhttp://app.example/cb"}
    form |= {"logo_url": "ftp://cdn.example/logo.png"}

    refused = client.post(_page(listing), data=form)

    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "Line 3: Use https://" in html
    assert "Enter an absolute web address" in html
    row = _row(session, listing)
    assert row is not None and row.redirect_uris == LISTED_URIS and row.logo_url is None
    assert audit(session, "app_client.updated") == []


def test_emptying_the_redirect_uris_is_refused(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    _made(session, clock, vendor, listing)
    sign_in(client, vendor.users["owner"], vendor.org)

    refused = client.post(_page(listing), data=FORM | {"redirect_uris": "  \n"})

    assert refused.status_code == 422
    assert "Give at least one redirect URI." in refused.get_data(as_text=True)


def test_a_new_secret_needs_the_box_ticked(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    old = _made(session, clock, vendor, listing)
    sign_in(client, vendor.users["owner"], vendor.org)

    refused = client.post(f"{_page(listing)}/secret", data={})

    assert refused.status_code == 422
    assert "Tick the box to confirm." in refused.get_data(as_text=True)
    row = _row(session, listing)
    assert row is not None and AppOAuthClient(row).check_client_secret(old)


def test_a_confirmed_new_secret_is_shown_once_and_the_old_one_fails(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    old = _made(session, clock, vendor, listing)
    sign_in(client, vendor.users["admin"], vendor.org)

    rotated = client.post(f"{_page(listing)}/secret", data={"confirm": "y"})

    assert rotated.status_code == 200
    assert rotated.headers["Cache-Control"] == "no-store"
    new = _secret_of(rotated)
    row = _row(session, listing)
    assert row is not None and row.secret_rotated_at == clock.now()
    assert AppOAuthClient(row).check_client_secret(new)
    assert not AppOAuthClient(row).check_client_secret(old)
    assert len(audit(session, "app_client.secret_rotated")) == 1


@pytest.mark.parametrize("role", ["member", "billing"])
def test_other_members_see_the_settings_but_change_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock, role: str
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    _made(session, clock, vendor, listing)
    row = _row(session, listing)
    assert row is not None
    sign_in(client, vendor.users[role], vendor.org)

    page = client.get(_page(listing))

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert row.client_id in html and LISTED_URIS[0] in html
    assert "<form" not in html.split('id="main"')[1]
    assert client.post(_page(listing), data=FORM).status_code == 403
    assert client.post(f"{_page(listing)}/secret", data={"confirm": "y"}).status_code == 403
    assert _row(session, listing).redirect_uris == LISTED_URIS  # type: ignore[union-attr]


def test_another_vendors_listing_is_not_found(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    owner, intruder = make_vendor(), make_vendor()
    listing = _listing(owner)
    _made(session, clock, owner, listing)
    sign_in(client, intruder.users["owner"], intruder.org)

    answers = [
        client.get(_page(listing)),
        client.post(_page(listing), data=FORM),
        client.post(f"{_page(listing)}/secret", data={"confirm": "y"}),
    ]

    assert [answer.status_code for answer in answers] == [404, 404, 404]
    assert all(LISTED_URIS[0] not in answer.get_data(as_text=True) for answer in answers)
    assert _row(session, listing).redirect_uris == LISTED_URIS  # type: ignore[union-attr]


def test_a_firm_is_not_shown_the_page(client: FlaskClient, session: Session) -> None:
    vendor, firm = make_vendor(), make_vendor(kind="sme")
    listing = _listing(vendor)
    sign_in(client, firm.users["owner"], firm.org)

    assert client.get(_page(listing)).status_code == 404


def test_a_sandbox_listing_says_sign_on_is_for_live_listings(
    client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor, sandbox=True)
    sign_in(client, vendor.users["owner"], vendor.org)

    page = client.get(_page(listing))
    made = client.post(_page(listing), data=FORM)

    assert page.status_code == made.status_code == 409
    assert "only for live listings" in page.get_data(as_text=True)
    assert _row(session, listing) is None


def test_a_suspended_vendor_sees_the_page_but_changes_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    _made(session, clock, vendor, listing)
    vendor.org.status = OrgStatus.SUSPENDED
    session.flush()
    sign_in(client, vendor.users["owner"], vendor.org)

    page = client.get(_page(listing))

    assert page.status_code == 200
    assert 'data-testid="suspended-notice"' in page.get_data(as_text=True)
    assert 'data-testid="settings-form"' not in page.get_data(as_text=True)
    assert client.post(_page(listing), data=FORM).status_code == 403


def test_a_visitor_is_sent_to_sign_in(client: FlaskClient, session: Session) -> None:
    listing = _listing(make_vendor())

    answer = client.get(_page(listing))

    assert answer.status_code in (302, 401)
    assert client.post(_page(listing), data=FORM).status_code in (302, 401)
    assert _row(session, listing) is None


def test_the_page_reads_in_chinese(client: FlaskClient, session: Session) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    sign_in(client, vendor.users["owner"], vendor.org, lang="zh_CN")

    html = client.get(_page(listing)).get_data(as_text=True)

    assert "单点登录" in html


# ---- CSRF -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def protected_app(database_url: str, redis_url: str | None) -> Iterator[Flask]:
    """Build an app with CSRF protection on, as outside the test suite."""
    built = create_app(make_test_settings(database_url, redis_url, WTF_CSRF_ENABLED=True))
    yield built
    built.extensions["db_engine"].dispose()


@pytest.fixture
def protected_client(
    protected_app: Flask, session: Session, clock: FrozenClock
) -> Iterator[FlaskClient]:
    """A browser on the protected app, sharing the test's transaction and clock."""
    protected_app.extensions["clock"] = clock
    with protected_app.app_context():
        yield protected_app.test_client()


def _tokens(html: str) -> list[str]:
    return re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', html)


def test_forms_without_their_csrf_token_are_refused(
    protected_client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    old = _made(session, clock, vendor, listing)
    sign_in(protected_client, vendor.users["owner"], vendor.org)

    saved = protected_client.post(_page(listing), data=FORM)
    rotated = protected_client.post(f"{_page(listing)}/secret", data={"confirm": "y"})

    assert saved.status_code == rotated.status_code == 400
    row = _row(session, listing)
    assert row is not None and row.redirect_uris == LISTED_URIS
    assert AppOAuthClient(row).check_client_secret(old)


def test_forms_with_the_pages_csrf_token_are_judged_on_their_merits(
    protected_client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    listing = _listing(vendor)
    sign_in(protected_client, vendor.users["owner"], vendor.org)
    [token] = set(_tokens(protected_client.get(_page(listing)).get_data(as_text=True)))

    made = protected_client.post(_page(listing), data={"csrf_token": token, "redirect_uris": ""})
    tokens = _tokens(protected_client.get(_page(listing)).get_data(as_text=True))
    rotated = protected_client.post(
        f"{_page(listing)}/secret", data={"csrf_token": tokens[-1], "confirm": "y"}
    )

    assert made.status_code == rotated.status_code == 200
    assert _secret_of(made) != _secret_of(rotated)
    assert sa.inspect(_row(session, listing)).persistent
