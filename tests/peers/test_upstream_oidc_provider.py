"""Sign in with 统一身份: Yunshi under gunicorn against oidc-provider (npm) as the upstream.

oidc-provider runs on loopback with one client for Yunshi and its development sign-in form,
where the login typed is the account id; the accounts' claims come from a JSON file the tests
write (see upstream_idp.mjs). Yunshi's server exchanges the code with the real provider and
verifies the real ID token; as the provider conforms, the address is only at userinfo. The
Python side plays the user's browser over plain HTTP against both.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests
import sqlalchemy as sa
from flask import Flask

from app import create_app
from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.extensions import db
from marketplace.settings import Settings
from sso.upstream_models import UpstreamIdentity
from tests import backends
from tests.conftest import RUN_PREFIX
from tests.factories import PASSWORD, make_user
from tests.peers.conftest import SECRET_KEY, Served, gunicorn_app, read_form
from tests.peers.npm import PEERS, NpmFailed, ensure_node_modules, is_current

CLIENT_ID = "yunshi-marketplace"
CLIENT_SECRET = "a-client-secret-for-the-peer-tests"
PROVIDER_NAME = "闽政通"
MAX_HOPS = 12
START_TIMEOUT = 20


# ---- the upstream provider --------------------------------------------------------------------


@dataclass(frozen=True)
class UpstreamProvider:
    """oidc-provider on loopback and the file its accounts come from."""

    issuer: str
    accounts_file: Path
    log: Path

    def add_account(self, *, email: str, verified: bool, name: str | None = "林晓") -> str:
        """Add an account to the provider and return its id, which is also its sign-in."""
        account_id = f"acct-{uuid.uuid4().hex[:12]}"
        accounts = json.loads(self.accounts_file.read_text())
        accounts[account_id] = {"email": email, "email_verified": verified, "name": name}
        self.accounts_file.write_text(json.dumps(accounts))
        return account_id

    def log_tail(self, chars: int = 3000) -> str:
        """Return the end of what the provider wrote on stderr, to explain a failure."""
        return self.log.read_text(errors="replace")[-chars:]


@contextmanager
def upstream_provider(port: int, redirect_uri: str) -> Iterator[UpstreamProvider]:
    """Run upstream_idp.mjs on port with Yunshi as its one client, until the block ends."""
    accounts_file = Path(tempfile.mkstemp(prefix="upstream-accounts-", suffix=".json")[1])
    accounts_file.write_text("{}")
    log = Path(tempfile.mkstemp(prefix="upstream-idp-", suffix=".log")[1])
    command = [
        "node",
        str(PEERS / "upstream_idp.mjs"),
        str(port),
        CLIENT_ID,
        CLIENT_SECRET,
        redirect_uri,
        str(accounts_file),
    ]
    with log.open("w") as errors:
        process = subprocess.Popen(
            command, cwd=PEERS, stdout=subprocess.PIPE, stderr=errors, text=True
        )
    try:
        assert process.stdout is not None
        ready, _, _ = select.select([process.stdout], [], [], START_TIMEOUT)
        line = process.stdout.readline() if ready else ""
        if not line.startswith("ready "):
            raise RuntimeError(f"the upstream provider did not start: {line}{log.read_text()}")
        yield UpstreamProvider(line.split()[1], accounts_file, log)
    finally:
        process.terminate()
        process.wait(timeout=10)
        accounts_file.unlink(missing_ok=True)
        log.unlink(missing_ok=True)


@dataclass(frozen=True)
class World:
    """Yunshi with sign-in through the provider, the provider, and an app to read the database."""

    yunshi: Served
    provider: UpstreamProvider
    reading_app: Flask


@pytest.fixture(scope="module")
def world(peer_database_url: str, redis_url: str | None) -> Iterator[World]:
    """Start the provider and a Yunshi that trusts it, on the peer tests' database."""
    ensure_node_modules()
    provider_port = backends.free_port()
    issuer = f"http://127.0.0.1:{provider_port}"
    env = {
        "UPSTREAM_OIDC_ISSUER": issuer,
        "UPSTREAM_OIDC_CLIENT_ID": CLIENT_ID,
        "UPSTREAM_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "UPSTREAM_OIDC_NAME": PROVIDER_NAME,
    }
    # Yunshi loads the provider's metadata at the first sign-in, so it may start first.
    with gunicorn_app(peer_database_url, redis_url, label="upstream", env=env) as served:
        callback = f"{served.url}/login/upstream/callback"
        with upstream_provider(provider_port, callback) as provider:
            assert provider.issuer == issuer
            reading_app = create_app(
                Settings(
                    env="testing",
                    secret_key=SECRET_KEY,
                    database_url=peer_database_url,
                    redis_url=redis_url,
                    rate_limit_prefix=f"{RUN_PREFIX}-upstream",
                    public_url=served.url,
                    log_json=False,
                    extra={"TESTING": True},
                )
            )
            try:
                yield World(served, provider, reading_app)
            finally:
                reading_app.extensions["db_engine"].dispose()


# ---- the user's browser ----------------------------------------------------------------------


class Browser:
    """A user's browser over plain HTTP that walks through Yunshi and the provider."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.http = requests.Session()
        self.trail: list[str] = []

    def _on(self, url: str, base: str) -> bool:
        return urlsplit(url).netloc == urlsplit(base).netloc

    def get(self, url: str) -> requests.Response:
        """GET a URL (relative ones on Yunshi) without following redirects."""
        response = self.http.get(
            urljoin(self.world.yunshi.url, url), allow_redirects=False, timeout=15
        )
        self.trail.append(f"GET {url} -> {response.status_code}")
        return response

    def post(self, url: str, data: dict[str, str]) -> requests.Response:
        """POST a form without following redirects."""
        response = self.http.post(
            urljoin(self.world.yunshi.url, url), data=data, allow_redirects=False, timeout=15
        )
        self.trail.append(f"POST {url} -> {response.status_code}")
        return response

    def explain(self) -> str:
        """Return the steps taken and the servers' last words, for a failure message."""
        return (
            "\n".join(self.trail)
            + "\nyunshi log:\n"
            + self.world.yunshi.log_tail()
            + "\nprovider stderr:\n"
            + self.world.provider.log_tail()
        )

    def to_provider(self, next_page: str | None = None) -> str:
        """Click "sign in with" on Yunshi's login page; return the provider's address it gives."""
        login = self.get("/login" + (f"?next={next_page}" if next_page else ""))
        assert 'id="upstream-login"' in login.text, self.explain()
        start = read_link(login.text, "upstream-login")
        response = self.get(start)
        assert response.status_code == 302, self.explain()
        location = response.headers["Location"]
        assert location.startswith(self.world.provider.issuer + "/auth?"), location
        return location

    def through_provider(self, location: str, account_id: str, *, abort: bool = False) -> str:
        """Sign in at the provider and consent; return Yunshi's callback address, unvisited."""
        response = self.get(location)
        for _hop in range(MAX_HOPS):
            if response.is_redirect:
                location = urljoin(response.url, response.headers["Location"])
                if self._on(location, self.world.yunshi.url):
                    return location
                response = self.get(location)
            elif response.status_code == 200 and 'value="login"' in response.text:
                if abort:
                    response = self.get(response.url.rstrip("/") + "/abort")
                    continue
                form = read_form(response.text, "form-0")
                form.fields.update(login=account_id, password="anything")
                response = self.post(urljoin(response.url, form.action), form.fields)
            elif response.status_code == 200 and 'value="consent"' in response.text:
                form = read_form(response.text, "form-0")
                response = self.post(urljoin(response.url, form.action), form.fields)
            else:
                raise AssertionError(f"stuck at {response.status_code}\n{self.explain()}")
        raise AssertionError("too many hops\n" + self.explain())

    def sign_in_upstream(self, account_id: str, next_page: str | None = None) -> requests.Response:
        """Go the whole way from Yunshi's login page back to Yunshi's callback's answer."""
        callback = self.through_provider(self.to_provider(next_page), account_id)
        return self.get(callback)

    def is_signed_in(self) -> bool:
        """Tell whether Yunshi knows this browser's user: its login page sends them home."""
        return self.get("/login").is_redirect


def read_link(html: str, link_id: str) -> str:
    """Return the href of the link with an id on a page."""
    marker = f'id="{link_id}" href="'
    assert marker in html, f"no link #{link_id}"
    return html.split(marker, 1)[1].split('"', 1)[0].replace("&amp;", "&")


@pytest.fixture
def person(world: World) -> Iterator[Browser]:
    """Give a test a browser with no cookies."""
    made = Browser(world)
    yield made
    made.http.close()


def new_address() -> str:
    """Return an address no account has yet."""
    return f"firm-{uuid.uuid4().hex[:10]}@example.com"


# ---- reading the database ---------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """What the database holds about one address and one upstream account."""

    users: list[tuple[int, str, bool, str]]
    links: list[tuple[int, str | None]]
    audit_actions: list[str]


def stored(world: World, email: str, account_id: str) -> Stored:
    """Read the users with an address, the upstream account's links and their audit entries."""
    with world.reading_app.app_context():
        session = db.session()
        users = session.execute(
            sa.select(
                User.id, User.email, User.email_confirmed_at.is_not(None), User.display_name
            ).where(User.email == email)
        ).all()
        links = session.execute(
            sa.select(UpstreamIdentity.user_id, UpstreamIdentity.email).where(
                UpstreamIdentity.issuer == world.provider.issuer,
                UpstreamIdentity.subject == account_id,
            )
        ).all()
        user_ids = [str(row[0]) for row in [*users, *links]]
        actions = session.scalars(
            sa.select(AuditEntry.action)
            .where(AuditEntry.target_type == "user", AuditEntry.target_id.in_(user_ids))
            .order_by(AuditEntry.id)
        ).all()
        db.session.remove()
    return Stored(
        [tuple(row) for row in users],  # type: ignore[misc]
        [tuple(row) for row in links],  # type: ignore[misc]
        list(actions),
    )


def add_yunshi_user(world: World, email: str, *, confirmed: bool) -> int:
    """Add a Yunshi account that signs in with PASSWORD, committed; return its id."""
    with world.reading_app.app_context():
        user = make_user(email, confirmed=confirmed)
        db.session.commit()
        user_id = user.id
        db.session.remove()
    return user_id


def assert_clear_error(response: requests.Response, *words: str) -> None:
    """Check that an answer is Yunshi's 400 error page saying what went wrong."""
    assert response.status_code == 400, response.text[:500]
    assert 'id="upstream-error"' in response.text
    assert 'id="back-to-login"' in response.text
    assert 'href="/login"' in response.text
    for word in words:
        assert word in response.text


# ---- the tests --------------------------------------------------------------------------------


def test_a_first_sign_in_creates_an_account_and_later_ones_reuse_its_link(
    world: World, person: Browser
) -> None:
    email = new_address()
    account = world.provider.add_account(email=email, verified=True, name="林晓")
    answer = person.sign_in_upstream(account, next_page="/settings")
    assert answer.status_code == 302, person.explain()
    assert answer.headers["Location"] == "/settings"
    assert person.is_signed_in()
    first = stored(world, email, account)
    [(user_id, _, confirmed, name)] = first.users
    assert (confirmed, name) == (True, "林晓")
    assert first.links == [(user_id, email)]
    assert first.audit_actions == ["user.signed_up", "user.upstream_linked"]

    again = Browser(world)
    answer = again.sign_in_upstream(account)
    assert answer.status_code == 302, again.explain()
    assert answer.headers["Location"] == "/"
    assert again.is_signed_in()
    assert stored(world, email, account) == first


def test_a_verified_address_of_a_confirmed_account_links_to_it(
    world: World, person: Browser
) -> None:
    email = new_address()
    user_id = add_yunshi_user(world, email, confirmed=True)
    account = world.provider.add_account(email=email, verified=True)
    answer = person.sign_in_upstream(account)
    assert answer.status_code == 302, person.explain()
    assert person.is_signed_in()
    now = stored(world, email, account)
    assert [row[0] for row in now.users] == [user_id]
    assert now.links == [(user_id, email)]
    assert now.audit_actions == ["user.upstream_linked"]


def test_an_unverified_address_links_after_a_yunshi_password(world: World, person: Browser) -> None:
    email = new_address()
    user_id = add_yunshi_user(world, email, confirmed=True)
    account = world.provider.add_account(email=email, verified=False)
    answer = person.sign_in_upstream(account, next_page="/settings")
    assert answer.status_code == 302, person.explain()
    assert answer.headers["Location"] == "/login/upstream/link"
    page = person.get("/login/upstream/link")
    assert page.status_code == 200
    assert f'value="{email}"' in page.text
    assert stored(world, email, account).links == []
    assert not person.is_signed_in()

    form = read_form(page.text, "upstream-link-form")
    wrong = person.post("/login/upstream/link", {**form.fields, "password": "not the password"})
    assert wrong.status_code == 422
    assert stored(world, email, account).links == []

    form.fields.update(email=email, password=PASSWORD)
    linked = person.post("/login/upstream/link", form.fields)
    assert linked.status_code == 302, person.explain()
    assert linked.headers["Location"] == "/settings"
    assert person.is_signed_in()
    assert stored(world, email, account).links == [(user_id, email)]

    later = Browser(world)
    assert later.sign_in_upstream(account).status_code == 302
    assert later.is_signed_in()


def test_a_verified_address_of_an_unconfirmed_account_asks_for_its_password(
    world: World, person: Browser
) -> None:
    email = new_address()
    add_yunshi_user(world, email, confirmed=False)
    account = world.provider.add_account(email=email, verified=True)
    answer = person.sign_in_upstream(account)
    assert answer.headers.get("Location") == "/login/upstream/link", person.explain()
    assert not person.is_signed_in()
    assert stored(world, email, account).links == []


def test_a_replayed_callback_gets_a_clear_error_page(world: World, person: Browser) -> None:
    email = new_address()
    account = world.provider.add_account(email=email, verified=True)
    callback = person.through_provider(person.to_provider(), account)
    cookies_before = person.http.cookies.copy()
    assert person.get(callback).status_code == 302, person.explain()

    # The same browser again: its session no longer holds the state.
    assert_clear_error(person.get(callback), "本次登录已失效")
    # A copy of the browser from before the callback: the state matches, the code is spent.
    thief = Browser(world)
    thief.http.cookies.update(cookies_before)
    replayed = thief.get(callback)
    assert_clear_error(replayed, f"{PROVIDER_NAME}拒绝确认本次登录")
    assert not thief.is_signed_in()
    assert len(stored(world, email, account).links) == 1


def test_a_forged_state_gets_a_clear_error_page(world: World, person: Browser) -> None:
    account = world.provider.add_account(email=new_address(), verified=True)
    callback = person.through_provider(person.to_provider(), account)
    parts = urlsplit(callback)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    forged = parts._replace(query=urlencode({**query, "state": "forged-" + query["state"]}))
    assert_clear_error(person.get(forged.geturl()), "本次登录已失效")
    assert not person.is_signed_in()
    # The forgery spent nothing: the real answer still signs the user in.
    assert person.get(callback).status_code == 302, person.explain()
    assert person.is_signed_in()


def test_an_answer_naming_another_issuer_is_refused(world: World, person: Browser) -> None:
    account = world.provider.add_account(email=new_address(), verified=True)
    callback = person.through_provider(person.to_provider(), account)
    parts = urlsplit(callback)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query.get("iss") == world.provider.issuer
    mixed = parts._replace(query=urlencode({**query, "iss": "https://evil.example"}))
    assert_clear_error(person.get(mixed.geturl()), "无法核验")
    assert not person.is_signed_in()


def test_a_sign_in_the_user_aborts_at_the_provider_gets_a_clear_error_page(
    world: World, person: Browser
) -> None:
    account = world.provider.add_account(email=new_address(), verified=True)
    callback = person.through_provider(person.to_provider(), account, abort=True)
    assert "error=access_denied" in callback
    assert_clear_error(person.get(callback), "未完成登录（access_denied）")
    assert not person.is_signed_in()


# ---- installing the peers' packages -----------------------------------------------------------


def _packages_folder(root: Path, lock: str) -> Path:
    (root / "package.json").write_text('{"name": "probe", "private": true}')
    (root / "package-lock.json").write_text(lock)
    return root


def test_node_modules_count_as_current_only_when_newer_than_the_lock_file(tmp_path: Path) -> None:
    folder = _packages_folder(tmp_path, "{}")
    assert not is_current(folder)
    marker = folder / "node_modules" / ".package-lock.json"
    marker.parent.mkdir()
    marker.write_text("{}")
    lock_time = (folder / "package-lock.json").stat().st_mtime
    os.utime(marker, (lock_time - 60, lock_time - 60))
    assert not is_current(folder)
    os.utime(marker, (lock_time + 60, lock_time + 60))
    assert is_current(folder)


def test_a_failing_npm_install_says_so(tmp_path: Path) -> None:
    folder = _packages_folder(tmp_path, "this is not a lock file")
    with pytest.raises(NpmFailed, match=r"npm ci in .* failed"):
        ensure_node_modules(folder)
    assert not is_current(folder)


def test_the_peers_packages_are_pinned_exactly() -> None:
    wanted = json.loads((PEERS / "package.json").read_text())["dependencies"]
    assert wanted["oidc-provider"] == "9.13.3"
    assert wanted["openid-client"] == "6.8.9"
    locked = json.loads((PEERS / "package-lock.json").read_text())["packages"]
    assert locked["node_modules/oidc-provider"]["version"] == "9.13.3"
    assert locked["node_modules/openid-client"]["version"] == "6.8.9"
