"""The accounts commands: create a confirmed user, lift a lockout."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from marketplace.accounts.models import User
from marketplace.accounts.passwords import verify_password
from marketplace.extensions import login_throttle
from tests.accounts.conftest import GOOD_PASSWORD, count


def test_create_user_makes_a_confirmed_account(app: Flask, session: sa.orm.Session) -> None:
    result = app.test_cli_runner().invoke(
        args=[
            "accounts",
            "create-user",
            "Ops@Yunshi.example",
            "--name",
            "运维",
            "--password-stdin",
        ],
        input=GOOD_PASSWORD + "\n",
    )

    assert result.exit_code == 0, result.output
    user = session.scalars(sa.select(User).where(User.email == "ops@yunshi.example")).one()
    assert user.is_confirmed and user.display_name == "运维"
    assert verify_password(user.password_hash, GOOD_PASSWORD)


def test_create_user_refuses_a_weak_password_and_saves_nothing(
    app: Flask, session: sa.orm.Session
) -> None:
    before = count(session, User)

    result = app.test_cli_runner().invoke(
        args=["accounts", "create-user", "ops@yunshi.example", "--name", "Ops", "--password-stdin"],
        input="short\n",
    )

    assert result.exit_code == 2
    assert "password" in result.output
    assert count(session, User) == before


def test_unlock_lifts_an_accounts_lockout(app: Flask, session: sa.orm.Session) -> None:
    for _ in range(5):
        login_throttle.record_failure("locked@example.com", "10.0.0.9")
    assert login_throttle.state("locked@example.com", "10.0.0.1").locked

    result = app.test_cli_runner().invoke(args=["accounts", "unlock", "Locked@Example.com"])

    assert result.exit_code == 0
    assert not login_throttle.state("locked@example.com", "10.0.0.1").locked
