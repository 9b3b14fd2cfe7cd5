"""An event goes from the outbox to a vendor's receiver through a real RQ worker.

The worker is `flask jobs worker --burst` in its own process, so what it reads must be
committed: the test uses a scratch database of its own and RQ queues under a prefix of
its own, and removes both at the end.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from rq import Queue

from app import create_app
from marketplace import migrate
from marketplace.audit.services import Actor
from marketplace.clock import current_clock
from marketplace.events.services import record_event
from marketplace.extensions import db
from marketplace.orgs.models import Organization, OrgKind
from marketplace.settings import PROJECT_ROOT
from marketplace.webhooks import services
from marketplace.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery
from tests import backends
from tests.conftest import RUN_PREFIX, make_test_settings
from tests.webhooks.conftest import Receiver, independent_check

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
WORKER_TIMEOUT = 60
QUEUES = ("default", "billing")


@pytest.fixture
def prefix() -> Iterator[str]:
    """Give queue names no other run or test shares, and delete the queues afterwards."""
    value = f"{RUN_PREFIX}-hooks-{uuid.uuid4().hex[:6]}:"
    yield value
    client = redis.Redis.from_url(backends.REDIS_URL)
    for name in QUEUES:
        Queue(f"{value}{name}", connection=client).delete(delete_jobs=True)
    for key in client.scan_iter(f"{value}*"):
        client.delete(key)


@pytest.fixture
def worker_app(prefix: str) -> Iterator[tuple[Flask, str]]:
    """An app that queues jobs on Redis under the prefix, over a scratch database."""
    with backends.scratch_database("hooks_worker", has_postgres=True) as url:
        migrate.upgrade(url)
        settings = make_test_settings(url, backends.REDIS_URL)
        app = create_app(dataclasses.replace(settings, job_queue_prefix=prefix))
        yield app, url
        app.extensions["db_engine"].dispose()


def run_worker(database_url: str, prefix: str) -> subprocess.CompletedProcess[str]:
    """Run `flask jobs worker --burst` in its own process until the queues are empty."""
    env = {
        **os.environ,
        "FLASK_APP": "app",
        "YUNSHI_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "REDIS_URL": backends.REDIS_URL,
        "JOB_QUEUE_PREFIX": prefix,
        "RATE_LIMIT_PREFIX": RUN_PREFIX,
        "LOG_JSON": "false",
        "WEBHOOK_TIMEOUT": "5",
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "jobs", "worker", "--burst", *QUEUES],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_a_recorded_event_reaches_the_receiver_signed_through_a_real_worker(
    worker_app: tuple[Flask, str], prefix: str, receiver: Receiver
) -> None:
    app, url = worker_app
    receiver.start()
    with app.app_context():
        session = db.session()
        vendor = Organization(
            kind=OrgKind.VENDOR, name="worker vendor", created_at=datetime.now(UTC)
        )
        session.add(vendor)
        session.commit()
        fields = {"url": receiver.url, "event_types": ["subscription.activated"]}
        issued = services.create_endpoint(
            session, current_clock(), Actor(None), services.Owner(vendor.id), fields, sandbox=False
        )
        event = record_event(
            session,
            current_clock(),
            type="subscription.activated",
            organization_id=vendor.id,
            aggregate=("subscription", 41),
            payload={"subscription_id": 41, "sandbox": False, "status": "active"},
        )
        session.commit()  # the commit asks for a relay: a job on the prefix's queue
        event_id, secret = event.id, issued.secret
        queued = Queue(f"{prefix}default", connection=redis.Redis.from_url(backends.REDIS_URL))
        waiting = [job.args[0] for job in queued.get_jobs()]

    done = run_worker(url, prefix)

    assert waiting == ["marketplace.webhooks.relay.relay_outbox"]
    [request] = receiver.received
    independent_check(secret, request["signature"], request["body"])
    body = json.loads(request["body"])
    assert (request["event_id"], body["id"], body["type"], body["sequence"]) == (
        str(event_id),
        event_id,
        "subscription.activated",
        1,
    )
    assert "deliver_webhook" in done.stderr + done.stdout
    with app.app_context():
        [delivery] = db.session.scalars(sa.select(WebhookDelivery)).all()
        [attempt] = db.session.scalars(sa.select(WebhookAttempt)).all()
        assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.event_id == event_id
        assert (attempt.outcome, attempt.status_code) == ("succeeded", 200)
        assert attempt.response_excerpt == '{"ok": true}'
