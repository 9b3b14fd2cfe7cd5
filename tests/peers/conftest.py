"""Peer tests: client software no one here wrote talks to the app under gunicorn on loopback.

The app runs under gunicorn with its own scratch database and PUBLIC_URL set to its loopback
address, so that address is the issuer the peers discover. Worlds (a vendor app, a firm with
a seat for a user) are made in that database through the app's services, by a second Flask
app bound to it. A `UserAgent` plays the user's browser with plain HTTP: it signs in through
the CSRF-protected form and answers the consent page, and hands back the redirect to the
relying party without following it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from flask import Flask

from app import create_app
from marketplace import migrate
from marketplace.clock import SystemClock
from marketplace.extensions import db
from marketplace.settings import Settings
from tests import backends
from tests.conftest import BACKENDS, RUN_PREFIX
from tests.factories import PASSWORD
from tests.live_app import Served, serve_app
from tests.sso.provider_world import POST_LOGOUT_URI, REDIRECT_URI, make_world

SECRET_KEY = "peer-test-secret"
MAX_HOPS = 10


# ---- the app under gunicorn -------------------------------------------------------------------


@contextmanager
def gunicorn_app(
    database_url: str, redis_url: str | None, *, label: str, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """Serve the app under gunicorn on a free loopback port until the block ends."""
    settings = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET_KEY,
        "RATE_LIMIT_PREFIX": f"{RUN_PREFIX}-{label}",
        "LOG_JSON": "1",
        **({"REDIS_URL": redis_url} if redis_url else {}),
        **(env or {}),
    }
    with serve_app(settings, label=label) as served:
        yield served


@dataclass(frozen=True)
class PeerServer:
    """The running app and an app bound to its database, for seeding."""

    served: Served
    seeding_app: Flask

    @property
    def url(self) -> str:
        """Return the app's base URL, which is also the issuer."""
        return self.served.url


@pytest.fixture(scope="session")
def peer_database_url() -> Iterator[str]:
    """Give the live server a database of its own, migrated to head."""
    with backends.scratch_database("peers", has_postgres=BACKENDS.has_postgres) as url:
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def peer_server(peer_database_url: str, redis_url: str | None) -> Iterator[PeerServer]:
    """Run the app under gunicorn for the whole run, with a seeding app on the same database."""
    with gunicorn_app(peer_database_url, redis_url, label="peers") as served:
        seeding_app = create_app(
            Settings(
                env="testing",
                secret_key=SECRET_KEY,
                database_url=peer_database_url,
                redis_url=redis_url,
                rate_limit_prefix=f"{RUN_PREFIX}-peers",
                public_url=served.url,
                log_json=False,
                extra={"TESTING": True},
            )
        )
        try:
            yield PeerServer(served, seeding_app)
        finally:
            seeding_app.extensions["db_engine"].dispose()


# ---- a world of an app and an entitled user ---------------------------------------------------


@dataclass(frozen=True)
class EntitledUser:
    """A vendor app's client and an SME user with a seat on the firm's subscription to it."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    post_logout_redirect_uri: str
    email: str
    password: str
    display_name: str
    firm_id: int
    firm_name: str
    subscription_id: int


@pytest.fixture
def entitled_user(peer_server: PeerServer) -> EntitledUser:
    """Publish a new app with a client and give a new firm's owner a seat on it, committed."""
    with peer_server.seeding_app.app_context():
        session = db.session()
        world = make_world(session, SystemClock())
        session.commit()
        made = EntitledUser(
            issuer=peer_server.url,
            client_id=world.client_id,
            client_secret=world.client_secret,
            redirect_uri=REDIRECT_URI,
            post_logout_redirect_uri=POST_LOGOUT_URI,
            email=world.owner.email,
            password=PASSWORD,
            display_name=world.owner.display_name,
            firm_id=world.firm.id,
            firm_name=world.firm.name,
            subscription_id=world.subscription.id,
        )
        db.session.remove()
    return made


# ---- the user's browser -----------------------------------------------------------------------


@dataclass
class Form:
    """A form on a page: where it posts and the values its inputs carry."""

    action: str
    fields: dict[str, str] = field(default_factory=dict)


class _FormReader(HTMLParser):
    """Collect the forms of a page by id, with their inputs' names and values."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, Form] = {}
        self._current: Form | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._current = Form(values.get("action", ""))
            self.forms[values.get("id", f"form-{len(self.forms)}")] = self._current
        elif tag == "input" and self._current is not None and "name" in values:
            kind = values.get("type", "text")
            if kind not in ("submit", "button", "checkbox", "radio") or "checked" in values:
                self._current.fields[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def read_form(html: str, form_id: str) -> Form:
    """Return the form with an id on a page, failing the test when there is none."""
    reader = _FormReader()
    reader.feed(html)
    assert form_id in reader.forms, f"no form #{form_id} on the page: {html[:600]}"
    return reader.forms[form_id]


class UserAgent:
    """A user's browser over plain HTTP: follows the app's own redirects, never the RP's."""

    def __init__(self, server: Served) -> None:
        self.server = server
        self.base_url = server.url
        self.http = requests.Session()
        self.pages: list[str] = []
        self.consents_given = 0

    def _is_ours(self, url: str) -> bool:
        return urlsplit(url).netloc == urlsplit(self.base_url).netloc

    def get(self, url: str) -> requests.Response:
        """GET a URL without following redirects."""
        response = self.http.get(urljoin(self.base_url, url), allow_redirects=False, timeout=10)
        self.pages.append(f"GET {url} -> {response.status_code}")
        return response

    def post(self, url: str, data: dict[str, str]) -> requests.Response:
        """POST a form without following redirects."""
        response = self.http.post(
            urljoin(self.base_url, url), data=data, allow_redirects=False, timeout=10
        )
        self.pages.append(f"POST {url} -> {response.status_code}")
        return response

    def sign_in(self, response: requests.Response, email: str, password: str) -> requests.Response:
        """Fill in the sign-in form on a page and submit it."""
        form = read_form(response.text, "login-form")
        form.fields.update(email=email, password=password)
        assert form.fields.get("csrf_token"), "the sign-in form carries no CSRF token"
        return self.post(urljoin(response.url, form.action), form.fields)

    def visit(
        self,
        url: str,
        *,
        email: str | None = None,
        password: str | None = None,
        decision: str | None = "allow",
    ) -> str:
        """Open url and go where the app sends the user, signing in and answering consent;
        return the first address outside the app (the relying party's), unvisited."""
        response = self.get(url)
        for _hop in range(MAX_HOPS):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if not self._is_ours(location):
                    return location
                response = self.get(location)
            elif response.status_code == 200 and 'id="login-form"' in response.text:
                assert email and password, "the app asks this user to sign in"
                response = self.sign_in(response, email, password)
            elif response.status_code == 200 and 'id="consent-form"' in response.text:
                assert decision, "the app asks this user for consent"
                form = read_form(response.text, "consent-form")
                form.fields["decision"] = decision
                self.consents_given += 1
                response = self.post(urljoin(response.url, form.action), form.fields)
            else:
                raise AssertionError(
                    f"the app stopped at {response.status_code} {response.url}: "
                    f"{response.text[:300]}\n"
                    + "\n".join(self.pages)
                    + "\nserver log:\n"
                    + self.server.log_tail()
                )
        raise AssertionError("too many hops:\n" + "\n".join(self.pages))

    def is_signed_in(self) -> bool:
        """Tell whether the app still knows this browser's user: /login sends them home."""
        return self.get("/login").is_redirect


@pytest.fixture
def user_agent(peer_server: PeerServer) -> Iterator[UserAgent]:
    """Give a test a fresh browser with no cookies."""
    agent = UserAgent(peer_server.served)
    yield agent
    agent.http.close()
