"""Background jobs: RQ queues on Redis, or run inline in the embedded mode without Redis.

A job is a plain module-level function named by its dotted path. What RQ stores is a call
of `run_job(path, args, kwargs, request_id)`; `flask jobs worker` runs an `AppWorker`, an
RQ worker that performs each job inside an app context of the app the `flask` command built
from the environment, so a job reads `db.session()` and `current_clock()` like a request.
Without REDIS_URL, `enqueue` runs the job at once, in-process, in the caller's app context:
callers commit their own work before they enqueue.

Periodic jobs are registered on the app with `schedule_every`; `flask jobs scheduler` runs
RQ's cron scheduler, which enqueues each of them at its interval (without Redis it runs them
inline itself).
"""

from __future__ import annotations

import importlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click
import structlog
from flask import Flask, current_app, g, has_app_context, has_request_context
from flask.cli import AppGroup
from redis import Redis
from rq import Queue, Worker, get_current_job
from rq.cron import CronScheduler

from marketplace.extensions import db
from marketplace.logs import get_logger
from marketplace.settings import Settings

QUEUE_NAMES = ("default", "billing")
# Seconds a job may run before its worker kills it. A close over every firm runs long; it
# commits chunk by chunk, so a killed run loses one chunk and the next run finishes it.
QUEUE_TIMEOUTS = {"default": 180, "billing": 3600}
log = get_logger(__name__)
jobs_cli = AppGroup("jobs", help="Background jobs: an RQ worker and the periodic scheduler.")


@dataclass(frozen=True)
class JobHandle:
    """What enqueueing gave back: the job's id and, for an inline run, how it went."""

    id: str
    status: str  # "queued" on RQ; "finished" or "failed" when run inline
    result: Any = None


@dataclass(frozen=True)
class PeriodicJob:
    """A job the scheduler enqueues every `seconds` on a queue."""

    func_path: str
    seconds: int
    queue: str


def job_path(func: str | Callable[..., Any]) -> str:
    """Return the dotted path of a job function (a path is returned as it is)."""
    if isinstance(func, str):
        return func
    if "<" in func.__qualname__ or func.__qualname__ != func.__name__:
        raise ValueError("a job must be a module-level function")
    return f"{func.__module__}.{func.__name__}"


def _resolve(func_path: str) -> Callable[..., Any]:
    module_name, _, name = func_path.rpartition(".")
    func: Callable[..., Any] = getattr(importlib.import_module(module_name), name)
    return func


def run_job(
    func_path: str, args: tuple[Any, ...], kwargs: dict[str, Any], request_id: str | None
) -> Any:
    """Perform one job in the current app context, logging with the enqueuing request's id."""
    on_worker = get_current_job()
    run = on_worker.id if on_worker else uuid.uuid4().hex
    with structlog.contextvars.bound_contextvars(request_id=request_id, job=func_path, run=run):
        log.info("job started")
        result = _resolve(func_path)(*args, **kwargs)
        log.info("job finished")
        return result


class InlineRunner:
    """Runs each job at once, in-process: the embedded mode without Redis, and tests."""

    def submit(
        self,
        func_path: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        queue: str,
        job_id: str | None,
        request_id: str | None,
    ) -> JobHandle:
        """Run the job now; a failure is logged and rolled back, never raised to the caller."""
        if queue not in QUEUE_NAMES:
            raise ValueError(f"unknown queue {queue!r}; the queues are {', '.join(QUEUE_NAMES)}")
        handle_id = job_id or uuid.uuid4().hex
        try:
            result = run_job(func_path, args, kwargs, request_id)
        except Exception:
            # As on a worker, a failed job does not fail whoever enqueued it.
            db.session.rollback()
            log.exception("job failed", job=func_path, queue=queue)
            return JobHandle(handle_id, "failed")
        return JobHandle(handle_id, "finished", result)


@dataclass
class RqRunner:
    """Puts jobs on RQ queues in Redis, under a prefix that lets deployments share a Redis."""

    connection: Redis
    prefix: str = ""
    _queues: dict[str, Queue] = field(default_factory=dict)

    def queue_name(self, name: str) -> str:
        """Return the Redis name of one of the app's queues."""
        if name not in QUEUE_NAMES:
            raise ValueError(f"unknown queue {name!r}; the queues are {', '.join(QUEUE_NAMES)}")
        return f"{self.prefix}{name}"

    def queue(self, name: str) -> Queue:
        """Return the RQ queue of one of the app's queue names."""
        if name not in self._queues:
            self._queues[name] = Queue(self.queue_name(name), connection=self.connection)
        return self._queues[name]

    def submit(
        self,
        func_path: str,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        queue: str,
        job_id: str | None,
        request_id: str | None,
    ) -> JobHandle:
        """Put the job on its queue for a worker."""
        job = self.queue(queue).enqueue_call(
            run_job,
            args=(func_path, tuple(args), dict(kwargs), request_id),
            job_id=job_id,
            description=func_path,
            timeout=QUEUE_TIMEOUTS[queue],
        )
        return JobHandle(job.id, "queued")


Runner = InlineRunner | RqRunner


def init_jobs(app: Flask, settings: Settings) -> None:
    """Attach the job runner: RQ when REDIS_URL is set, else inline."""
    runner: Runner
    if settings.redis_url:
        connection = Redis.from_url(settings.redis_url)
        runner = RqRunner(connection, settings.job_queue_prefix)
    else:
        runner = InlineRunner()
    app.extensions["jobs"] = runner
    app.extensions["periodic_jobs"] = []
    app.cli.add_command(jobs_cli)


def runner() -> Runner:
    """Return the current app's job runner."""
    current: Runner = current_app.extensions["jobs"]
    return current


def _request_id() -> str | None:
    if has_request_context() and g.get("request_id"):
        return str(g.request_id)
    bound = structlog.contextvars.get_contextvars().get("request_id")
    return str(bound) if bound else None


def enqueue(
    func: str | Callable[..., Any],
    *args: Any,
    job_id: str | None = None,
    queue: str = "default",
    **kwargs: Any,
) -> JobHandle:
    """Run a job in the background (inline without Redis); commit before calling this."""
    assert has_app_context(), "jobs are enqueued from inside an app context"
    path = job_path(func)
    return runner().submit(path, args, kwargs, queue=queue, job_id=job_id, request_id=_request_id())


def schedule_every(app: Flask, func: str | Callable[..., Any], *, seconds: int, queue: str) -> None:
    """Have the scheduler enqueue a job every `seconds` (see `flask jobs scheduler`)."""
    if seconds < 1:
        raise ValueError("a periodic job needs an interval of at least one second")
    periodic: list[PeriodicJob] = app.extensions["periodic_jobs"]
    periodic.append(PeriodicJob(job_path(func), seconds, queue))


def periodic_jobs(app: Flask) -> list[PeriodicJob]:
    """Return the jobs the scheduler enqueues, in registration order."""
    return list(app.extensions["periodic_jobs"])


class AppWorker(Worker):
    """An RQ worker that performs every job inside an app context of its Flask app."""

    flask_app: Flask

    def perform_job(self, job: Any, queue: Any, execution: Any) -> bool:
        """Perform the job in an app context; a forked horse first drops inherited connections."""
        if self.is_horse:
            # Connections opened before the fork belong to the parent: never share them.
            self.flask_app.extensions["db_engine"].dispose(close=False)
        with self.flask_app.app_context():
            done: bool = super().perform_job(job, queue, execution)
            return done


def _rq_runner() -> RqRunner:
    current = runner()
    if not isinstance(current, RqRunner):
        raise click.ClickException("Background jobs need Redis: set REDIS_URL.")
    return current


@jobs_cli.command("worker")
@click.argument("queues", nargs=-1)
@click.option("--burst", is_flag=True, help="Stop once the queues are empty.")
def worker_command(queues: tuple[str, ...], burst: bool) -> None:
    """Work on the app's queues (default: all of them) until stopped."""
    rq = _rq_runner()
    names = queues or QUEUE_NAMES
    try:
        chosen = [rq.queue(name) for name in names]
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="QUEUES") from None
    worker = AppWorker(chosen, connection=rq.connection)
    worker.flask_app = current_app._get_current_object()  # type: ignore[attr-defined]
    worker.work(burst=burst, logging_level="INFO")


@jobs_cli.command("scheduler")
@click.option("--once", is_flag=True, help="Run or enqueue each periodic job once, then stop.")
def scheduler_command(once: bool) -> None:
    """Enqueue the periodic jobs at their intervals (run one per deployment).

    Without Redis the jobs run inline in this process instead, so the embedded mode
    closes its billing periods too; `--once` suits a system cron entry.
    """
    current, jobs = runner(), periodic_jobs(current_app)
    if isinstance(current, InlineRunner):
        _run_inline_schedule(current, jobs, once=once)
    elif once:
        for job in jobs:
            current.submit(job.func_path, (), {}, queue=job.queue, job_id=None, request_id=None)
    else:
        _cron(current, jobs).start()  # type: ignore[no-untyped-call]


def _cron(rq: RqRunner, jobs: list[PeriodicJob]) -> CronScheduler:
    scheduler = CronScheduler(connection=rq.connection)
    for job in jobs:
        scheduler.register(
            run_job,
            queue_name=rq.queue_name(job.queue),
            args=(job.func_path, (), {}, None),
            interval=job.seconds,
            job_timeout=QUEUE_TIMEOUTS[job.queue],
            name=f"{rq.prefix}{job.func_path}",
        )
    return scheduler


def _run_inline_schedule(inline: InlineRunner, jobs: list[PeriodicJob], *, once: bool) -> None:
    """Run each periodic job now and then at its interval, in this process (no Redis)."""
    next_run = dict.fromkeys(range(len(jobs)), 0.0)
    while True:
        for index, job in enumerate(jobs):
            if time.monotonic() >= next_run[index]:
                handle = inline.submit(
                    job.func_path, (), {}, queue=job.queue, job_id=None, request_id=None
                )
                click.echo(f"{job.func_path}: {handle.status}")
                db.session.remove()  # hold no transaction while waiting
                next_run[index] = time.monotonic() + job.seconds
        if once or not jobs:
            return
        time.sleep(max(0.5, min(next_run.values()) - time.monotonic()))
