"""Forgotten and changed passwords: one-time links, and other sessions signed out."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from marketplace.accounts.models import User
from marketplace.accounts.passwords import verify_password
from marketplace.audit.models import AuditEntry
from marketplace.clock import FrozenClock
from tests.accounts.conftest import (
    NEW_PASSWORD,
    link_path,
    log_in,
    mails,
    signed_in_user_id,
    totals,
)
from tests.factories import PASSWORD, make_user

SENT = "If an account exists for"


def _reset_link(client: FlaskClient, session: sa.orm.Session, user: User) -> str:
    client.post("/password/forgot", data={"email": user.email})
    return link_path(mails(session, "password_reset", to=user.email)[-1])


def _new(password: str = NEW_PASSWORD, confirm: str | None = None) -> dict[str, str]:
    return {"password": password, "password_confirm": password if confirm is None else confirm}


# ---- forgot ---------------------------------------------------------------------------------


def test_the_forgot_page_shows_the_form(client: FlaskClient) -> None:
    response = client.get("/password/forgot")
    assert response.status_code == 200
    assert 'name="email"' in response.get_data(as_text=True)


def test_asking_for_a_reset_mails_a_link_to_a_known_address(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user("wang.fang@example.com")

    response = client.post("/password/forgot", data={"email": "Wang.Fang@example.com"})

    assert response.status_code == 200
    assert SENT in response.get_data(as_text=True)
    (mail,) = mails(session, "password_reset")
    assert mail.to_address == user.email
    assert link_path(mail).startswith("/password/reset/")


def test_reset_links_go_out_at_most_once_a_minute_with_the_same_answer(
    client: FlaskClient, session: sa.orm.Session, clock: FrozenClock
) -> None:
    user = make_user("li.na@example.com")
    client.post("/password/forgot", data={"email": user.email})

    again = client.post("/password/forgot", data={"email": user.email})
    assert again.status_code == 200
    assert SENT in again.get_data(as_text=True)
    assert len(mails(session, "password_reset", to=user.email)) == 1

    clock.advance(timedelta(minutes=1))
    client.post("/password/forgot", data={"email": user.email})
    assert len(mails(session, "password_reset", to=user.email)) == 2


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    known = make_user("known@example.com")
    known_page = client.post("/password/forgot", data={"email": known.email})
    before = totals(session)

    unknown_page = client.post("/password/forgot", data={"email": "unknown@example.com"})

    assert unknown_page.status_code == known_page.status_code == 200
    assert unknown_page.get_data(as_text=True).replace("unknown@", "known@") == (
        known_page.get_data(as_text=True)
    )
    assert totals(session) == before


def test_an_inactive_account_gets_no_reset_mail(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user(is_active=False)

    response = client.post("/password/forgot", data={"email": user.email})

    assert SENT in response.get_data(as_text=True)
    assert mails(session, "password_reset") == []


@pytest.mark.parametrize(
    ("email", "message"),
    [("", "Enter your email address"), ("not-an-address", "valid email address")],
)
def test_a_malformed_address_is_named_as_the_problem(
    client: FlaskClient, session: sa.orm.Session, email: str, message: str
) -> None:
    response = client.post("/password/forgot", data={"email": email})

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert mails(session, "password_reset") == []


# ---- reset ----------------------------------------------------------------------------------


def test_the_reset_link_shows_the_new_password_form(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    link = _reset_link(client, session, make_user())

    response = client.get(link)

    assert response.status_code == 200
    assert 'name="password_confirm"' in response.get_data(as_text=True)


def test_resetting_sets_the_password_and_signs_the_user_in(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    link = _reset_link(client, session, user)

    response = client.post(link, data=_new())

    assert response.status_code == 302
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert signed_in_user_id(client) == f"{user.id}:1"
    actions = session.scalars(sa.select(AuditEntry.action)).all()
    assert "user.password_reset" in actions


def test_a_reset_link_works_only_once(client: FlaskClient, session: sa.orm.Session) -> None:
    user = make_user()
    link = _reset_link(client, session, user)
    client.post(link, data=_new())

    reused = client.post(link, data=_new("yet-another-secret-9"))

    assert reused.status_code == 400
    assert "already used" in reused.get_data(as_text=True)
    assert client.get(link).status_code == 400
    assert verify_password(user.password_hash, NEW_PASSWORD)


def test_a_reset_link_expires_after_an_hour(
    client: FlaskClient, session: sa.orm.Session, clock: FrozenClock
) -> None:
    user = make_user()
    link = _reset_link(client, session, user)
    clock.advance(timedelta(hours=1))
    assert client.get(link).status_code == 200
    clock.advance(timedelta(seconds=1))

    response = client.post(link, data=_new())

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This link has expired" in page
    assert "/password/forgot" in page
    assert verify_password(user.password_hash, PASSWORD)


def test_a_tampered_reset_link_is_refused(client: FlaskClient, session: sa.orm.Session) -> None:
    user = make_user()
    link = _reset_link(client, session, user)

    response = client.get(link.replace("/password/reset/", "/password/reset/x"))

    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)


def test_resetting_signs_out_every_other_session(
    client: FlaskClient, other_client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    log_in(other_client, user.email, remember="y")
    assert other_client.get("/settings").status_code == 200
    link = _reset_link(client, session, user)

    client.post(link, data=_new())

    response = other_client.get("/settings")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert client.get("/settings").status_code == 200


def test_resetting_lifts_the_lockout_of_the_account(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    for _ in range(5):
        log_in(client, user.email, "wrong password!!")
    assert log_in(client, user.email).status_code == 429
    link = _reset_link(client, session, user)
    client.post(link, data=_new())
    client.post("/logout")

    assert log_in(client, user.email, NEW_PASSWORD).status_code == 302


def test_resetting_confirms_the_address_the_link_was_mailed_to(
    client: FlaskClient, session: sa.orm.Session, clock: FrozenClock
) -> None:
    user = make_user(confirmed=False)
    link = _reset_link(client, session, user)

    client.post(link, data=_new())

    assert user.email_confirmed_at == clock.now()


@pytest.mark.parametrize(
    ("form", "field_message"),
    [
        (_new("too-short"), "at least 10 characters"),
        (_new("1234567890"), "too common"),
        (_new(NEW_PASSWORD, "something-else-entirely"), "do not match"),
    ],
    ids=["short", "common", "mismatched"],
)
def test_a_bad_new_password_is_refused_and_the_link_stays_usable(
    client: FlaskClient, session: sa.orm.Session, form: dict[str, str], field_message: str
) -> None:
    user = make_user()
    link = _reset_link(client, session, user)
    before = (user.password_hash, user.session_epoch)

    response = client.post(link, data=form)

    assert response.status_code == 422
    assert field_message in response.get_data(as_text=True)
    assert (user.password_hash, user.session_epoch) == before
    assert client.get(link).status_code == 200


def test_the_new_password_may_not_be_the_email_address(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user("zhao.lei@example.com")
    link = _reset_link(client, session, user)

    response = client.post(link, data=_new("Zhao.Lei@example.com"))

    assert response.status_code == 422
    assert "email address as your password" in response.get_data(as_text=True)


# ---- change ---------------------------------------------------------------------------------


def _change(current: str = PASSWORD, new: str = NEW_PASSWORD, confirm: str | None = None) -> dict:
    return {
        "current_password": current,
        "new_password": new,
        "new_password_confirm": new if confirm is None else confirm,
    }


def test_the_change_password_page_needs_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/settings/password")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=%2Fsettings%2Fpassword"


def test_changing_the_password_keeps_this_session_and_ends_the_others(
    client: FlaskClient, other_client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    log_in(client, user.email)
    log_in(other_client, user.email, remember="y")

    response = client.post("/settings/password", data=_change())

    assert response.status_code == 302
    assert response.headers["Location"] == "/settings"
    assert verify_password(user.password_hash, NEW_PASSWORD)
    assert client.get("/settings").status_code == 200
    assert signed_in_user_id(client) == f"{user.id}:1"
    assert other_client.get("/settings").status_code == 302
    assert "user.password_changed" in session.scalars(sa.select(AuditEntry.action)).all()


def test_a_wrong_current_password_is_named_and_changes_nothing(
    client: FlaskClient, other_client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    log_in(client, user.email)
    log_in(other_client, user.email)
    before = (user.password_hash, user.session_epoch)

    response = client.post("/settings/password", data=_change(current="not my password"))

    assert response.status_code == 422
    assert "The current password is not correct." in response.get_data(as_text=True)
    assert (user.password_hash, user.session_epoch) == before
    assert other_client.get("/settings").status_code == 200


def test_guessing_the_current_password_counts_towards_the_lockout(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user()
    log_in(client, user.email)
    for _ in range(5):
        client.post("/settings/password", data=_change(current="a guess at it"))

    response = client.post("/settings/password", data=_change())

    assert response.status_code == 429
    assert verify_password(user.password_hash, PASSWORD)


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (_change(new="short"), "at least 10 characters"),
        (_change(new="qwertyuiop"), "too common"),
        (_change(confirm="not-the-same-one"), "do not match"),
        (_change(new=PASSWORD), "different from the current one"),
    ],
    ids=["short", "common", "mismatched", "unchanged"],
)
def test_a_bad_new_password_is_named_and_changes_nothing(
    client: FlaskClient, session: sa.orm.Session, form: dict[str, str], message: str
) -> None:
    user = make_user()
    log_in(client, user.email)
    before = (user.password_hash, user.session_epoch)

    response = client.post("/settings/password", data=form)

    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert (user.password_hash, user.session_epoch) == before
