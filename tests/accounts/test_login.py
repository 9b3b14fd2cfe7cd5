"""Log in and out: generic errors, the failed-attempt throttle, session rotation."""

from __future__ import annotations

from typing import Any

import pytest
import redis
import sqlalchemy as sa
from argon2 import PasswordHasher
from flask.testing import FlaskClient

from marketplace.accounts import services
from marketplace.accounts.passwords import needs_rehash, verify_password
from marketplace.clock import FrozenClock
from marketplace.extensions import login_throttle
from tests import backends
from tests.accounts.conftest import log_in, signed_in_user_id
from tests.conftest import RUN_PREFIX
from tests.factories import PASSWORD, make_user

GENERIC = "The email address or password is incorrect."
LOCKED = "Too many failed attempts. Try again in 15 minutes."


def test_the_login_page_shows_the_form(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'name="email"' in page and 'name="password"' in page
    assert "/password/forgot" in page


def test_logging_in_signs_the_user_in_and_notes_the_time(
    client: FlaskClient, session: sa.orm.Session, clock: FrozenClock
) -> None:
    user = make_user("chen.jie@example.com")

    response = log_in(client, "  Chen.Jie@Example.com ")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert signed_in_user_id(client) == f"{user.id}:0"
    assert user.last_login_at == clock.now()


def test_logging_in_starts_a_fresh_session(client: FlaskClient, session: sa.orm.Session) -> None:
    user = make_user()
    with client.session_transaction() as browser_session:
        browser_session["org_id"] = 12345
        browser_session["planted"] = "by someone else"

    log_in(client, user.email)

    with client.session_transaction() as browser_session:
        assert "planted" not in browser_session
        assert "org_id" not in browser_session
        assert browser_session["lang"] == "en"  # the language choice belongs to the browser


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()

    wrong_password = log_in(client, user.email, "not the password at all")
    unknown_email = log_in(client, "nobody@example.com", "not the password at all")

    assert wrong_password.status_code == unknown_email.status_code == 422
    for response in (wrong_password, unknown_email):
        assert GENERIC in response.get_data(as_text=True)
    assert signed_in_user_id(client) is None


@pytest.mark.parametrize(
    "form",
    [{"email": "", "password": PASSWORD}, {"email": "a@example.com", "password": ""}],
    ids=["no email", "no password"],
)
def test_an_empty_field_is_refused_without_counting_a_failure(
    client: FlaskClient, session: sa.orm.Session, form: dict[str, str]
) -> None:
    response = client.post("/login", data=form)

    assert response.status_code == 422
    assert GENERIC in response.get_data(as_text=True)
    assert not login_throttle.state(form["email"], "127.0.0.1").locked


def test_an_inactive_user_cannot_log_in(client: FlaskClient, session: sa.orm.Session) -> None:
    user = make_user(is_active=False)

    response = log_in(client, user.email)

    assert response.status_code == 422
    assert "This account is closed" in response.get_data(as_text=True)
    assert signed_in_user_id(client) is None


def test_an_unconfirmed_user_can_log_in(client: FlaskClient, session: sa.orm.Session) -> None:
    user = make_user(confirmed=False)

    response = log_in(client, user.email)

    assert response.status_code == 302
    assert signed_in_user_id(client) == user.get_id()


def test_an_outdated_password_hash_is_upgraded_on_login(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    user = make_user()
    user.password_hash = weak
    session.flush()

    log_in(client, user.email)

    assert user.password_hash != weak
    assert not needs_rehash(user.password_hash)
    assert verify_password(user.password_hash, PASSWORD)


def test_next_sends_the_user_on_to_a_page_of_this_site(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()

    response = log_in(client, user.email, next="/settings?tab=language")

    assert response.headers["Location"] == "/settings?tab=language"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/phish", "//evil.example/phish", "/\\evil.example", "javascript:x"],
)
def test_next_never_leads_off_the_site(
    client: FlaskClient, session: sa.orm.Session, target: str
) -> None:
    user = make_user()

    response = log_in(client, user.email, next=target)

    assert response.headers["Location"] == "/"


def test_a_login_required_page_sends_the_browser_to_login_and_back(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()

    response = client.get("/settings")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fsettings"

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="/settings"' in page
    assert "Please log in to see that page." in page
    assert log_in(client, user.email, next="/settings").headers["Location"] == "/settings"


def test_a_signed_in_user_is_sent_on_from_the_login_page(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    log_in(client, user.email)

    response = client.get("/login?next=/settings")

    assert response.headers["Location"] == "/settings"


# ---- throttle -------------------------------------------------------------------------------


def _fail(client: FlaskClient, email: str, times: int, ip: str = "127.0.0.1") -> None:
    for _ in range(times):
        assert log_in(client, email, "wrong password!!", ip=ip).status_code == 422


def test_an_account_is_locked_after_five_failures_even_with_the_right_password(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    _fail(client, user.email, 5)

    response = log_in(client, user.email)

    assert response.status_code == 429
    assert LOCKED in response.get_data(as_text=True)
    assert 800 < int(response.headers["Retry-After"]) <= 901
    assert signed_in_user_id(client) is None


def test_the_account_lock_holds_from_every_address(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    _fail(client, user.email, 5, ip="10.0.0.1")

    assert log_in(client, user.email, ip="10.0.0.2").status_code == 429


def test_a_locked_account_is_refused_without_looking_at_the_password(
    client: FlaskClient, session: sa.orm.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user()
    _fail(client, user.email, 5)
    checks: list[Any] = []
    monkeypatch.setattr(services, "verify_password", lambda *args: checks.append(args))

    log_in(client, user.email)

    assert checks == []


def test_four_failures_do_not_lock_and_a_success_clears_them(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    _fail(client, user.email, 4)
    assert log_in(client, user.email).status_code == 302
    client.post("/logout")

    _fail(client, user.email, 4)

    assert log_in(client, user.email).status_code == 302


def test_an_address_is_locked_after_twenty_failures_on_any_accounts(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    for n in range(20):
        _fail(client, f"guess{n}@example.com", 1, ip="10.9.8.7")

    locked = log_in(client, user.email, ip="10.9.8.7")
    elsewhere = log_in(client, user.email, ip="10.9.8.8")

    assert locked.status_code == 429
    assert LOCKED in locked.get_data(as_text=True)
    assert elsewhere.status_code == 302


def test_an_unknown_address_locks_like_a_real_one(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    _fail(client, "nobody@example.com", 5)

    response = log_in(client, "nobody@example.com")

    assert response.status_code == 429


@pytest.mark.redis
def test_failures_are_counted_in_redis_under_the_run_prefix(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    _fail(client, user.email, 1, ip="10.4.4.4")

    keys = {
        key.decode()
        for key in redis.Redis.from_url(backends.REDIS_URL).scan_iter(f"{RUN_PREFIX}:login:*")
    }

    assert any(f"account:{user.email}" in key for key in keys)
    assert any("ip:10.4.4.4" in key for key in keys)


# ---- log out --------------------------------------------------------------------------------


def test_logging_out_clears_the_session(client: FlaskClient, session: sa.orm.Session) -> None:
    user = make_user()
    log_in(client, user.email)

    response = client.post("/logout")

    assert response.status_code == 302
    with client.session_transaction() as browser_session:
        assert "_user_id" not in browser_session
        assert set(browser_session) <= {"lang", "_flashes"}
    assert client.get("/settings").status_code == 302


def test_logging_out_cannot_be_done_with_a_link(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    log_in(client, user.email)

    assert client.get("/logout").status_code == 405
    assert signed_in_user_id(client) == user.get_id()
