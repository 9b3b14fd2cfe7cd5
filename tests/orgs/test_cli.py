"""`flask orgs create-operator`: bootstrap the operator organization and its first owner."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.accounts.passwords import verify_password
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Membership, Organization, OrgKind
from tests.orgs.conftest import audit, make_person

GOOD_PASSWORD = "Minjiang-river-2026"


def _run(app: Flask, *args: str, password: str = GOOD_PASSWORD) -> tuple[int, str]:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["orgs", "create-operator", *args], input=f"{password}\n" * 2)
    return result.exit_code, result.output


def _operators(session: Session) -> list[Organization]:
    stmt = sa.select(Organization).where(Organization.kind == OrgKind.OPERATOR)
    return list(session.scalars(stmt))


def test_create_operator_makes_the_operator_org_and_its_confirmed_owner(
    app: Flask, session: Session, clock: FrozenClock
) -> None:
    code, output = _run(app, "--name", "云市运营中心", "--email", "Ops@Yunshi.example")

    assert code == 0, output
    [operator] = _operators(session)
    assert operator.name == "云市运营中心"
    user = session.scalars(sa.select(User).where(User.email == "ops@yunshi.example")).one()
    assert user.email_confirmed_at == clock.now()
    assert verify_password(user.password_hash, GOOD_PASSWORD)
    membership = session.scalars(
        sa.select(Membership).where(Membership.organization_id == operator.id)
    ).one()
    assert (membership.user_id, membership.role) == (user.id, "owner")
    [entry] = audit(session, "organization.created")
    assert entry.after is not None and entry.after["kind"] == "operator"
    assert "云市运营中心" in output


def test_a_second_operator_is_refused(app: Flask, session: Session) -> None:
    assert _run(app, "--name", "云市运营", "--email", "ops@yunshi.example")[0] == 0

    code, output = _run(app, "--name", "第二运营", "--email", "ops2@yunshi.example")

    assert code != 0
    assert "平台已存在运营方组织" in output  # the command line speaks Chinese by default
    assert len(_operators(session)) == 1
    assert session.scalar(sa.select(User).where(User.email == "ops2@yunshi.example")) is None


def test_a_bad_email_or_weak_password_is_refused_naming_the_field(
    app: Flask, session: Session
) -> None:
    code, output = _run(app, "--name", "云市运营", "--email", "not-an-email")
    assert code == 2 and "email" in output

    code, output = _run(
        app, "--name", "云市运营", "--email", "ops@yunshi.example", password="short"
    )
    assert code == 2 and "password" in output

    assert _operators(session) == []


def test_an_email_that_already_has_an_account_is_refused(app: Flask, session: Session) -> None:
    make_person("taken@yunshi.example")

    code, output = _run(app, "--name", "云市运营", "--email", "taken@yunshi.example")

    assert code == 2 and "email" in output
    assert _operators(session) == []


def test_a_bad_operator_name_is_refused(app: Flask, session: Session) -> None:
    code, output = _run(app, "--name", "x", "--email", "ops@yunshi.example")

    assert code == 2 and "name" in output
    assert _operators(session) == []
    assert session.scalar(sa.select(User).where(User.email == "ops@yunshi.example")) is None
