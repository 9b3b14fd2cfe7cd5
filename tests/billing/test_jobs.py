"""The job layer: inline without Redis, on a real RQ worker and scheduler with Redis."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis
import sqlalchemy as sa
import structlog
from flask import Flask, g, has_app_context
from rq import Queue
from rq.job import Job
from sqlalchemy.orm import Session

from app import create_app
from billing.payments.config import PaymentSettings, payment_settings
from billing.payments.dunning_schedule import DunningPolicy
from billing.services import test_clocks
from marketplace.extensions import db, redis_store
from marketplace.jobs import (
    QUEUE_NAMES,
    InlineRunner,
    RqRunner,
    enqueue,
    job_path,
    periodic_jobs,
)
from marketplace.orgs.models import Organization
from marketplace.settings import PROJECT_ROOT, SettingsError, settings_from_env
from tests import backends
from tests.conftest import RUN_PREFIX, make_test_settings

WORKER_TIMEOUT = 60
CLOSE_JOB = "billing.jobs.run_billing_close"
DUNNING_JOB = "billing.payments.dunning.run_dunning"
PAYMENT_FIELDS = (
    "stripe_webhook_secret",
    "dunning_retry_days",
    "dunning_grace_days",
    "activation_deadline_hours",
    "payment_settle_after_minutes",
)


# Jobs the tests enqueue: module-level functions, as every job must be.
def add(a: int, b: int, *, times: int = 1) -> int:
    """Return (a + b) × times."""
    return (a + b) * times


def fail() -> None:
    """Fail the way a job with a bug does."""
    raise RuntimeError("the job broke")


def context_seen(key: str) -> dict[str, Any]:
    """Write what the job saw (app context, request id, organizations) to Redis under key."""
    seen = {
        "app_context": has_app_context(),
        "request_id": structlog.contextvars.get_contextvars().get("request_id"),
        "organizations": db.session.scalar(sa.select(sa.func.count(Organization.id))),
    }
    client = redis_store.client
    assert client is not None
    client.set(key, json.dumps(seen))
    return seen


def close_jobs(queue: Queue) -> list[Job]:
    """Return the billing close jobs waiting in a queue (other periodic jobs share it)."""
    return [job for job in queue.get_jobs() if job.args[0] == CLOSE_JOB]


def worker_env(database_url: str, prefix: str, **extra: str) -> dict[str, str]:
    """Return the environment a worker or scheduler process of the test app runs with."""
    return {
        **os.environ,
        "FLASK_APP": "app",
        "YUNSHI_ENV": "testing",
        "SECRET_KEY": "test-secret-key",
        "DATABASE_URL": database_url,
        "REDIS_URL": backends.REDIS_URL,
        "JOB_QUEUE_PREFIX": prefix,
        "RATE_LIMIT_PREFIX": RUN_PREFIX,
        "LOG_JSON": "false",
        **extra,
    }


def run_worker(database_url: str, prefix: str, *queues: str) -> subprocess.CompletedProcess[str]:
    """Run `flask jobs worker --burst` in its own process until the queues are empty."""
    command = [sys.executable, "-m", "flask", "jobs", "worker", "--burst", *queues]
    done = subprocess.run(
        command,
        cwd=PROJECT_ROOT,
        env=worker_env(database_url, prefix),
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def queue_app(database_url: str, prefix: str) -> Flask:
    """Build an app that puts jobs on RQ queues of its own prefix."""
    settings = make_test_settings(database_url, backends.REDIS_URL)
    return create_app(dataclasses.replace(settings, job_queue_prefix=prefix))


@pytest.fixture
def prefix() -> Iterator[str]:
    """Give queue names no other run or test shares, and delete the queues afterwards."""
    value = f"{RUN_PREFIX}-{uuid.uuid4().hex[:6]}:"
    yield value
    client = redis.Redis.from_url(backends.REDIS_URL)
    for name in ("default", "billing"):
        Queue(f"{value}{name}", connection=client).delete(delete_jobs=True)


def test_an_inline_job_runs_at_once_with_its_arguments(session: Session) -> None:
    handle = InlineRunner().submit(
        job_path(add), (2, 3), {"times": 4}, queue="default", job_id="j1", request_id=None
    )

    assert (handle.id, handle.status, handle.result) == ("j1", "finished", 20)


def test_enqueue_without_redis_runs_inline(database_url: str) -> None:
    app = create_app(make_test_settings(database_url, None))

    with app.app_context():
        handle = enqueue(add, 1, 2)

    assert isinstance(app.extensions["jobs"], InlineRunner)
    assert handle.status == "finished" and handle.result == 3


def test_a_failed_inline_job_does_not_fail_the_caller(session: Session) -> None:
    handle = InlineRunner().submit(
        job_path(fail), (), {}, queue="default", job_id=None, request_id=None
    )

    assert handle.status == "failed" and handle.result is None
    assert session.scalar(sa.select(sa.literal(1))) == 1  # the session is usable again


@pytest.mark.redis
def test_a_job_logs_with_the_request_id_that_enqueued_it(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.extensions, "jobs", InlineRunner())
    key = f"{RUN_PREFIX}:inline-context"

    with app.test_request_context("/"):
        g.request_id = "req-123"
        handle = enqueue(context_seen, key)

    assert handle.result["request_id"] == "req-123" and handle.result["app_context"]
    assert structlog.contextvars.get_contextvars().get("request_id") != "req-123"


def test_a_job_must_be_a_module_level_function() -> None:
    def nested() -> None: ...

    with pytest.raises(ValueError, match="module-level"):
        job_path(nested)
    with pytest.raises(ValueError, match="module-level"):
        job_path(lambda: None)
    assert job_path("billing.jobs.run_billing_close") == "billing.jobs.run_billing_close"


def test_an_unknown_queue_is_refused() -> None:
    runner = RqRunner(redis.Redis.from_url(backends.REDIS_URL), "x:")

    assert runner.queue_name("billing") == "x:billing"
    with pytest.raises(ValueError, match="unknown queue"):
        runner.queue_name("nightly")
    with pytest.raises(ValueError, match="unknown queue"):
        InlineRunner().submit("x.y", (), {}, queue="nightly", job_id=None, request_id=None)


def test_the_billing_close_is_scheduled_at_its_interval(app: Flask, database_url: str) -> None:
    [job] = [j for j in periodic_jobs(app) if j.func_path == "billing.jobs.run_billing_close"]
    settings = make_test_settings(database_url, None)
    hourly = create_app(dataclasses.replace(settings, billing_close_interval_minutes=60))

    assert (job.func_path, job.seconds, job.queue) == (
        "billing.jobs.run_billing_close",
        900,
        "billing",
    )
    assert [j.seconds for j in periodic_jobs(hourly) if j.func_path == job.func_path] == [3600]


@pytest.mark.parametrize("raw", ["0", "-5", "soon"])
def test_a_bad_close_interval_is_refused(raw: str) -> None:
    with pytest.raises(SettingsError, match="BILLING_CLOSE_INTERVAL"):
        settings_from_env({"BILLING_CLOSE_INTERVAL": raw})


def test_the_close_interval_and_queue_prefix_come_from_the_environment() -> None:
    settings = settings_from_env({"BILLING_CLOSE_INTERVAL": "5", "JOB_QUEUE_PREFIX": "pilot:"})

    assert settings.billing_close_interval_minutes == 5
    assert settings.job_queue_prefix == "pilot:"
    assert settings_from_env({}).billing_close_interval_minutes == 15


def test_the_worker_needs_redis(database_url: str) -> None:
    app = create_app(make_test_settings(database_url, None))

    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])

    assert result.exit_code != 0 and "REDIS_URL" in result.output


def test_without_redis_the_scheduler_runs_the_close_inline(database_url: str) -> None:
    app = create_app(make_test_settings(database_url, None))

    result = app.test_cli_runner().invoke(args=["jobs", "scheduler", "--once"])

    assert result.exit_code == 0, result.output
    assert "billing.jobs.run_billing_close: finished" in result.output.splitlines()
    with app.app_context():
        report = test_clocks.last_close_report(test_clocks.PERIODIC)
    assert report is not None and report["close"]["invoices"] == 0


@pytest.mark.redis
def test_the_scheduler_once_enqueues_each_periodic_job(database_url: str, prefix: str) -> None:
    result = (
        queue_app(database_url, prefix)
        .test_cli_runner()
        .invoke(args=["jobs", "scheduler", "--once"])
    )

    assert result.exit_code == 0, result.output
    client = redis.Redis.from_url(backends.REDIS_URL)
    queued = {
        name: [job.args[0] for job in Queue(f"{prefix}{name}", connection=client).jobs]
        for name in QUEUE_NAMES
    }
    periodic = periodic_jobs(queue_app(database_url, prefix))
    assert queued == {
        name: [j.func_path for j in periodic if j.queue == name] for name in QUEUE_NAMES
    }
    assert {CLOSE_JOB, DUNNING_JOB} <= set(queued["billing"])
    [close] = close_jobs(Queue(f"{prefix}billing", connection=client))
    assert close.timeout == 3600  # a close over every firm may run long


@pytest.mark.redis
def test_a_worker_refuses_unknown_queues(database_url: str, prefix: str) -> None:
    result = (
        queue_app(database_url, prefix)
        .test_cli_runner()
        .invoke(args=["jobs", "worker", "--burst", "nightly"])
    )

    assert result.exit_code != 0 and "unknown queue" in result.output


@pytest.mark.redis
@pytest.mark.postgres
def test_a_real_worker_runs_jobs_in_an_app_context(database_url: str, prefix: str) -> None:
    app = queue_app(database_url, prefix)
    key = f"{RUN_PREFIX}:worker-context-{uuid.uuid4().hex[:6]}"
    with app.test_request_context("/"):
        g.request_id = "req-worker-1"
        seen = enqueue(context_seen, key, queue="billing")
        summed = enqueue(add, 20, 22, queue="default")
        broken = enqueue(fail, queue="default")
    assert seen.status == summed.status == "queued"

    run_worker(database_url, prefix, "billing", "default")

    client = redis.Redis.from_url(backends.REDIS_URL)
    assert json.loads(client.get(key) or "null") == {
        "app_context": True,
        "request_id": "req-worker-1",
        "organizations": 0,  # the run's database, where every test rolls back
    }
    assert Job.fetch(summed.id, connection=client).return_value() == 42
    assert Job.fetch(broken.id, connection=client).get_status() == "failed"


@pytest.mark.redis
@pytest.mark.postgres
def test_the_billing_close_runs_on_a_real_worker(database_url: str, prefix: str) -> None:
    app = queue_app(database_url, prefix)
    with app.app_context():
        handle = enqueue("billing.jobs.run_billing_close", queue="billing")

    run_worker(database_url, prefix, "billing")

    report = Job.fetch(
        handle.id, connection=redis.Redis.from_url(backends.REDIS_URL)
    ).return_value()
    assert report["close"] == {"subscriptions": 0, "invoices": 0, "chunks": 0}
    assert report["finalize"] == {"invoices": 0, "paid": 0, "chunks": 0}


@pytest.mark.redis
def test_the_scheduler_enqueues_the_periodic_close(database_url: str, prefix: str) -> None:
    client = redis.Redis.from_url(backends.REDIS_URL)
    billing = Queue(f"{prefix}billing", connection=client)
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "flask", "jobs", "scheduler"],
        cwd=PROJECT_ROOT,
        env=worker_env(database_url, prefix, BILLING_CLOSE_INTERVAL="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not close_jobs(billing) and time.monotonic() < deadline and scheduler.poll() is None:
            time.sleep(0.2)
    finally:
        scheduler.send_signal(signal.SIGTERM)
        _, errors = scheduler.communicate(timeout=30)

    # An interval job is enqueued as soon as the scheduler starts, then at its interval
    # (the close every minute here; dunning and the other billing jobs beside it).
    [job] = close_jobs(billing)
    assert job.args[0] == CLOSE_JOB, errors
    assert job.timeout == 3600
    assert (
        job.description
        == "marketplace.jobs.run_job('billing.jobs.run_billing_close', (), {}, None)"
    )


def test_the_payment_jobs_are_scheduled_on_the_billing_queue(app: Flask) -> None:
    scheduled = {job.func_path: (job.seconds, job.queue) for job in periodic_jobs(app)}

    assert scheduled[DUNNING_JOB] == (3600, "billing")
    assert scheduled["billing.services.activation_deadline.run_activation_deadline"] == (
        3600,
        "billing",
    )
    assert scheduled["billing.payments.reconciliation.reconcile_job"] == (86400, "billing")


def test_the_payment_settings_come_from_the_environment(database_url: str) -> None:
    environ = {
        "STRIPE_WEBHOOK_SECRET": "whsec_abc",
        "DUNNING_RETRY_DAYS": "2, 5,10",
        "DUNNING_GRACE_DAYS": "21",
        "ACTIVATION_DEADLINE_HOURS": "48",
        "PAYMENT_SETTLE_AFTER_MINUTES": "30",
    }
    settings = settings_from_env(environ)
    app = create_app(
        dataclasses.replace(
            make_test_settings(database_url, None),
            **{name: getattr(settings, name) for name in PAYMENT_FIELDS},
        )
    )

    assert payment_settings(app) == PaymentSettings(
        "whsec_abc", DunningPolicy((2, 5, 10), 21), timedelta(hours=48), timedelta(minutes=30)
    )
    defaults = settings_from_env({})
    assert [getattr(defaults, name) for name in PAYMENT_FIELDS] == [None, (1, 3, 7), 14, 72, 60]


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("DUNNING_RETRY_DAYS", "3,1"),
        ("DUNNING_RETRY_DAYS", "1,1"),
        ("DUNNING_RETRY_DAYS", "0,2"),
        ("DUNNING_RETRY_DAYS", "1,,3"),
        ("DUNNING_RETRY_DAYS", "one"),
        ("DUNNING_GRACE_DAYS", "0"),
        ("DUNNING_GRACE_DAYS", "two weeks"),
        ("ACTIVATION_DEADLINE_HOURS", "-1"),
        ("PAYMENT_SETTLE_AFTER_MINUTES", "soon"),
    ],
)
def test_a_bad_payment_setting_is_refused_naming_the_variable(name: str, raw: str) -> None:
    with pytest.raises(SettingsError, match=name):
        settings_from_env({name: raw})


def test_production_refuses_to_start_without_the_stripe_webhook_secret() -> None:
    environ = {
        "YUNSHI_ENV": "production",
        "SECRET_KEY": "s" * 40,
        "DATABASE_URL": "postgresql+psycopg://db/yunshi",
        "STRIPE_API_KEY": "sk_live_x",
        "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
    }

    with pytest.raises(SettingsError, match="STRIPE_WEBHOOK_SECRET"):
        settings_from_env(environ)
    live = settings_from_env({**environ, "STRIPE_WEBHOOK_SECRET": "whsec_live"})
    assert live.stripe_webhook_secret == "whsec_live"
