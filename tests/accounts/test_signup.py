"""Sign-up: the account is created unconfirmed, signed in, and mailed a confirmation link."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from marketplace.accounts import services
from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.clock import FrozenClock
from tests.accounts.conftest import (
    GOOD_PASSWORD,
    link_path,
    mails,
    signed_in_user_id,
    signup_form,
    totals,
)
from tests.factories import make_user

EMAIL = "lin.xiaomei@minjiang-tech.example"


def test_the_signup_page_shows_the_form(client: FlaskClient) -> None:
    response = client.get("/signup")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name in ("display_name", "email", "password", "password_confirm"):
        assert f'name="{name}"' in page


def test_signing_up_creates_an_unconfirmed_account_and_signs_it_in(
    client: FlaskClient, session: sa.orm.Session, clock: FrozenClock
) -> None:
    response = client.post(
        "/signup", data=signup_form(email="  Lin.XiaoMei@Minjiang-Tech.EXAMPLE ")
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/signup/check-mail"
    user = session.scalars(sa.select(User)).one()
    assert user.email == EMAIL
    assert user.display_name == "林晓梅"
    assert user.email_confirmed_at is None
    assert user.created_at == clock.now()
    assert user.password_hash.startswith("$argon2id$")
    assert user.locale == "en"
    assert signed_in_user_id(client) == user.get_id()
    page = client.get("/signup/check-mail").get_data(as_text=True)
    assert EMAIL in page and "Check your mail" in page


def test_signing_up_queues_a_confirmation_mail_with_a_public_link(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    client.post("/signup", data=signup_form())

    (mail,) = mails(session, "confirm_email")
    assert mail.to_address == EMAIL
    assert link_path(mail).startswith("/confirm/")


def test_signing_up_is_written_to_the_audit_log(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    client.post("/signup", data=signup_form(), environ_base={"REMOTE_ADDR": "10.1.2.3"})

    entry = session.scalars(sa.select(AuditEntry)).one()
    assert entry.action == "user.signed_up"
    assert entry.after == {"email": EMAIL, "display_name": "林晓梅", "locale": "en"}
    assert entry.ip_address == "10.1.2.3"


BAD_SIGNUPS = [
    pytest.param({"display_name": "  "}, "display_name", "Enter the name", id="missing name"),
    pytest.param({"display_name": "名" * 101}, "display_name", "at most 100", id="long name"),
    pytest.param({"email": ""}, "email", "Enter your email address", id="missing email"),
    pytest.param({"email": "lin.xiaomei"}, "email", "valid email address", id="no at sign"),
    pytest.param({"email": "lin@localhost"}, "email", "valid email address", id="no domain"),
    pytest.param(
        {"password": "short-pw1", "password_confirm": "short-pw1"},
        "password",
        "at least 10 characters",
        id="short password",
    ),
    pytest.param(
        {"password": "x" * 60 + "y" * 69, "password_confirm": "x" * 60 + "y" * 69},
        "password",
        "at most 128 characters",
        id="long password",
    ),
    pytest.param(
        {"password": EMAIL.upper(), "password_confirm": EMAIL.upper()},
        "password",
        "email address as your password",
        id="password is the email",
    ),
    pytest.param(
        {"password": "Password123", "password_confirm": "Password123"},
        "password",
        "too common",
        id="common password",
    ),
    pytest.param(
        {"password": "woaini1314", "password_confirm": "woaini1314"},
        "password",
        "too common",
        id="common chinese password",
    ),
    pytest.param({"password": ""}, "password", "Choose a password", id="missing password"),
    pytest.param(
        {"password_confirm": GOOD_PASSWORD + "!"},
        "password_confirm",
        "do not match",
        id="mismatched confirmation",
    ),
]


@pytest.mark.parametrize(("overrides", "field", "message"), BAD_SIGNUPS)
def test_a_bad_signup_names_the_field_and_saves_nothing(
    client: FlaskClient,
    session: sa.orm.Session,
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    before = totals(session)

    response = client.post("/signup", data=signup_form(**overrides))

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert f'id="{field}"' in page and "is-invalid" in page
    assert totals(session) == before
    assert signed_in_user_id(client) is None


def test_every_bad_field_is_reported_at_once(client: FlaskClient, session: sa.orm.Session) -> None:
    response = client.post("/signup", data={"display_name": "", "email": "nope", "password": "123"})

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Enter the name" in page
    assert "valid email address" in page
    assert "at least 10 characters" in page


def test_an_address_already_registered_is_refused_whatever_its_case(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    make_user("taken@minjiang-tech.example")
    before = totals(session)

    response = client.post("/signup", data=signup_form(email="TAKEN@Minjiang-Tech.example"))

    assert response.status_code == 422
    assert "cannot be used to sign up" in response.get_data(as_text=True)
    assert totals(session) == before


def test_a_signup_racing_another_for_the_same_address_saves_nothing(
    client: FlaskClient, session: sa.orm.Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_user(EMAIL)
    session.commit()  # the other sign-up has already committed
    before = totals(session)
    # The check before the insert misses the other sign-up; the unique constraint catches it.
    monkeypatch.setattr(services, "user_by_email", lambda _session, _email: None)

    response = client.post("/signup", data=signup_form())

    assert response.status_code == 422
    assert "cannot be used to sign up" in response.get_data(as_text=True)
    assert totals(session) == before


def test_a_signed_in_user_is_sent_home_from_the_signup_page(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    client.post("/signup", data=signup_form())

    response = client.get("/signup")

    assert response.status_code == 302
    assert response.headers["Location"] == "/"
