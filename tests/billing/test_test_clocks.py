"""Test clocks: only for sandbox firms, only forward, never in production; advancing bills."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from billing.models import SandboxFirm, TestClock
from billing.services import firm_clock, test_clocks
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import MARKET_TIME_ZONE, FrozenClock, SystemClock
from marketplace.errors import Conflict, Forbidden, NotFound, ValidationFailed
from marketplace.orgs.models import Organization, OrgKind
from marketplace.settings import Settings
from tests.catalog.workflow import Party, make_operator, make_vendor
from tests.factories import make_member, make_org

START = datetime(2026, 1, 31, 4, 0, tzinfo=UTC)  # 12:00 on 31 January in Beijing


@pytest.fixture
def settings(app: Flask) -> Settings:
    """Return the settings of the app under test (not production)."""
    current: Settings = app.config["SETTINGS"]
    return current


@pytest.fixture
def operator(session: Session) -> Party:
    """Add the operator with an owner."""
    return make_operator()


def sandbox_firm(session: Session, vendor: Organization | None = None) -> Organization:
    """Add a test firm to a vendor's sandbox."""
    vendor = vendor or make_vendor().org
    firm = make_org(OrgKind.SME, "Sandbox test firm")
    make_member(firm)
    session.add(SandboxFirm(organization_id=firm.id, vendor_id=vendor.id, created_at=START))
    session.flush()
    return firm


def with_clock(session: Session, settings: Settings, operator: Party) -> Organization:
    """Add a sandbox firm whose test clock stands at START."""
    firm = sandbox_firm(session)
    test_clocks.create_test_clock(session, SystemClock(), settings, operator.actor, firm.id, START)
    return firm


def audit(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))


def test_a_sandbox_firm_gets_a_test_clock_at_the_chosen_time(
    session: Session, clock: FrozenClock, settings: Settings, operator: Party
) -> None:
    firm = sandbox_firm(session)

    created = test_clocks.create_test_clock(
        session, clock, settings, operator.actor, firm.id, START
    )

    assert created.frozen_at == START and created.created_at == clock.now()
    [entry] = audit(session, "test_clock.created")
    assert entry.subject_org_id == firm.id and entry.actor_user_id == operator.user.id


def test_a_test_clock_starts_now_when_no_time_is_given(
    session: Session, clock: FrozenClock, settings: Settings, operator: Party
) -> None:
    firm = sandbox_firm(session)

    created = test_clocks.create_test_clock(session, clock, settings, operator.actor, firm.id)

    assert created.frozen_at == clock.now()


def test_a_real_firm_gets_no_test_clock(
    session: Session, clock: FrozenClock, settings: Settings, operator: Party
) -> None:
    real = make_org(OrgKind.SME)

    with pytest.raises(NotFound):
        test_clocks.create_test_clock(session, clock, settings, operator.actor, real.id, START)

    assert session.get(TestClock, real.id) is None


def test_a_firm_has_one_test_clock(
    session: Session, clock: FrozenClock, settings: Settings, operator: Party
) -> None:
    firm = with_clock(session, settings, operator)

    with pytest.raises(Conflict):
        test_clocks.create_test_clock(session, clock, settings, operator.actor, firm.id, START)


def test_production_refuses_test_clocks(
    session: Session, clock: FrozenClock, settings: Settings, operator: Party
) -> None:
    production = dataclasses.replace(settings, env="production")
    firm = with_clock(session, settings, operator)
    other = sandbox_firm(session)

    with pytest.raises(Forbidden):
        test_clocks.create_test_clock(session, clock, production, operator.actor, other.id)
    with pytest.raises(Forbidden):
        test_clocks.advance_test_clock(
            session, clock, production, operator.actor, firm.id, step="day"
        )

    assert session.get(TestClock, other.id) is None
    assert session.get(TestClock, firm.id).frozen_at == START  # type: ignore[union-attr]


def test_only_the_operator_manages_test_clocks(
    session: Session, clock: FrozenClock, settings: Settings, operator: Party
) -> None:
    firm = with_clock(session, settings, operator)
    vendor = make_vendor()

    with pytest.raises(NotFound):
        test_clocks.create_test_clock(
            session, clock, settings, vendor.actor, sandbox_firm(session).id
        )
    with pytest.raises(NotFound):
        test_clocks.advance_test_clock(session, clock, settings, vendor.actor, firm.id, step="day")
    with pytest.raises(NotFound):
        test_clocks.sandbox_firms(session, Actor(None))


@pytest.mark.usefixtures("inline_jobs")
@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ("day", START + timedelta(days=1)),
        # A calendar month in Beijing: 31 January moves to the last day of February.
        ("month", datetime(2026, 2, 28, 12, 0, tzinfo=MARKET_TIME_ZONE)),
    ],
)
def test_a_test_clock_moves_a_day_or_a_calendar_month(
    session: Session,
    clock: FrozenClock,
    settings: Settings,
    operator: Party,
    step: str,
    expected: datetime,
) -> None:
    firm = with_clock(session, settings, operator)

    moved, _ = test_clocks.advance_test_clock(
        session, clock, settings, operator.actor, firm.id, step=step
    )

    assert moved.frozen_at == expected and moved.advanced_at == clock.now()
    [entry] = audit(session, "test_clock.advanced")
    assert entry.before == {"frozen_at": START.isoformat()}
    assert entry.after == {"frozen_at": expected.astimezone(UTC).isoformat()}


@pytest.mark.parametrize("offset", [timedelta(0), -timedelta(seconds=1), -timedelta(days=40)])
def test_a_test_clock_never_moves_back_or_stays(
    session: Session, clock: FrozenClock, settings: Settings, operator: Party, offset: timedelta
) -> None:
    firm = with_clock(session, settings, operator)

    with pytest.raises(ValidationFailed) as raised:
        test_clocks.advance_test_clock(
            session, clock, settings, operator.actor, firm.id, step="to", to=START + offset
        )

    assert list(raised.value.errors) == ["to"]
    assert session.get(TestClock, firm.id).frozen_at == START  # type: ignore[union-attr]
    assert audit(session, "test_clock.advanced") == []


@pytest.mark.parametrize(
    ("step", "to"),
    [("to", None), ("to", datetime(2026, 3, 1)), ("week", START + timedelta(days=7))],
)
def test_moving_to_a_time_needs_an_aware_time_and_a_known_step(
    session: Session,
    clock: FrozenClock,
    settings: Settings,
    operator: Party,
    step: str,
    to: datetime | None,
) -> None:
    firm = with_clock(session, settings, operator)

    with pytest.raises(ValidationFailed) as raised:
        test_clocks.advance_test_clock(
            session, clock, settings, operator.actor, firm.id, step=step, to=to
        )

    assert list(raised.value.errors) == ["to"]


def test_a_firm_without_a_test_clock_cannot_advance_one(
    session: Session, clock: FrozenClock, settings: Settings, operator: Party
) -> None:
    firm = sandbox_firm(session)

    with pytest.raises(NotFound):
        test_clocks.advance_test_clock(
            session, clock, settings, operator.actor, firm.id, step="day"
        )


def test_the_firm_clock_is_its_test_clock_else_the_default(
    session: Session, clock: FrozenClock, settings: Settings, operator: Party
) -> None:
    firm = with_clock(session, settings, operator)
    other = sandbox_firm(session)

    assert firm_clock.clock_for_firm(session, firm.id, clock).now() == START
    assert firm_clock.clock_for_firm(session, other.id, clock) is clock
    assert test_clocks.firms_with_test_clocks(session) == [firm.id]


def test_moving_forward_again_is_a_no_op(
    session: Session, settings: Settings, operator: Party
) -> None:
    firm = with_clock(session, settings, operator)
    later = START + timedelta(days=3)

    test_clocks.move_forward(session, firm.id, later, START)
    test_clocks.move_forward(session, firm.id, START + timedelta(days=1), START)

    assert session.get(TestClock, firm.id).frozen_at == later  # type: ignore[union-attr]
    assert test_clocks.move_forward(session, make_org(OrgKind.SME).id, later, START) is None


def test_the_operator_sees_sandbox_firms_with_their_clocks(
    session: Session, settings: Settings, operator: Party
) -> None:
    timed = with_clock(session, settings, operator)
    untimed = sandbox_firm(session)
    make_org(OrgKind.SME, "A real firm")

    rows = test_clocks.sandbox_firms(session, operator.actor)

    by_firm = {row.firm.id: row for row in rows}
    assert set(by_firm) == {timed.id, untimed.id}
    assert by_firm[timed.id].clock is not None and by_firm[untimed.id].clock is None
    assert by_firm[timed.id].vendor.kind == OrgKind.VENDOR


@pytest.mark.usefixtures("inline_jobs")
def test_advancing_runs_the_firm_close_at_the_clock_time(
    session: Session, clock: FrozenClock, settings: Settings, operator: Party
) -> None:
    firm = with_clock(session, settings, operator)

    moved, handle = test_clocks.advance_test_clock(
        session, clock, settings, operator.actor, firm.id, step="day"
    )

    assert handle.status == "finished", handle
    report = test_clocks.last_close_report(str(firm.id))
    assert report is not None and report == handle.result
    assert datetime.fromisoformat(report["clock_at"]) == moved.frozen_at
    assert report["organization_id"] == firm.id
