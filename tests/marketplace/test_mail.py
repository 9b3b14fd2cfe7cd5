"""The mail outbox: every message kept, and logged without its links in production."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest
import sqlalchemy as sa
from flask import Flask

from marketplace.clock import FrozenClock
from marketplace.mail.models import OutboundEmail
from marketplace.mail.services import queue_email


def _queue(
    session: sa.orm.Session, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> list[dict[str, object]]:
    with caplog.at_level(logging.INFO, logger="marketplace.mail.services"):
        queue_email(
            session, clock, to="a@example.com", kind="test", subject="Hi", body="link: /secret"
        )
    events = [r.msg for r in caplog.records if isinstance(r.msg, dict)]
    return [event for event in events if event.get("event") == "email queued"]


def test_a_queued_message_is_kept_and_its_body_logged_in_development(
    session: sa.orm.Session, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    [entry] = _queue(session, clock, caplog)
    assert entry["body"] == "link: /secret"
    [kept] = session.scalars(sa.select(OutboundEmail)).all()
    assert (kept.to_address, kept.kind, kept.body) == ("a@example.com", "test", "link: /secret")


def test_production_logs_never_carry_a_message_body(
    app: Flask, session: sa.orm.Session, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    settings = app.config["SETTINGS"]
    app.config["SETTINGS"] = replace(settings, env="production")
    try:
        [entry] = _queue(session, clock, caplog)
    finally:
        app.config["SETTINGS"] = settings
    assert "body" not in entry
    assert entry["to"] == "a@example.com"
