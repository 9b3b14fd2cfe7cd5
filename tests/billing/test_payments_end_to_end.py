"""Collecting invoices end to end: localstripe, PostgreSQL, Redis, a real RQ worker, a real server.

The app serves on loopback (a werkzeug server in a thread) and localstripe sends it signed
`payment_intent.*` webhooks, a second after each charge, signed with the wall clock. Billing
time is a FrozenClock the app server reads and the test moves; the worker, a `flask jobs
worker --burst` process, relays the outbox, charges finalized invoices and runs the dunning
sweep as of the moved time (`run_dunning(at=…)`). A vendor endpoint on loopback takes the
vendor's webhooks.

Two firms of one vendor's plan (¥100 + 3 seats × ¥30 = ¥190.00 a month): one card pays at
once; the other declines until the firm puts in a good card, after dunning has retried on
days 1, 3 and 7 and suspended the subscription after the 14-day grace.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import redis
import sqlalchemy as sa
from flask import Flask
from rq import Queue
from sqlalchemy.orm import Session
from werkzeug.serving import BaseWSGIServer, make_server

from app import create_app
from billing.models import Invoice, InvoiceStatus, Subscription, SubscriptionStatus
from billing.payments.attempt_models import AttemptStatus, DunningState, PaymentAttempt, StripeEvent
from billing.services import subscriptions as subs
from catalog.models import Plan
from marketplace import migrate
from marketplace.accounts.models import User
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.events.models import OutboxEvent
from marketplace.extensions import db
from marketplace.jobs import enqueue
from marketplace.mail.models import OutboundEmail
from marketplace.orgs.models import Membership, Role
from marketplace.settings import PROJECT_ROOT
from marketplace.webhooks import services as endpoints
from marketplace.webhooks.models import DeliveryStatus, WebhookDelivery
from tests import backends
from tests.billing.conftest import TEAM, firm, new_plan
from tests.billing.payments_world import (
    DECLINED_CARD,
    GOOD_CARD,
    give_card,
    stripe_client,
)
from tests.billing.test_close import invoices_of, run
from tests.billing.test_jobs import worker_env
from tests.conftest import BACKENDS, RUN_PREFIX, make_test_settings
from tests.factories import make_member
from tests.localstripe import TEST_SECRET_KEY, LocalStripe
from tests.webhooks.conftest import Receiver

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

WEBHOOK_SECRET = "whsec_e2e_yunshi"
STRIPE_HOOK = f"yunshi-e2e-{uuid.uuid4().hex[:6]}"
INTENT_EVENTS = ["payment_intent.succeeded", "payment_intent.payment_failed"]
VENDOR_EVENTS = [
    "invoice.finalized",
    "invoice.paid",
    "invoice.payment_failed",
    "subscription.past_due",
    "subscription.suspended",
    "subscription.reinstated",
]
DAY, GRACE = timedelta(days=1), timedelta(hours=48)
DUNNING_JOB = "billing.payments.dunning.run_dunning"
COLLECT_JOB = "billing.payments.collection.collect_invoice"
RELAY_JOB = "marketplace.webhooks.relay.relay_outbox"
ACTOR = Actor(None)
WAIT_SECONDS = 30
WORKER_TIMEOUT = 120


@dataclass
class World:
    """The app and its server, the worker's database and queues, localstripe, the vendor."""

    app: Flask
    clock: FrozenClock
    database_url: str
    prefix: str
    localstripe: LocalStripe
    receiver: Receiver
    plan_id: int
    vendor_id: int

    def session(self) -> Session:
        """Return the session of the app context the caller opened."""
        return db.session()


def _register_stripe_webhook(localstripe: LocalStripe, url: str, events: list[str]) -> None:
    """Have localstripe sign and POST its events of these types to url (none: stop)."""
    body = json.dumps({"url": url, "secret": WEBHOOK_SECRET, "events": events}).encode()
    request = urllib.request.Request(
        f"{localstripe.url}/_config/webhooks/{STRIPE_HOOK}",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert answer.status == 200


def _serve(app: Flask) -> tuple[BaseWSGIServer, str]:
    server = make_server("127.0.0.1", backends.free_port(), app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def _vendor_and_plan(app: Flask, clock: FrozenClock, receiver: Receiver) -> tuple[int, int]:
    """Publish the plan and give its vendor a live endpoint that takes the billing events."""
    with app.app_context():
        plan = new_plan(TEAM, auto_activate=True)
        vendor_id = plan.listing.vendor_id
        fields = {"url": receiver.url, "event_types": VENDOR_EVENTS}
        endpoints.create_endpoint(
            db.session(), clock, ACTOR, endpoints.Owner(vendor_id), fields, sandbox=False
        )
        db.session.commit()
        return plan.id, vendor_id


@pytest.fixture(scope="module")
def world(localstripe: LocalStripe) -> Iterator[World]:
    """Make a database, an app server on it that localstripe posts to, a vendor receiver."""
    if not (BACKENDS.has_postgres and BACKENDS.has_redis):
        pytest.skip("the end-to-end run needs PostgreSQL and Redis")
    prefix = f"{RUN_PREFIX}-pay-{uuid.uuid4().hex[:6]}:"
    receiver = Receiver(backends.free_port())
    receiver.start()
    with backends.scratch_database("pay_e2e", has_postgres=True) as url:
        migrate.upgrade(url)
        settings = dataclasses.replace(
            make_test_settings(url, backends.REDIS_URL),
            job_queue_prefix=prefix,
            stripe_api_key=TEST_SECRET_KEY,
            stripe_api_base=localstripe.url,
            stripe_webhook_secret=WEBHOOK_SECRET,
            # A real server answers whatever host it is reached by.
            extra={"TESTING": True, "WTF_CSRF_ENABLED": False},
        )
        app = create_app(settings)
        clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
        app.extensions["clock"] = clock
        server, base = _serve(app)
        _register_stripe_webhook(localstripe, f"{base}/stripe/webhook", INTENT_EVENTS)
        try:
            plan_id, vendor_id = _vendor_and_plan(app, clock, receiver)
            yield World(app, clock, url, prefix, localstripe, receiver, plan_id, vendor_id)
        finally:
            _register_stripe_webhook(localstripe, f"{base}/stripe/webhook", [])
            server.shutdown()
            receiver.stop()
            connection = redis.Redis.from_url(backends.REDIS_URL)
            for name in ("default", "billing"):
                Queue(f"{prefix}{name}", connection=connection).delete(delete_jobs=True)
            for key in connection.scan_iter(f"{prefix}*"):
                connection.delete(key)
            app.extensions["db_engine"].dispose()


def run_worker(world: World) -> subprocess.CompletedProcess[str]:
    """Run `flask jobs worker --burst` on both queues, in its own process, till they are empty."""
    env = worker_env(
        world.database_url,
        world.prefix,
        STRIPE_API_KEY=TEST_SECRET_KEY,
        STRIPE_API_BASE=world.localstripe.url,
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        WEBHOOK_TIMEOUT="5",
    )
    done = subprocess.run(
        [sys.executable, "-m", "flask", "jobs", "worker", "--burst", "default", "billing"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def relay_tick(world: World) -> None:
    """Queue the outbox relay, as the scheduler does every minute.

    Invoice events are written to the outbox in bulk (billing.services.bulk), and such a
    commit does not ask for a relay itself: the periodic relay is what picks them up.
    """
    with world.app.app_context():
        enqueue(RELAY_JOB)


def eventually(world: World, check: Callable[[Session], bool], what: str) -> None:
    """Wait until check holds on freshly read rows (a webhook is on its way), or fail."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        with world.app.app_context():
            if check(world.session()):
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {WAIT_SECONDS} s for {what}")
        time.sleep(0.2)


def subscribed_firm(world: World, card: str, finalize_at: datetime) -> tuple[int, int, int]:
    """Subscribe a firm with a card and finalize its first invoice at finalize_at.

    The firm has an owner, a billing member and a plain member. Returns the ids of the firm,
    the invoice and the subscription; the finalization's commit asks for an outbox relay.
    """
    clock = world.clock
    with world.app.app_context():
        session = world.session()
        org = firm()
        make_member(org, role=Role.BILLING)
        make_member(org, role=Role.MEMBER)
        give_card(session, stripe_client(world.localstripe), org.id, card)
        plan = session.get(Plan, world.plan_id)
        assert plan is not None
        clock.set(finalize_at - GRACE - timedelta(minutes=5))
        subscription = subs.subscribe(session, clock, ACTOR, org.id, plan.id, 3)
        session.commit()
        run(session, clock, finalize_at)  # close, then finalize once the grace is over
        [invoice] = invoices_of(session, subscription)
        assert invoice.status == InvoiceStatus.OPEN and invoice.amount_due_fen == 19000
        assert invoice.finalized_at == finalize_at and not invoice.sandbox
        return org.id, invoice.id, subscription.id


def attempts(session: Session, invoice_id: int) -> list[PaymentAttempt]:
    """Return an invoice's payment attempts in order."""
    stmt = sa.select(PaymentAttempt).where(PaymentAttempt.invoice_id == invoice_id)
    return list(session.scalars(stmt.order_by(PaymentAttempt.number)))


def settled(invoice_id: int, count: int) -> Callable[[Session], bool]:
    """Tell whether an invoice has `count` attempts, all settled (their webhooks applied)."""

    def check(session: Session) -> bool:
        made = attempts(session, invoice_id)
        return len(made) == count and all(a.settled_at is not None for a in made)

    return check


def status_of(session: Session, invoice_id: int) -> tuple[str, str]:
    """Return the (invoice status, subscription status) of an invoice."""
    invoice = session.get(Invoice, invoice_id)
    assert invoice is not None
    subscription = session.get(Subscription, invoice.subscription_id)
    assert subscription is not None
    return invoice.status, subscription.status


def mails_to(session: Session, org_id: int, kind: str) -> list[str]:
    """Return the addresses of the firm's members a kind of mail went to, sorted."""
    members = (
        sa.select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == org_id)
    )
    stmt = sa.select(OutboundEmail.to_address).where(
        OutboundEmail.kind == kind, OutboundEmail.to_address.in_(members)
    )
    return sorted(session.scalars(stmt))


def billing_contacts(session: Session, org_id: int) -> list[str]:
    """Return the e-mail addresses of the firm's owner and billing member, sorted."""
    stmt = (
        sa.select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organization_id == org_id,
            Membership.role.in_([Role.OWNER, Role.BILLING]),
        )
    )
    return sorted(session.scalars(stmt))


def dunning_at(world: World, at: datetime) -> None:
    """Move billing time to `at` and have the worker run the dunning sweep as of then."""
    world.clock.set(at)
    with world.app.app_context():
        enqueue(DUNNING_JOB, at=at.isoformat(), queue="billing")
    run_worker(world)


def outbox(session: Session, vendor_id: int, subscription_id: int) -> list[str]:
    """Return the types of the vendor's outbox events about a subscription, oldest first."""
    stmt = (
        sa.select(OutboxEvent.type)
        .where(
            OutboxEvent.organization_id == vendor_id,
            OutboxEvent.type.in_(VENDOR_EVENTS),
            OutboxEvent.payload["subscription_id"].as_integer() == subscription_id,
        )
        .order_by(OutboxEvent.id)
    )
    return list(session.scalars(stmt))


def delivered(world: World, subscription_id: int) -> list[str]:
    """Return the types of the webhooks about a subscription the vendor got, in its order."""
    bodies = [b for b in world.receiver.bodies() if b["data"]["subscription_id"] == subscription_id]
    return [b["type"] for b in sorted(bodies, key=lambda body: body["sequence"])]


def test_a_finalized_invoice_is_paid_by_the_webhook_localstripe_signs(world: World) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0)
    firm_id, invoice_id, subscription_id = subscribed_firm(world, GOOD_CARD, t0)

    # The worker relays invoice.finalized, whose handler queues the charge, and charges.
    run_worker(world)
    with world.app.app_context():
        [attempt] = attempts(world.session(), invoice_id)
        assert attempt.stripe_payment_intent_id and attempt.amount_fen == 19000
        assert attempt.status == AttemptStatus.SUCCEEDED  # what Stripe answered the job

    # The invoice is paid by localstripe's signed webhook to the app server, not by the job.
    eventually(world, settled(invoice_id, 1), "the payment_intent.succeeded webhook")
    with world.app.app_context():
        session = world.session()
        assert status_of(session, invoice_id) == (InvoiceStatus.PAID, SubscriptionStatus.ACTIVE)
        invoice = session.get(Invoice, invoice_id)
        assert invoice is not None and invoice.paid_at == t0  # billing time, not the wall's
        [event] = session.scalars(
            sa.select(StripeEvent).where(
                StripeEvent.payment_intent_id == attempt.stripe_payment_intent_id
            )
        ).all()
        assert (event.type, event.outcome) == ("payment_intent.succeeded", "paid")
        assert event.id.startswith("evt_")
        intent = stripe_client(world.localstripe).v1.payment_intents.retrieve(
            str(attempt.stripe_payment_intent_id)
        )
        assert (intent.status, intent.amount, intent.currency) == ("succeeded", 19000, "cny")
        assert intent.metadata["invoice_id"] == str(invoice_id)
        paid = ["invoice.finalized", "invoice.paid"]
        assert outbox(session, world.vendor_id, subscription_id) == paid
        assert mails_to(session, firm_id, "payment_failed") == []

    relay_tick(world)
    run_worker(world)  # relays invoice.paid and delivers the vendor's webhooks
    assert delivered(world, subscription_id) == paid


def test_a_declining_card_is_dunned_suspended_and_reinstated_once_paid(world: World) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0)
    firm_id, invoice_id, subscription_id = subscribed_firm(world, DECLINED_CARD, t0)

    # Day 0: the first charge is declined; the webhook starts dunning at billing time t0.
    run_worker(world)
    eventually(world, settled(invoice_id, 1), "the first payment_intent.payment_failed webhook")
    with world.app.app_context():
        session = world.session()
        assert status_of(session, invoice_id) == (InvoiceStatus.OPEN, SubscriptionStatus.PAST_DUE)
        state = session.get(DunningState, invoice_id)
        assert state is not None and state.started_at == t0
        assert (state.failed_attempts, state.next_retry_at) == (1, t0 + DAY)
        assert state.last_failure_code == "card_declined"
        contacts = billing_contacts(session, firm_id)
        assert len(contacts) == 2  # the owner and the billing member, not the plain member
        assert mails_to(session, firm_id, "payment_failed") == contacts

    # Days 1, 3 and 7: the sweep retries; billing time runs days ahead of the wall clock
    # that localstripe signs with, and every webhook is still taken.
    for number, (day, next_day) in enumerate([(1, 3), (3, 7), (7, None)], start=2):
        dunning_at(world, t0 + day * DAY - timedelta(minutes=1))  # not due yet
        with world.app.app_context():
            assert len(attempts(world.session(), invoice_id)) == number - 1
        dunning_at(world, t0 + day * DAY)
        eventually(world, settled(invoice_id, number), f"the failure of attempt {number}")
        with world.app.app_context():
            session = world.session()
            state = session.get(DunningState, invoice_id)
            assert state is not None and state.failed_attempts == number
            expected = None if next_day is None else t0 + next_day * DAY
            assert state.next_retry_at == expected
            assert [a.created_at for a in attempts(session, invoice_id)][-1] == t0 + day * DAY
            assert status_of(session, invoice_id)[1] == SubscriptionStatus.PAST_DUE

    # Still past due the day before the grace is over; suspended when it is.
    dunning_at(world, t0 + 14 * DAY - timedelta(minutes=1))
    with world.app.app_context():
        assert status_of(world.session(), invoice_id)[1] == SubscriptionStatus.PAST_DUE
    dunning_at(world, t0 + 14 * DAY)
    with world.app.app_context():
        session = world.session()
        assert status_of(session, invoice_id) == (InvoiceStatus.OPEN, SubscriptionStatus.SUSPENDED)
        assert mails_to(session, firm_id, "service_suspended") == billing_contacts(session, firm_id)
        assert len(mails_to(session, firm_id, "payment_failed")) == 4 * 2
        assert len(attempts(session, invoice_id)) == 4

    # The firm puts in a good card as its default and pays: a retry on the worker.
    world.clock.set(t0 + 15 * DAY)
    with world.app.app_context():
        give_card(world.session(), stripe_client(world.localstripe), firm_id, GOOD_CARD)
        db.session.commit()
        enqueue(COLLECT_JOB, invoice_id, retry=True, queue="billing")
    run_worker(world)
    eventually(world, settled(invoice_id, 5), "the payment_intent.succeeded webhook")
    with world.app.app_context():
        session = world.session()
        assert status_of(session, invoice_id) == (InvoiceStatus.PAID, SubscriptionStatus.ACTIVE)
        made = attempts(session, invoice_id)
        assert [a.status for a in made] == [AttemptStatus.FAILED] * 4 + [AttemptStatus.SUCCEEDED]
        state = session.get(DunningState, invoice_id)
        assert state is not None and state.resolved_at == t0 + 15 * DAY
        assert mails_to(session, firm_id, "payment_received") == billing_contacts(session, firm_id)
        vendor_side = outbox(session, world.vendor_id, subscription_id)

    # The vendor's outbox holds each step, in order; the relay delivers them to its endpoint.
    steps = [
        "invoice.finalized",
        "invoice.payment_failed",
        "subscription.past_due",
        *["invoice.payment_failed"] * 3,
        "subscription.suspended",
        "subscription.reinstated",
        "invoice.paid",
    ]
    assert vendor_side == steps
    relay_tick(world)
    run_worker(world)
    assert delivered(world, subscription_id) == steps
    with world.app.app_context():
        statuses = world.session().scalars(sa.select(WebhookDelivery.status)).all()
        assert set(statuses) == {DeliveryStatus.SUCCEEDED}
