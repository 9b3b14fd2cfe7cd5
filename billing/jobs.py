"""Billing's background jobs: the periodic close on the real clock, and a test clock's close.

Both are idempotent: the close bills each boundary once (unique invoice per subscription and
period start) and finalizing skips what is already final, so a job that runs twice, or
after a crash, only finishes what the first run left.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app

from billing.services import test_clocks
from billing.services.close import close_due_periods, finalize_due_invoices
from marketplace.clock import Clock, FrozenClock, SystemClock, current_clock
from marketplace.extensions import db
from marketplace.logs import get_logger
from marketplace.settings import Settings

log = get_logger(__name__)


def _close_and_finalize(clock: Clock, organization_ids: list[int] | None) -> dict[str, Any]:
    """Close the due periods and finalize the invoices past grace, at the clock's time."""
    session = db.session()
    on_test_clock = organization_ids is not None
    closed = close_due_periods(
        session,
        clock,
        organization_ids=organization_ids,
        exclude_test_clock_firms=not on_test_clock,
    )
    finalized = finalize_due_invoices(
        session,
        clock,
        organization_ids=organization_ids,
        exclude_test_clock_firms=not on_test_clock,
    )
    return {
        "clock_at": clock.now().isoformat(),
        "ran_at": SystemClock().now().isoformat(),
        "close": test_clocks.report_as_dict(closed),
        "finalize": test_clocks.report_as_dict(finalized),
    }


def run_billing_close() -> dict[str, Any]:
    """Close and finalize every firm's due periods on the real clock (test clocks skipped)."""
    report = _close_and_finalize(current_clock(), None)
    test_clocks.remember_close_report(test_clocks.PERIODIC, report)
    log.info("billing close ran", **_summary(report))
    return report


def advance_test_clock(org_id: int, to: str) -> dict[str, Any] | None:
    """Move a sandbox firm's test clock to `to` (never back) and bill what fell due by then."""
    settings: Settings = current_app.config["SETTINGS"]
    test_clocks.refuse_in_production(settings)
    session = db.session()
    moved = test_clocks.move_forward(
        session, org_id, datetime.fromisoformat(to), current_clock().now()
    )
    if moved is None:
        log.warning("test clock not found", organization_id=org_id)
        return None
    report = _close_and_finalize(FrozenClock(moved.frozen_at), [org_id])
    report["organization_id"] = org_id
    test_clocks.remember_close_report(str(org_id), report)
    log.info("test clock close ran", organization_id=org_id, **_summary(report))
    return report


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "clock_at": report["clock_at"],
        "close": report["close"],
        "finalize": report["finalize"],
    }
