"""The catalog API checks single sign-on redirect URIs and launch URLs, naming each bad one."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.models import Listing
from catalog.schemas import ListingUpdateSchema
from marketplace.clock import FrozenClock
from tests.api.catalog_helpers import api_vendor, draft_of, problem
from tests.catalog.workflow import content, count

GOOD = "https://app.ledger.example/callback"
# (a URL no app may use, the words its error must contain)
BAD_URLS = [
    ("http://app.ledger.example/callback", "https://"),
    ("http://localhost.evil.example/cb", "https://"),
    ("http://10.0.0.8/cb", "https://"),
    ("https://user:secret@app.ledger.example/cb", "user name and password"),
    ("https://user@app.ledger.example/cb", "user name and password"),
    ("https://app.ledger.example/cb#token", "fragment"),
    ("https://app.ledger.example/cb#", "fragment"),
    ("/callback", "absolute URL"),
    ("app.ledger.example/callback", "absolute URL"),
    ("https:///callback", "absolute URL"),
    ("ftp://app.ledger.example/callback", "absolute URL"),
    ("javascript:alert(1)", "absolute URL"),
    ("https://app.ledger.example:99999/cb", "absolute URL"),
    ("http://[::1/cb", "absolute URL"),
    ("", "absolute URL"),
    ("https://app.ledger example/cb", "spaces or control characters"),
    ("https://app.ledger.example/c\nb", "spaces or control characters"),
]
LOOPBACK = ["http://localhost:8000/cb", "http://127.0.0.1/cb", "http://LOCALHOST/cb"]


@pytest.mark.parametrize(("url", "reason"), BAD_URLS)
def test_a_bad_redirect_uri_is_named_by_its_index(
    client: FlaskClient, session: Session, url: str, reason: str
) -> None:
    caller = api_vendor(client)

    response = client.post(
        "/api/v1/listings",
        json=content(sso_redirect_uris=[GOOD, url]),
        headers=caller.headers,
    )

    errors = problem(response, 422)["errors"]
    assert list(errors) == ["sso_redirect_uris.1"]
    assert reason in errors["sso_redirect_uris.1"][0]
    assert count(session, Listing) == 0


@pytest.mark.parametrize(("url", "reason"), BAD_URLS[:-3])
def test_a_bad_launch_url_is_refused(
    client: FlaskClient, session: Session, url: str, reason: str
) -> None:
    caller = api_vendor(client)

    response = client.post("/api/v1/listings", json=content(launch_url=url), headers=caller.headers)

    errors = problem(response, 422)["errors"]
    assert list(errors) == ["launch_url"]
    assert reason in errors["launch_url"][0]


def test_every_bad_redirect_uri_is_named_at_once(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)
    uris = ["http://a.example/", GOOD, "https://a.example/#x", "https://u@a.example/"]

    response = client.post(
        "/api/v1/listings", json=content(sso_redirect_uris=uris), headers=caller.headers
    )

    errors = problem(response, 422)["errors"]
    assert set(errors) == {"sso_redirect_uris.0", "sso_redirect_uris.2", "sso_redirect_uris.3"}


def test_a_repeated_redirect_uri_is_named_by_its_index(
    client: FlaskClient, session: Session
) -> None:
    caller = api_vendor(client)
    uris = [GOOD, "https://app.ledger.example/other", f" {GOOD} "]

    response = client.post(
        "/api/v1/listings", json=content(sso_redirect_uris=uris), headers=caller.headers
    )

    errors = problem(response, 422)["errors"]
    assert errors == {"sso_redirect_uris.2": ["Repeats the redirect URI at index 0."]}


def test_at_most_ten_redirect_uris(client: FlaskClient, session: Session) -> None:
    caller = api_vendor(client)
    uris = [f"https://app.ledger.example/cb/{n}" for n in range(11)]

    response = client.post(
        "/api/v1/listings", json=content(sso_redirect_uris=uris), headers=caller.headers
    )

    assert problem(response, 422)["errors"] == {
        "sso_redirect_uris": ["At most 10 redirect URIs are allowed."]
    }


def test_ten_distinct_https_and_loopback_uris_are_accepted(
    client: FlaskClient, session: Session
) -> None:
    caller = api_vendor(client)
    uris = [*LOOPBACK, *(f"https://app.ledger.example/cb/{n}?from=sso" for n in range(7))]

    response = client.post(
        "/api/v1/listings",
        json=content(sso_redirect_uris=uris, launch_url="http://localhost:8000/"),
        headers=caller.headers,
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["draft"]["sso_redirect_uris"] == uris


@pytest.mark.parametrize("launch_url", ["", None])
def test_an_empty_launch_url_clears_it(
    client: FlaskClient, session: Session, clock: FrozenClock, launch_url: str | None
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)

    response = client.patch(
        f"/api/v1/listings/{listing.id}", json={"launch_url": launch_url}, headers=caller.headers
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["draft"]["launch_url"] is None


def test_an_update_is_checked_like_a_new_listing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = api_vendor(client)
    listing = draft_of(session, clock, caller)

    response = client.patch(
        f"/api/v1/listings/{listing.id}",
        json={"sso_redirect_uris": [GOOD, GOOD]},
        headers=caller.headers,
    )

    assert list(problem(response, 422)["errors"]) == ["sso_redirect_uris.1"]


def test_the_schema_lets_every_loopback_host_use_plain_http() -> None:
    uris = ["http://localhost:8000/cb", "http://127.0.0.1/cb", "http://[::1]:5000/cb"]

    loaded = ListingUpdateSchema().load({"sso_redirect_uris": uris, "launch_url": uris[2]})

    assert loaded == {"sso_redirect_uris": uris, "launch_url": uris[2]}
