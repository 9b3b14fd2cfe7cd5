"""Signing in through an upstream OpenID provider: the linking rules, the services, the pages.

The whole flow against a real provider is in tests/peers/test_upstream_oidc_provider.py; here
the provider is configured at a loopback port nothing listens on, so every page that would
need it shows what happens when it cannot be reached.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask, g, request_started
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy.orm import Session

from app import create_app
from marketplace.accounts.models import User
from marketplace.accounts.passwords import verify_password
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, ValidationFailed
from marketplace.settings import SettingsError, settings_from_env
from sso import upstream
from sso.upstream import (
    PasswordNeeded,
    SignedIn,
    UpstreamLoginFailed,
    details_refused,
    link_with_password,
    sign_in_upstream,
)
from sso.upstream_models import UpstreamIdentity
from sso.upstream_rules import (
    AccountState,
    PendingLink,
    Route,
    UpstreamClaims,
    choose_route,
    claims_from,
    clean_display_name,
    display_name_for,
    pending_from_session,
    pending_link,
    pending_to_session,
)
from tests import backends
from tests.conftest import make_test_settings
from tests.factories import PASSWORD, PASSWORD_HASH, make_user
from tests.sso.conftest import audit

ISSUER = "https://id.fujian.example"
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def claims(
    subject: str = "sub-1",
    email: str | None = "firm.owner@example.com",
    verified: bool = True,
    name: str | None = "林晓",
) -> UpstreamClaims:
    """Return upstream claims as a verified ID token would give them."""
    return UpstreamClaims(ISSUER, subject, email, verified, name)


def links_of(session: Session, user: User) -> list[UpstreamIdentity]:
    """Return the upstream links of a user."""
    stmt = sa.select(UpstreamIdentity).where(UpstreamIdentity.user_id == user.id)
    return list(session.scalars(stmt))


# ---- the rules --------------------------------------------------------------------------------

N, C, U, X = (
    AccountState.NONE,
    AccountState.CONFIRMED,
    AccountState.UNCONFIRMED,
    AccountState.CLOSED,
)


@pytest.mark.parametrize(
    ("linked", "verified", "by_email", "route"),
    [
        (C, False, N, Route.SIGN_IN),
        (U, True, C, Route.SIGN_IN),
        (X, True, C, Route.REFUSE_CLOSED),
        (N, True, N, Route.CREATE_ACCOUNT),
        (N, True, C, Route.LINK_BY_EMAIL),
        (N, True, U, Route.ASK_PASSWORD),
        (N, True, X, Route.REFUSE_CLOSED),
        (N, False, N, Route.ASK_PASSWORD),
        (N, False, C, Route.ASK_PASSWORD),
        (N, False, U, Route.ASK_PASSWORD),
    ],
)
def test_the_route_follows_the_link_then_the_verified_address(
    linked: AccountState, verified: bool, by_email: AccountState, route: Route
) -> None:
    assert choose_route(linked=linked, email_verified=verified, by_email=by_email) is route


def test_claims_normalize_the_address_and_need_it_to_be_verified() -> None:
    read = claims_from(ISSUER, {"sub": "abc", "email": " Lin@Example.COM ", "email_verified": True})
    assert (read.subject, read.email, read.email_verified) == ("abc", "lin@example.com", True)
    assert claims_from(ISSUER, {"sub": "abc", "email": "lin@example.com"}).email_verified is False
    as_text = claims_from(ISSUER, {"sub": "a", "email": "l@example.com", "email_verified": "true"})
    assert as_text.email_verified is True
    one = claims_from(ISSUER, {"sub": "a", "email": "l@example.com", "email_verified": 1})
    assert one.email_verified is False


def test_a_malformed_or_missing_address_is_never_verified() -> None:
    bad = claims_from(ISSUER, {"sub": "a", "email": "not an address", "email_verified": True})
    assert (bad.email, bad.email_verified) == (None, False)
    missing = claims_from(ISSUER, {"sub": "a", "email_verified": True})
    assert (missing.email, missing.email_verified) == (None, False)
    assert claims_from(ISSUER, {"sub": "a", "email": 7}).email is None


@pytest.mark.parametrize("subject", [None, "", 42, "x" * 256])
def test_claims_without_a_usable_subject_are_refused(subject: object) -> None:
    with pytest.raises(ValueError, match="subject"):
        claims_from(ISSUER, {"sub": subject, "email": "a@example.com"})


def test_a_new_account_is_named_after_the_name_claim_or_else_the_local_part() -> None:
    assert display_name_for(claims(name="  林   晓 ")) == "林 晓"
    assert display_name_for(claims(name=None)) == "firm.owner"
    assert display_name_for(claims(name="   ")) == "firm.owner"
    assert display_name_for(claims(name="\x00\u200b\u202e")) == "firm.owner"
    assert display_name_for(claims(name="名" * 300)) == "名" * 100


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (None, ""),
        ("林\x00晓", "林晓"),
        ("林\t晓\r\n测试\x85", "林 晓 测试"),
        ("\u202eevil\u200b name\ufeff", "evil name"),
        ("\x1b[31m红\x7f", "[31m红"),
        ("林\u3000晓", "林 晓"),
        ("生僻\ue000字", "生僻\ue000字"),  # private-use characters carry rare name characters
        ("a" * 99 + " b", "a" * 99),
        ("名" * 300, "名" * 100),
    ],
)
def test_a_display_name_loses_invisible_characters_and_excess_length(
    raw: str | None, clean: str
) -> None:
    assert clean_display_name(raw) == clean


def test_a_pending_link_survives_the_session_for_ten_minutes_only() -> None:
    pending = pending_link(claims(), NOW)
    stored = pending_to_session(pending)
    assert pending_from_session(stored, NOW + timedelta(minutes=9, seconds=59)) == pending
    assert pending_from_session(stored, NOW + timedelta(minutes=10)) is None


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "issuer",
        {},
        {"issuer": ISSUER, "subject": "s", "email": None},
        {"issuer": ISSUER, "subject": 5, "email": None, "expires": 2_000_000_000},
        {"issuer": ISSUER, "subject": "s", "email": 5, "expires": 2_000_000_000},
        {"issuer": ISSUER, "subject": "s", "email": None, "expires": "2000000000"},
    ],
)
def test_a_malformed_pending_link_is_ignored(raw: object) -> None:
    assert pending_from_session(raw, NOW) is None


# ---- settings ---------------------------------------------------------------------------------


def test_the_upstream_provider_is_read_from_the_environment() -> None:
    settings = settings_from_env(
        {
            "UPSTREAM_OIDC_ISSUER": ISSUER,
            "UPSTREAM_OIDC_CLIENT_ID": "yunshi",
            "UPSTREAM_OIDC_CLIENT_SECRET": "s3cret",
            "UPSTREAM_OIDC_NAME": " 闽政通 ",
        }
    )
    assert settings.upstream_oidc_enabled
    assert (settings.upstream_oidc_issuer, settings.upstream_oidc_client_id) == (ISSUER, "yunshi")
    assert (settings.upstream_oidc_client_secret, settings.upstream_oidc_name) == (
        "s3cret",
        "闽政通",
    )


def test_without_an_issuer_the_upstream_provider_is_off() -> None:
    settings = settings_from_env({"UPSTREAM_OIDC_CLIENT_ID": "yunshi"})
    assert not settings.upstream_oidc_enabled
    assert settings.upstream_oidc_name is None


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"UPSTREAM_OIDC_ISSUER": ISSUER}, "UPSTREAM_OIDC_CLIENT_ID"),
        ({"UPSTREAM_OIDC_ISSUER": ISSUER, "UPSTREAM_OIDC_CLIENT_ID": "y"}, "CLIENT_SECRET"),
        ({"UPSTREAM_OIDC_ISSUER": "id.fujian.example"}, "must be an http"),
        ({"UPSTREAM_OIDC_ISSUER": "ftp://id.fujian.example"}, "must be an http"),
        ({"UPSTREAM_OIDC_ISSUER": "https://id.fujian.example/?x=1"}, "must be an http"),
    ],
)
def test_a_half_configured_upstream_provider_is_refused(
    environ: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        settings_from_env(environ)


def test_production_needs_an_https_upstream_issuer() -> None:
    production = {
        "YUNSHI_ENV": "production",
        "SECRET_KEY": "k",
        "DATABASE_URL": "sqlite://",
        "STRIPE_API_KEY": "sk",
        "STRIPE_PUBLISHABLE_KEY": "pk",
        "STRIPE_WEBHOOK_SECRET": "whsec",
        "UPSTREAM_OIDC_CLIENT_ID": "yunshi",
        "UPSTREAM_OIDC_CLIENT_SECRET": "s3cret",
    }
    with pytest.raises(SettingsError, match="https in production"):
        settings_from_env({**production, "UPSTREAM_OIDC_ISSUER": "http://id.fujian.example"})
    settings = settings_from_env({**production, "UPSTREAM_OIDC_ISSUER": ISSUER})
    assert settings.upstream_oidc_issuer == ISSUER


# ---- services ---------------------------------------------------------------------------------


@pytest.fixture
def english(session: Session) -> Iterator[None]:
    """Give the messages of a test's errors in English."""
    with force_locale("en"):
        yield


def test_a_verified_address_nobody_has_gets_a_confirmed_account_and_a_link(
    session: Session, clock: FrozenClock
) -> None:
    outcome = sign_in_upstream(session, clock, claims(email="new.firm@example.com"), ip="1.2.3.4")
    assert isinstance(outcome, SignedIn)
    assert outcome.created
    user = outcome.user
    assert (user.email, user.display_name) == ("new.firm@example.com", "林晓")
    assert user.email_confirmed_at == clock.now()
    assert user.last_login_at == clock.now()
    assert not verify_password(user.password_hash, PASSWORD)
    [link] = links_of(session, user)
    assert (link.issuer, link.subject, link.email) == (ISSUER, "sub-1", "new.firm@example.com")
    [created] = audit(session, "user.signed_up")
    assert created.after == {
        "email": "new.firm@example.com",
        "display_name": "林晓",
        "via": ISSUER,
    }
    [linked] = audit(session, "user.upstream_linked")
    assert (linked.target_id, linked.ip_address) == (str(user.id), "1.2.3.4")
    assert linked.after is not None and linked.after["method"] == "new_account"


@pytest.mark.parametrize(
    ("name", "display_name"),
    [
        ("名" * 300, "名" * 100),
        ("林\x00晓\u202e\n\x1b测试\x7f", "林晓 测试"),
        ("", "new.firm"),
        ("\x00\t\u200b", "new.firm"),
        (None, "new.firm"),
    ],
)
def test_a_name_claim_our_checks_would_refuse_is_cleaned_not_a_dead_end(
    session: Session, clock: FrozenClock, name: str | None, display_name: str
) -> None:
    outcome = sign_in_upstream(session, clock, claims(email="new.firm@example.com", name=name))
    assert isinstance(outcome, SignedIn)
    assert outcome.created
    session.expire_all()
    stored = session.get(User, outcome.user.id)
    assert stored is not None and stored.display_name == display_name
    [created] = audit(session, "user.signed_up")
    assert created.after is not None and created.after["display_name"] == display_name
    assert len(links_of(session, outcome.user)) == 1


def test_details_our_checks_refuse_are_named_not_called_a_clash(english: None) -> None:
    error = details_refused(
        ValidationFailed({"display_name": ["Enter the name other people will see."]})
    )
    assert isinstance(error, UpstreamLoginFailed)
    assert error.status == 400
    assert "name: Enter the name other people will see." in error.detail
    assert "clash" not in error.detail


def test_the_accounts_part_creates_the_upstream_account_in_one_transaction(
    session: Session, clock: FrozenClock
) -> None:
    outcome = sign_in_upstream(session, clock, claims(email="new.firm@example.com"), ip="1.2.3.4")
    assert isinstance(outcome, SignedIn)
    [created] = audit(session, "user.signed_up")
    assert (created.actor_user_id, created.ip_address) == (outcome.user.id, "1.2.3.4")
    assert audit(session, "user.created") == []


def test_a_linked_upstream_account_signs_in_as_its_user_whatever_its_address(
    session: Session, clock: FrozenClock
) -> None:
    first = sign_in_upstream(session, clock, claims(email="lin@example.com"))
    assert isinstance(first, SignedIn)
    clock.advance(timedelta(days=3))
    again = sign_in_upstream(session, clock, claims(email="changed@example.com", verified=False))
    assert again == SignedIn(first.user)
    [link] = links_of(session, first.user)
    assert link.last_login_at == clock.now()
    assert len(audit(session, "user.upstream_linked")) == 1
    assert session.scalar(sa.select(User).where(User.email == "changed@example.com")) is None


def test_a_verified_address_of_a_confirmed_account_links_to_it(
    session: Session, clock: FrozenClock
) -> None:
    owner = make_user("owner@example.com")
    outcome = sign_in_upstream(session, clock, claims(email=owner.email))
    assert outcome == SignedIn(owner)
    [link] = links_of(session, owner)
    assert link.subject == "sub-1"
    [linked] = audit(session, "user.upstream_linked")
    assert linked.after is not None and linked.after["method"] == "email"
    assert audit(session, "user.signed_up") == []


@pytest.mark.parametrize("confirmed", [True, False])
def test_an_unverified_address_waits_for_a_password(
    session: Session, clock: FrozenClock, confirmed: bool
) -> None:
    owner = make_user("owner@example.com", confirmed=confirmed)
    outcome = sign_in_upstream(session, clock, claims(email=owner.email, verified=False))
    assert outcome == PasswordNeeded(
        PendingLink(ISSUER, "sub-1", owner.email, clock.now() + timedelta(minutes=10))
    )
    assert links_of(session, owner) == []


def test_a_verified_address_of_an_unconfirmed_account_waits_for_its_password(
    session: Session, clock: FrozenClock
) -> None:
    squatter = make_user("owner@example.com", confirmed=False)
    outcome = sign_in_upstream(session, clock, claims(email="owner@example.com"))
    assert isinstance(outcome, PasswordNeeded)
    assert links_of(session, squatter) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(UpstreamIdentity)) == 0


def test_closed_accounts_cannot_sign_in_upstream(
    session: Session, clock: FrozenClock, english: None
) -> None:
    closed = make_user("closed@example.com", is_active=False)
    with pytest.raises(UpstreamLoginFailed, match="closed"):
        sign_in_upstream(session, clock, claims(email=closed.email))
    linked = sign_in_upstream(session, clock, claims(subject="sub-2", email="l@example.com"))
    assert isinstance(linked, SignedIn)
    linked.user.is_active = False
    with pytest.raises(UpstreamLoginFailed, match="closed"):
        sign_in_upstream(session, clock, claims(subject="sub-2"))


def test_a_password_links_the_pending_account(session: Session, clock: FrozenClock) -> None:
    owner = make_user("owner@example.com")
    pending = pending_link(claims(email="other@example.com", verified=False), clock.now())
    user = link_with_password(
        session, clock, pending, email="owner@example.com", password=PASSWORD, ip="1.2.3.4"
    )
    assert user == owner
    [link] = links_of(session, owner)
    assert (link.subject, link.email) == ("sub-1", "other@example.com")
    [linked] = audit(session, "user.upstream_linked")
    assert linked.after is not None and linked.after["method"] == "password"
    assert sign_in_upstream(session, clock, claims(verified=False)) == SignedIn(owner)


def test_a_wrong_password_links_nothing(session: Session, clock: FrozenClock) -> None:
    owner = make_user("owner@example.com")
    pending = pending_link(claims(verified=False), clock.now())
    with pytest.raises(ValidationFailed) as refused:
        link_with_password(
            session, clock, pending, email=owner.email, password="not it at all", ip="1.2.3.4"
        )
    assert "credentials" in refused.value.errors
    assert links_of(session, owner) == []


def test_an_account_links_to_one_upstream_account_only(
    session: Session, clock: FrozenClock, english: None
) -> None:
    owner = make_user("owner@example.com")
    assert sign_in_upstream(session, clock, claims(email=owner.email)) == SignedIn(owner)
    second = pending_link(claims(subject="sub-2", verified=False), clock.now())
    with pytest.raises(Conflict, match="already linked"):
        link_with_password(session, clock, second, email=owner.email, password=PASSWORD, ip="ip")
    assert [link.subject for link in links_of(session, owner)] == ["sub-1"]


def test_an_upstream_account_linked_elsewhere_is_not_moved_by_a_password(
    session: Session, clock: FrozenClock, english: None
) -> None:
    first = make_user("first@example.com")
    second = make_user("second@example.com")
    assert sign_in_upstream(session, clock, claims(email=first.email)) == SignedIn(first)
    pending = pending_link(claims(verified=False), clock.now())
    with pytest.raises(Conflict, match="another Yunshi account"):
        link_with_password(session, clock, pending, email=second.email, password=PASSWORD, ip="ip")
    assert links_of(session, second) == []


def test_deleting_a_user_deletes_its_links(session: Session, clock: FrozenClock) -> None:
    outcome = sign_in_upstream(session, clock, claims(email="gone@example.com"))
    assert isinstance(outcome, SignedIn)
    session.execute(sa.delete(User).where(User.id == outcome.user.id))
    assert session.scalar(sa.select(sa.func.count()).select_from(UpstreamIdentity)) == 0


# ---- pages while no provider is configured ----------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/login/upstream", "/login/upstream/callback?code=c&state=s", "/login/upstream/link"]
)
def test_without_a_provider_the_upstream_pages_do_not_exist(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 404
    assert client.post("/login/upstream/link", data={"email": "a@b.c"}).status_code == 404


def test_without_a_provider_the_login_page_offers_no_upstream_button(client: FlaskClient) -> None:
    page = client.get("/login").get_data(as_text=True)
    assert 'id="login-form"' in page
    assert "upstream-login" not in page


# ---- pages with a provider that does not answer -----------------------------------------------


@pytest.fixture(scope="module")
def upstream_app(database_url: str, redis_url: str | None) -> Iterator[Flask]:
    """An app whose upstream provider is at a loopback port nothing listens on."""
    settings = dataclasses.replace(
        make_test_settings(database_url, redis_url),
        upstream_oidc_issuer=f"http://127.0.0.1:{backends.free_port()}",
        upstream_oidc_client_id="yunshi",
        upstream_oidc_client_secret="s3cret",
    )
    built = create_app(settings)
    request_started.connect(_fresh_globals, built)
    yield built
    built.extensions["db_engine"].dispose()


def _fresh_globals(sender: Flask, **_extra: object) -> None:
    """Start each request with empty `g` (the language included), though tests share a context."""
    g.__dict__.clear()


@pytest.fixture
def visitor(upstream_app: Flask, session: Session, clock: FrozenClock) -> Iterator[FlaskClient]:
    """A visitor on the app with a provider, sharing the test's transaction and clock."""
    upstream_app.extensions["clock"] = clock
    with upstream_app.app_context():
        yield upstream_app.test_client()


def _set_language(visitor: FlaskClient, lang: str) -> None:
    with visitor.session_transaction() as state:
        state["lang"] = lang


def _wait_for_password(visitor: FlaskClient, pending: PendingLink, next_page: str = "") -> None:
    with visitor.session_transaction() as state:
        state[upstream.PENDING_KEY] = pending_to_session(pending)
        state[upstream.NEXT_KEY] = next_page


def test_the_login_page_offers_the_provider_under_its_default_name(visitor: FlaskClient) -> None:
    _set_language(visitor, "zh_CN")
    page = visitor.get("/login?next=/settings").get_data(as_text=True)
    assert "统一身份认证" in page
    assert 'href="/login/upstream?next=/settings"' in page
    _set_language(visitor, "en")
    assert "Unified identity authentication" in visitor.get("/login").get_data(as_text=True)


def test_the_login_page_shows_the_configured_name(
    database_url: str, redis_url: str | None, session: Session
) -> None:
    settings = dataclasses.replace(
        make_test_settings(database_url, redis_url),
        upstream_oidc_issuer=ISSUER,
        upstream_oidc_client_id="yunshi",
        upstream_oidc_client_secret="s3cret",
        upstream_oidc_name="闽政通",
    )
    named = create_app(settings)
    try:
        with named.app_context():
            page = named.test_client().get("/login").get_data(as_text=True)
    finally:
        named.extensions["db_engine"].dispose()
    assert "闽政通" in page
    assert 'id="upstream-login"' in page


def test_an_unreachable_provider_gets_an_error_page_not_a_crash(visitor: FlaskClient) -> None:
    _set_language(visitor, "en")
    response = visitor.get("/login/upstream")
    assert response.status_code == 502
    page = response.get_data(as_text=True)
    assert "could not be reached" in page
    assert 'id="back-to-login"' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "no longer valid"),
        ("?code=abc", "no longer valid"),
        ("?state=abc", "no longer valid"),
        ("?code=abc&state=never-issued&iss=https%3A%2F%2Fevil.example", "could not be verified"),
        ("?error=access_denied&state=abc", "did not sign you in (access_denied)"),
    ],
)
def test_a_bad_callback_gets_a_clear_error_page(
    visitor: FlaskClient, query: str, message: str
) -> None:
    _set_language(visitor, "en")
    response = visitor.get("/login/upstream/callback" + query)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert 'href="/login"' in page


def test_the_password_page_needs_a_pending_upstream_account(visitor: FlaskClient) -> None:
    _set_language(visitor, "en")
    response = visitor.get("/login/upstream/link")
    assert response.status_code == 400
    assert "No sign-in is waiting" in response.get_data(as_text=True)


def test_the_password_page_refuses_a_pending_account_after_ten_minutes(
    visitor: FlaskClient, clock: FrozenClock
) -> None:
    make_user("owner@example.com")
    _wait_for_password(visitor, pending_link(claims(verified=False), clock.now()))
    clock.advance(timedelta(minutes=10, seconds=1))
    response = visitor.post(
        "/login/upstream/link", data={"email": "owner@example.com", "password": PASSWORD}
    )
    assert response.status_code == 400
    with visitor.session_transaction() as state:
        assert upstream.PENDING_KEY not in state


def test_the_password_page_links_and_signs_in(
    visitor: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    _set_language(visitor, "en")
    owner = make_user("owner@example.com")
    pending = pending_link(claims(email="lin@gov.example", verified=False), clock.now())
    _wait_for_password(visitor, pending, next_page="/settings")
    page = visitor.get("/login/upstream/link").get_data(as_text=True)
    assert 'value="lin@gov.example"' in page
    assert 'id="upstream-link-form"' in page
    refused = visitor.post(
        "/login/upstream/link", data={"email": "owner@example.com", "password": "wrong password"}
    )
    assert refused.status_code == 422
    assert "incorrect" in refused.get_data(as_text=True)
    assert links_of(session, owner) == []
    done = visitor.post(
        "/login/upstream/link", data={"email": "owner@example.com", "password": PASSWORD}
    )
    assert done.status_code == 302
    assert done.headers["Location"] == "/settings"
    [link] = links_of(session, owner)
    assert link.email == "lin@gov.example"
    with visitor.session_transaction() as state:
        assert state["_user_id"] == owner.get_id()
        assert upstream.PENDING_KEY not in state
        assert state["lang"] == "en"


def test_the_password_page_never_redirects_off_site(
    visitor: FlaskClient, clock: FrozenClock
) -> None:
    make_user("owner@example.com")
    pending = pending_link(claims(verified=False), clock.now())
    _wait_for_password(visitor, pending, next_page="//evil.example/")
    done = visitor.post(
        "/login/upstream/link", data={"email": "owner@example.com", "password": PASSWORD}
    )
    assert done.status_code == 302
    assert done.headers["Location"] == "/"


def test_the_password_page_says_when_the_account_is_linked_to_someone_else(
    visitor: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    _set_language(visitor, "en")
    owner = make_user("owner@example.com")
    sign_in_upstream(session, clock, claims(subject="sub-0", email=owner.email))
    _wait_for_password(visitor, pending_link(claims(verified=False), clock.now()))
    response = visitor.post(
        "/login/upstream/link", data={"email": owner.email, "password": PASSWORD}
    )
    assert response.status_code == 409
    assert "already linked" in response.get_data(as_text=True)
    assert [link.subject for link in links_of(session, owner)] == ["sub-0"]


def test_the_password_hash_of_a_new_account_is_not_the_shared_test_hash(
    session: Session, clock: FrozenClock
) -> None:
    outcome = sign_in_upstream(session, clock, claims(email="n@example.com"))
    assert isinstance(outcome, SignedIn)
    assert outcome.user.password_hash != PASSWORD_HASH
    assert outcome.user.password_hash.startswith("$argon2")
