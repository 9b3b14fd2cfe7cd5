"""Email confirmation: mailed links, their expiry, and asking for a new one."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask.testing import FlaskClient

from marketplace.accounts.models import User
from marketplace.clock import FrozenClock
from tests.accounts.conftest import link_path, log_in, mails, signup_form
from tests.factories import make_user

EMAIL = "lin.xiaomei@minjiang-tech.example"


def _sign_up(client: FlaskClient, session: sa.orm.Session) -> tuple[User, str]:
    client.post("/signup", data=signup_form())
    user = session.scalars(sa.select(User).where(User.email == EMAIL)).one()
    return user, link_path(mails(session, "confirm_email")[-1])


def test_following_the_link_confirms_the_address(
    client: FlaskClient, session: sa.orm.Session, clock: FrozenClock
) -> None:
    user, link = _sign_up(client, session)
    clock.advance(timedelta(hours=5))

    response = client.get(link)

    assert response.status_code == 200
    assert "is confirmed" in response.get_data(as_text=True)
    assert user.email_confirmed_at == clock.now()


def test_the_link_works_in_a_browser_that_is_not_signed_in(
    client: FlaskClient, other_client: FlaskClient, session: sa.orm.Session
) -> None:
    user, link = _sign_up(client, session)

    response = other_client.get(link)

    assert response.status_code == 200
    assert user.is_confirmed
    assert 'href="/login"' in response.get_data(as_text=True)


def test_following_the_link_twice_is_harmless(
    client: FlaskClient, session: sa.orm.Session, clock: FrozenClock
) -> None:
    user, link = _sign_up(client, session)
    client.get(link)
    confirmed_at = user.email_confirmed_at
    clock.advance(timedelta(hours=1))

    response = client.get(link)

    assert response.status_code == 200
    assert "already confirmed" in response.get_data(as_text=True)
    assert user.email_confirmed_at == confirmed_at


def test_the_link_still_works_just_before_three_days(
    client: FlaskClient, session: sa.orm.Session, clock: FrozenClock
) -> None:
    user, link = _sign_up(client, session)
    clock.advance(timedelta(days=3))

    assert client.get(link).status_code == 200
    assert user.is_confirmed


def test_an_expired_link_shows_a_clear_page_and_confirms_nothing(
    client: FlaskClient, session: sa.orm.Session, clock: FrozenClock
) -> None:
    user, link = _sign_up(client, session)
    clock.advance(timedelta(days=3, seconds=1))

    response = client.get(link)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This link has expired" in page
    assert "Send me a new confirmation link" in page
    assert not user.is_confirmed


def test_a_tampered_link_is_refused(client: FlaskClient, session: sa.orm.Session) -> None:
    user, link = _sign_up(client, session)
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")

    response = client.get(tampered)

    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)
    assert not user.is_confirmed


def test_a_link_for_an_address_the_account_no_longer_has_is_refused(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user, link = _sign_up(client, session)
    user.email = "another@minjiang-tech.example"
    session.flush()

    response = client.get(link)

    assert response.status_code == 400
    assert not user.is_confirmed


def test_a_password_reset_link_does_not_confirm_an_address(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user, _link = _sign_up(client, session)
    client.post("/password/forgot", data={"email": EMAIL})
    reset_token = link_path(mails(session, "password_reset")[-1]).rsplit("/", 1)[1]

    response = client.get(f"/confirm/{reset_token}")

    assert response.status_code == 400
    assert not user.is_confirmed


def test_an_unconfirmed_user_sees_a_banner_on_every_page(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    _sign_up(client, session)

    page = client.get("/").get_data(as_text=True)

    assert 'data-testid="confirm-banner"' in page
    assert EMAIL in page


def test_a_confirmed_user_sees_no_banner(client: FlaskClient, session: sa.orm.Session) -> None:
    user = make_user(confirmed=True)
    log_in(client, user.email)

    assert 'data-testid="confirm-banner"' not in client.get("/").get_data(as_text=True)


def test_asking_again_mails_a_fresh_link(
    client: FlaskClient, session: sa.orm.Session, clock: FrozenClock
) -> None:
    user, _first = _sign_up(client, session)
    clock.advance(timedelta(minutes=2))

    response = client.post("/confirm/resend", data={"next": "/settings"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/settings"
    _first, second = mails(session, "confirm_email")
    assert second.created_at == clock.now()
    assert client.get(link_path(second)).status_code == 200
    assert user.is_confirmed


def test_asking_again_within_a_minute_sends_nothing(
    client: FlaskClient, session: sa.orm.Session, clock: FrozenClock
) -> None:
    _sign_up(client, session)
    clock.advance(timedelta(seconds=30))

    response = client.post("/confirm/resend", follow_redirects=True)

    assert "We sent you a link a moment ago" in response.get_data(as_text=True)
    assert len(mails(session, "confirm_email")) == 1


def test_asking_again_once_confirmed_sends_nothing(
    client: FlaskClient, session: sa.orm.Session
) -> None:
    user = make_user(confirmed=True)
    log_in(client, user.email)

    response = client.post("/confirm/resend", follow_redirects=True)

    assert "already confirmed" in response.get_data(as_text=True)
    assert mails(session, "confirm_email") == []


def test_asking_again_needs_a_signed_in_user(client: FlaskClient, session: sa.orm.Session) -> None:
    response = client.post("/confirm/resend")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert mails(session, "confirm_email") == []


def test_a_resend_never_redirects_off_site(client: FlaskClient, session: sa.orm.Session) -> None:
    _sign_up(client, session)

    response = client.post("/confirm/resend", data={"next": "https://evil.example/"})

    assert response.headers["Location"] == "/signup/check-mail"
