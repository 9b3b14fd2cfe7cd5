"""Test clocks: a sandbox firm's own time, which the operator moves forward to replay billing.

A test clock belongs to one sandbox firm (never a real one) and only moves forward. Moving
it enqueues `billing.jobs.advance_test_clock`, which closes and finalizes that firm's due
periods at the clock's time, on a worker like every other billing job. The periodic close
on the real clock leaves firms with a test clock alone. Production has no test clocks.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, is_dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.models import SandboxFirm, TestClock
from billing.periods import DEFAULT_TIME_ZONE, period_at
from marketplace.audit.services import Actor, record
from marketplace.clock import Clock
from marketplace.console.services import operator_membership
from marketplace.errors import Conflict, Forbidden, NotFound, ValidationFailed
from marketplace.extensions import redis_store
from marketplace.jobs import JobHandle, enqueue
from marketplace.orgs.models import Organization
from marketplace.settings import Settings

ADVANCE_JOB = "billing.jobs.advance_test_clock"
CLOSE_JOB = "billing.jobs.run_billing_close"
STEPS = ("day", "month", "to")
PERIODIC = "periodic"  # the report key of the close on the real clock


@dataclass(frozen=True)
class SandboxFirmRow:
    """A sandbox firm as the operator's page lists it, with its vendor and test clock."""

    firm: Organization
    vendor: Organization
    clock: TestClock | None


def refuse_in_production(settings: Settings) -> None:
    """Raise when test clocks are asked for in production, where time is only real."""
    if settings.is_production:
        raise Forbidden(_("Test clocks are not available in production."))


def firms_with_test_clocks(session: Session) -> list[int]:
    """Return the ids of the firms whose time is a test clock's."""
    return list(session.scalars(sa.select(TestClock.organization_id)))


def sandbox_firms(session: Session, actor: Actor) -> list[SandboxFirmRow]:
    """List the sandbox firms of every vendor with their test clocks, for the operator."""
    operator_membership(session, actor)
    firm, vendor = sa.orm.aliased(Organization), sa.orm.aliased(Organization)
    stmt = (
        sa.select(firm, vendor, TestClock)
        .select_from(SandboxFirm)
        .join(firm, firm.id == SandboxFirm.organization_id)
        .join(vendor, vendor.id == SandboxFirm.vendor_id)
        .outerjoin(TestClock, TestClock.organization_id == SandboxFirm.organization_id)
        .order_by(vendor.name, firm.name, firm.id)
    )
    return [SandboxFirmRow(f, v, c) for f, v, c in session.execute(stmt)]


def _sandbox_firm(session: Session, org_id: int) -> SandboxFirm:
    row = session.get(SandboxFirm, org_id)
    if row is None:
        raise NotFound(_("No such sandbox firm."))
    return row


def create_test_clock(
    session: Session,
    clock: Clock,
    settings: Settings,
    actor: Actor,
    org_id: int,
    start_at: datetime | None = None,
) -> TestClock:
    """Give a sandbox firm a test clock, standing at start_at (default: now)."""
    refuse_in_production(settings)
    operator_membership(session, actor, acting=True)
    _sandbox_firm(session, org_id)
    if session.get(TestClock, org_id) is not None:
        raise Conflict(_("This sandbox firm already has a test clock."))
    now = clock.now()
    test_clock = TestClock(
        organization_id=org_id, frozen_at=start_at or now, created_at=now, advanced_at=None
    )
    session.add(test_clock)
    session.flush()
    record(
        session,
        clock,
        actor,
        "test_clock.created",
        ("test_clock", org_id),
        after={"frozen_at": test_clock.frozen_at},
        subject_org_id=org_id,
    )
    session.commit()
    return test_clock


def target_time(frozen_at: datetime, step: str, to: datetime | None) -> datetime:
    """Return where a step moves a clock: a day on, a calendar month on, or to a given time."""
    if step == "day":
        return frozen_at + timedelta(days=1)
    if step == "month":
        return period_at(frozen_at, "month", DEFAULT_TIME_ZONE, 0).end
    if step == "to" and to is not None:
        if to.tzinfo is None:
            raise ValidationFailed({"to": _("Give a date and time.")})
        return to.astimezone(UTC)
    raise ValidationFailed({"to": _("Give a date and time.")})


def advance_test_clock(
    session: Session,
    clock: Clock,
    settings: Settings,
    actor: Actor,
    org_id: int,
    *,
    step: str,
    to: datetime | None = None,
) -> tuple[TestClock, JobHandle]:
    """Move a firm's test clock forward, then close and finalize what fell due, as a job."""
    refuse_in_production(settings)
    operator_membership(session, actor, acting=True)
    _sandbox_firm(session, org_id)
    test_clock = session.scalars(
        sa.select(TestClock).where(TestClock.organization_id == org_id).with_for_update()
    ).one_or_none()
    if test_clock is None:
        raise NotFound(_("This sandbox firm has no test clock."))
    before = test_clock.frozen_at
    target = target_time(before, step, to)
    if target <= before:
        raise ValidationFailed({"to": _("A test clock only moves forward.")})
    test_clock.frozen_at, test_clock.advanced_at = target, clock.now()
    record(
        session,
        clock,
        actor,
        "test_clock.advanced",
        ("test_clock", org_id),
        before={"frozen_at": before},
        after={"frozen_at": target},
        subject_org_id=org_id,
    )
    session.commit()
    handle = enqueue(ADVANCE_JOB, org_id, target.isoformat(), queue="billing")
    return test_clock, handle


def move_forward(session: Session, org_id: int, to: datetime, now: datetime) -> TestClock | None:
    """Put a firm's test clock at `to` unless it already stands there or later (idempotent)."""
    test_clock = session.scalars(
        sa.select(TestClock).where(TestClock.organization_id == org_id).with_for_update()
    ).one_or_none()
    if test_clock is not None and to > test_clock.frozen_at:
        test_clock.frozen_at, test_clock.advanced_at = to, now
    session.commit()
    return test_clock


def run_close_now(session: Session, actor: Actor) -> JobHandle:
    """Enqueue the periodic close on the real clock at once, for the operator."""
    operator_membership(session, actor, acting=True)
    return enqueue(CLOSE_JOB, queue="billing")


def report_as_dict(report: Any) -> dict[str, Any]:
    """Turn a close or finalize report into plain data."""
    if is_dataclass(report) and not isinstance(report, type):
        return asdict(report)
    return dict(vars(report))


def _report_key(key: str) -> str:
    # Under the deployment's Redis key prefix, which a test run also cleans up after itself.
    settings: Settings = current_app.config["SETTINGS"]
    return f"{settings.rate_limit_prefix}:{settings.job_queue_prefix}billing:close-report:{key}"


def remember_close_report(key: str, report: dict[str, Any]) -> None:
    """Keep the last close report of a firm's test clock (or of the periodic close)."""
    text = json.dumps(report, default=str, ensure_ascii=False)
    client = redis_store.client
    if client is None:
        current_app.extensions.setdefault("billing_close_reports", {})[key] = text
    else:
        client.set(_report_key(key), text)


def last_close_report(key: str) -> dict[str, Any] | None:
    """Return the last close report kept under key, or None."""
    client = redis_store.client
    if client is None:
        text = current_app.extensions.get("billing_close_reports", {}).get(key)
    else:
        raw = client.get(_report_key(key))
        text = raw.decode() if isinstance(raw, bytes) else raw
    return json.loads(text) if text else None
