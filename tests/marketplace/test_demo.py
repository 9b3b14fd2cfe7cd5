"""The demo data that `make run` loads."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from marketplace.clock import FrozenClock
from marketplace.demo import DEMO_PASSWORD, FIRMS, is_empty, load_demo
from marketplace.firms.models import ParkMembership, SmeProfile
from marketplace.orgs.models import Organization
from tests.factories import make_user


def _kinds(session: Session) -> dict[str, int]:
    rows = session.execute(
        sa.select(Organization.kind, sa.func.count()).group_by(Organization.kind)
    )
    return {kind: count for kind, count in rows}


def test_the_demo_loads_parks_vendors_firms_and_an_operator(
    session: Session, clock: FrozenClock
) -> None:
    assert is_empty(session)
    logins = load_demo(session, clock)
    assert _kinds(session) == {"operator": 1, "park": 2, "vendor": 3, "sme": len(FIRMS)}
    assert len(logins) == 1 + 2 + 3 + len(FIRMS)
    assert not is_empty(session)


def test_demo_firms_cover_several_sizes_and_an_unverified_code(
    session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)
    profiles = session.scalars(sa.select(SmeProfile)).all()
    assert {p.size_class for p in profiles} >= {"medium", "small", "micro"}
    assert {p.uscc_status for p in profiles} == {"valid", "unverified"}
    assert len({p.industry_code for p in profiles}) >= 4
    statuses = session.scalars(sa.select(ParkMembership.status)).all()
    assert {"approved", "requested"} <= set(statuses)


def test_the_load_command_loads_nothing_twice_and_still_prints_the_logins(
    app: Flask, session: Session, clock: FrozenClock
) -> None:
    load_demo(session, clock)
    before = session.scalar(sa.select(sa.func.count()).select_from(Organization))
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert "already loaded" in result.output
    assert FIRMS[0].owner_email in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Organization)) == before


def test_the_load_command_leaves_a_database_of_real_users_alone(
    app: Flask, session: Session
) -> None:
    make_user("someone@example.com")
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert "already has users" in result.output
    assert session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 0


def test_demo_users_sign_in_with_the_published_password(
    client: object, session: Session, clock: FrozenClock
) -> None:
    from flask.testing import FlaskClient

    assert isinstance(client, FlaskClient)
    load_demo(session, clock)
    response = client.post(
        "/login", data={"email": FIRMS[0].owner_email, "password": DEMO_PASSWORD}
    )
    assert response.status_code == 302


def test_the_load_command_refuses_a_production_deployment(app: Flask, session: Session) -> None:
    settings = app.config["SETTINGS"]
    app.config["SETTINGS"] = dataclasses.replace(settings, env="production")
    try:
        result = app.test_cli_runner().invoke(args=["demo", "load"])
    finally:
        app.config["SETTINGS"] = settings

    assert result.exit_code != 0
    assert "never loaded in production" in result.output
    assert is_empty(session)
