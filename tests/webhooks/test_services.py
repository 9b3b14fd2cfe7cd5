"""The webhook services: rotation, failing and recovering endpoints, relay, routing, URLs.

Messages are read in the default locale (zh_CN), as a job or a CLI run would see them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.mail.models import OutboundEmail
from marketplace.webhooks import redelivery, services
from marketplace.webhooks.delivery import UrlRefused, check_resolved_addresses, post_webhook
from marketplace.webhooks.models import (
    AttemptOutcome,
    DeliveryStatus,
    EndpointStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from marketplace.webhooks.relay import dispatch_due_deliveries, relay_outbox
from marketplace.webhooks.schedule import RETRY_WINDOW
from marketplace.webhooks.services import Owner
from tests.sso.conftest import Vendor, make_vendor
from tests.webhooks.conftest import (
    ACTOR,
    Receiver,
    endpoint_for,
    independent_check,
    subscription_event,
)

pytestmark = pytest.mark.usefixtures("inline_jobs")
FAILING_MAIL = "webhook_endpoint_failing"


def deliveries(session: Session, endpoint_id: int | None = None) -> list[WebhookDelivery]:
    """Return the deliveries (of one endpoint), oldest first, read afresh."""
    session.expire_all()
    stmt = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
    if endpoint_id is not None:
        stmt = stmt.where(WebhookDelivery.endpoint_id == endpoint_id)
    return list(session.scalars(stmt))


def attempts(session: Session) -> list[WebhookAttempt]:
    """Return every attempt, oldest first."""
    return list(session.scalars(sa.select(WebhookAttempt).order_by(WebhookAttempt.id)))


def failing_mails(session: Session) -> list[str]:
    """Return the addresses told that an endpoint is failing."""
    stmt = sa.select(OutboundEmail.to_address).where(OutboundEmail.kind == FAILING_MAIL)
    return sorted(session.scalars(stmt))


def retry_until(clock: FrozenClock, done: Callable[[], bool], limit: int = 200) -> int:
    """Move time on an hour at a time, running due deliveries, until done(); return steps."""
    for step in range(1, limit + 1):
        clock.advance(timedelta(hours=1))
        dispatch_due_deliveries()
        if done():
            return step
    raise AssertionError("never done")


def fail_for_good(session: Session, clock: FrozenClock, vendor: Vendor, url: str) -> int:
    """Register an endpoint at a closed port, record an event, retry until it fails."""
    endpoint = endpoint_for(session, clock, vendor, url).endpoint
    subscription_event(session, clock, vendor)
    relay_outbox()
    retry_until(clock, lambda: session.get(WebhookEndpoint, endpoint.id).status != "enabled")
    return endpoint.id


def test_during_the_overlap_both_secrets_sign_and_after_it_only_the_new_one(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    receiver.start()
    issued = endpoint_for(session, clock, vendor, receiver.url)
    rotated = services.rotate_secret(
        session, clock, ACTOR, Owner(vendor.org.id), issued.endpoint.id, overlap=timedelta(hours=2)
    )
    subscription_event(session, clock, vendor)
    relay_outbox()
    clock.advance(timedelta(hours=2))
    subscription_event(session, clock, vendor, "subscription.activated")
    relay_outbox()

    during, after = receiver.received
    assert rotated.secret != issued.secret
    independent_check(rotated.secret, during["signature"], during["body"])
    independent_check(issued.secret, during["signature"], during["body"])
    independent_check(rotated.secret, after["signature"], after["body"])
    with pytest.raises(AssertionError):
        independent_check(issued.secret, after["signature"], after["body"])


def test_a_rotation_without_overlap_retires_the_old_secret_at_once(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    receiver.start()
    issued = endpoint_for(session, clock, vendor, receiver.url)
    rotated = services.rotate_secret(
        session, clock, ACTOR, Owner(vendor.org.id), issued.endpoint.id, overlap=timedelta(0)
    )
    subscription_event(session, clock, vendor)
    relay_outbox()

    [request] = receiver.received
    assert request["signature"].count("v1=") == 1
    independent_check(rotated.secret, request["signature"], request["body"])
    with pytest.raises(AssertionError):
        independent_check(issued.secret, request["signature"], request["body"])


@pytest.mark.parametrize("hours", [-1, 169])
def test_an_overlap_outside_0_to_168_hours_is_refused(
    session: Session, clock: FrozenClock, vendor: Vendor, hours: int
) -> None:
    endpoint = endpoint_for(session, clock, vendor, "http://127.0.0.1:9/hooks").endpoint
    sealed = endpoint.secret_sealed

    with pytest.raises(ValidationFailed) as refused:
        services.rotate_secret(
            session, clock, ACTOR, Owner(vendor.org.id), endpoint.id, overlap=timedelta(hours=hours)
        )

    assert "overlap_hours" in refused.value.errors
    assert session.get(WebhookEndpoint, endpoint.id).secret_sealed == sealed


def test_after_three_days_of_failures_the_endpoint_fails_and_managers_get_one_email(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    endpoint = endpoint_for(session, clock, vendor, receiver.url).endpoint
    subscription_event(session, clock, vendor)
    subscription_event(session, clock, vendor, "subscription.activated")
    started = clock.now()
    relay_outbox()  # the port is closed: every attempt is refused

    retry_until(clock, lambda: clock.now() - started >= RETRY_WINDOW - timedelta(hours=1))
    still_enabled = session.get(WebhookEndpoint, endpoint.id).status
    retry_until(clock, lambda: session.get(WebhookEndpoint, endpoint.id).status == "failing")
    failed_at = clock.now()
    retry_until(clock, lambda: clock.now() - failed_at >= timedelta(days=2))

    assert still_enabled == EndpointStatus.ENABLED
    session.refresh(endpoint)
    assert endpoint.failing_since == endpoint.failure_notified_at == failed_at
    assert failing_mails(session) == sorted(vendor.users[role].email for role in ("owner", "admin"))
    # Jitter decides which of the two events runs out of retries first; that one fails.
    first, second = sorted(
        deliveries(session),
        key=lambda d: d.status != DeliveryStatus.FAILED or d.next_attempt_at is not None,
    )
    assert first.status == DeliveryStatus.FAILED and first.next_attempt_at is None
    assert first.last_attempt_at - first.window_started_at >= RETRY_WINDOW
    # The other event waits for the endpoint to recover rather than failing in turn.
    assert second.status in {DeliveryStatus.RETRYING, DeliveryStatus.FAILED}
    assert second.last_attempt_at <= failed_at
    assert {a.outcome for a in attempts(session)} == {AttemptOutcome.CONNECTION_ERROR}


def test_a_failing_endpoint_gets_no_new_events_until_a_test_event_succeeds(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    endpoint_id = fail_for_good(session, clock, vendor, receiver.url)
    held = subscription_event(session, clock, vendor, "subscription.cancelled")
    relay_outbox()
    clock.advance(timedelta(hours=6))
    dispatch_due_deliveries()
    waiting = [d.status for d in deliveries(session) if d.event_id == held.id]
    receiver.start()

    test = redelivery.send_test_event(session, clock, ACTOR, Owner(vendor.org.id), endpoint_id)

    assert waiting == [DeliveryStatus.PENDING]
    assert session.get(WebhookEndpoint, endpoint_id).status == EndpointStatus.ENABLED
    assert [b["type"] for b in receiver.bodies()] == ["webhook.test", "subscription.cancelled"]
    assert {d.event_id: d.status for d in deliveries(session)}[held.id] == "succeeded"
    assert test.status == DeliveryStatus.SUCCEEDED
    assert len(failing_mails(session)) == 2  # no more mail on recovery


def test_a_failing_endpoint_is_enabled_again_by_a_redelivery_that_succeeds(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    endpoint_id = fail_for_good(session, clock, vendor, receiver.url)
    [failed] = deliveries(session)
    receiver.start()

    [again] = redelivery.redeliver_event(
        session, clock, ACTOR, Owner(vendor.org.id), failed.event_id, endpoint_id=endpoint_id
    )

    assert again.id == failed.id and again.status == DeliveryStatus.SUCCEEDED
    assert session.get(WebhookEndpoint, endpoint_id).status == EndpointStatus.ENABLED
    assert attempts(session)[-1].manual and attempts(session)[-1].outcome == "succeeded"
    assert [b["id"] for b in receiver.bodies()] == [failed.event_id]


def test_a_failing_test_event_leaves_the_endpoint_failing_and_sends_no_second_email(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    endpoint_id = fail_for_good(session, clock, vendor, receiver.url)

    test = redelivery.send_test_event(session, clock, ACTOR, Owner(vendor.org.id), endpoint_id)

    assert test.status == DeliveryStatus.FAILED  # a test is tried once
    assert session.get(WebhookEndpoint, endpoint_id).status == EndpointStatus.FAILING
    assert len(failing_mails(session)) == 2


def test_a_second_relay_run_adds_no_delivery_twice(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    receiver.start()
    endpoint_for(session, clock, vendor, receiver.url)
    event = subscription_event(session, clock, vendor)
    first = relay_outbox()
    again = relay_outbox()
    # As if a relay crashed after fanning the event out but before marking it relayed.
    event.delivered_at = None
    session.commit()
    rerun = relay_outbox()

    assert first == {"events": 1, "deliveries": 1}
    assert again == {"events": 0, "deliveries": 0}
    assert rerun == {"events": 1, "deliveries": 0}
    assert len(deliveries(session)) == 1 and len(receiver.received) == 1


def test_sandbox_events_go_only_to_sandbox_endpoints_and_live_ones_only_to_live(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    receiver.start()
    live = endpoint_for(session, clock, vendor, receiver.url).endpoint
    sandbox = endpoint_for(session, clock, vendor, receiver.url + "/sandbox", sandbox=True).endpoint
    live_event = subscription_event(session, clock, vendor, subscription_id=1)
    sandbox_event = subscription_event(session, clock, vendor, subscription_id=2, sandbox=True)

    relay_outbox()

    assert [d.event_id for d in deliveries(session, live.id)] == [live_event.id]
    assert [d.event_id for d in deliveries(session, sandbox.id)] == [sandbox_event.id]
    assert sorted((b["id"], b["sandbox"]) for b in receiver.bodies()) == [
        (live_event.id, False),
        (sandbox_event.id, True),
    ]


def test_events_go_only_to_endpoints_of_their_vendor_that_take_their_type(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    receiver.start()
    other = make_vendor("other vendor")
    endpoint_for(session, clock, other, receiver.url)
    takes_created = endpoint_for(session, clock, vendor, receiver.url, types=["invoice.paid"])
    subscription_event(session, clock, vendor)

    assert relay_outbox() == {"events": 1, "deliveries": 0}
    assert deliveries(session) == [] and receiver.received == []
    assert takes_created.endpoint.event_types == ["invoice.paid"]


def test_a_disabled_endpoint_gets_nothing_and_a_failing_one_waits(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    receiver.start()
    endpoint = endpoint_for(session, clock, vendor, receiver.url).endpoint
    owner = Owner(vendor.org.id)
    services.update_endpoint(session, clock, ACTOR, owner, endpoint.id, {"enabled": False})
    subscription_event(session, clock, vendor)

    relay_outbox()

    assert deliveries(session) == [] and receiver.received == []
    with pytest.raises(Conflict):
        redelivery.send_test_event(session, clock, ACTOR, owner, endpoint.id)


def _production(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = dataclasses.replace(app.config["SETTINGS"], env="production")
    monkeypatch.setitem(app.config, "SETTINGS", settings)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://example.com/hooks", "https"),
        ("http://127.0.0.1:8000/hooks", "https"),
        ("https://127.0.0.1/hooks", "私有"),
        ("https://localhost/hooks", "私有"),
        ("https://10.1.2.3/hooks", "私有"),
        ("https://192.168.0.9/hooks", "私有"),
        ("https://169.254.169.254/latest", "私有"),
        ("https://[::1]/hooks", "私有"),
        ("https://[fd00::1]/hooks", "私有"),
    ],
)
def test_production_takes_only_https_to_public_addresses(
    app: Flask,
    session: Session,
    clock: FrozenClock,
    vendor: Vendor,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    problem: str,
) -> None:
    _production(app, monkeypatch)

    with pytest.raises(ValidationFailed) as refused:
        endpoint_for(session, clock, vendor, url)

    [message] = refused.value.errors["url"]
    assert problem in message
    assert session.scalar(sa.select(sa.func.count(WebhookEndpoint.id))) == 0


def test_production_takes_a_public_https_url(
    app: Flask,
    session: Session,
    clock: FrozenClock,
    vendor: Vendor,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _production(app, monkeypatch)

    issued = endpoint_for(session, clock, vendor, "https://hooks.example.com/yunshi")

    assert issued.endpoint.url == "https://hooks.example.com/yunshi"
    assert issued.secret.startswith("whsec_")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/hooks", "http://localhost/hooks", "https://10.1.2.3/hooks"]
)
def test_outside_production_loopback_http_and_private_addresses_are_taken(
    session: Session, clock: FrozenClock, vendor: Vendor, url: str
) -> None:
    assert endpoint_for(session, clock, vendor, url).endpoint.url == url


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://example.com/hooks", "https"),
        ("http://10.1.2.3/hooks", "https"),
        ("ftp://example.com/hooks", "有效"),
        ("https://user:pw@example.com/hooks", "有效"),
        ("https:///nohost", "有效"),
        ("https://example.com:0/hooks", "有效"),
        ("", "2000"),
        ("https://example.com/" + "a" * 2000, "2000"),
    ],
)
def test_outside_production_other_bad_urls_are_refused(
    session: Session, clock: FrozenClock, vendor: Vendor, url: str, problem: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        endpoint_for(session, clock, vendor, url)

    assert problem in refused.value.errors["url"][0]


def test_in_production_a_host_resolving_to_a_private_address_is_not_posted_to() -> None:
    with pytest.raises(UrlRefused) as refused:
        check_resolved_addresses("localhost", 443)
    result = post_webhook("https://localhost:9/hooks", b"{}", {}, timeout=1, production=True)

    assert refused.value.code == "private"
    assert result.outcome == AttemptOutcome.REFUSED and result.status_code is None


def test_a_sent_event_is_redelivered_by_hand_to_its_endpoint(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    receiver.start()
    endpoint = endpoint_for(session, clock, vendor, receiver.url).endpoint
    event = subscription_event(session, clock, vendor)
    relay_outbox()
    clock.advance(timedelta(hours=1))

    [delivery] = redelivery.redeliver_event(session, clock, ACTOR, Owner(vendor.org.id), event.id)

    assert delivery.endpoint_id == endpoint.id and delivery.status == DeliveryStatus.SUCCEEDED
    assert [b["id"] for b in receiver.bodies()] == [event.id, event.id]
    assert [(a.number, a.manual) for a in attempts(session)] == [(1, False), (2, True)]
    assert len(deliveries(session)) == 1


def test_a_redelivery_reaches_endpoints_registered_after_the_event(
    session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    receiver.start()
    event = subscription_event(session, clock, vendor)
    relay_outbox()
    endpoint = endpoint_for(session, clock, vendor, receiver.url).endpoint

    [delivery] = redelivery.redeliver_event(session, clock, ACTOR, Owner(vendor.org.id), event.id)

    assert delivery.endpoint_id == endpoint.id
    assert [b["id"] for b in receiver.bodies()] == [event.id]


def test_a_redelivery_of_another_vendors_event_or_to_its_endpoint_is_not_found(
    session: Session, clock: FrozenClock, vendor: Vendor
) -> None:
    other = make_vendor("other vendor")
    theirs = endpoint_for(session, clock, other, "http://127.0.0.1:9/hooks").endpoint
    their_event = subscription_event(session, clock, other)
    mine = subscription_event(session, clock, vendor)
    endpoint_for(session, clock, vendor, "http://127.0.0.1:9/hooks")
    owner = Owner(vendor.org.id)

    with pytest.raises(NotFound):
        redelivery.redeliver_event(session, clock, ACTOR, owner, their_event.id)
    with pytest.raises(NotFound):
        redelivery.redeliver_event(session, clock, ACTOR, owner, mine.id, endpoint_id=theirs.id)
    with pytest.raises(NotFound):
        redelivery.redeliver_event(session, clock, ACTOR, Owner(vendor.org.id, True), mine.id)


def test_a_redelivery_with_no_endpoint_to_take_it_is_refused(
    session: Session, clock: FrozenClock, vendor: Vendor
) -> None:
    endpoint_for(session, clock, vendor, "http://127.0.0.1:9/hooks", types=["invoice.paid"])
    event = subscription_event(session, clock, vendor)

    with pytest.raises(Conflict):
        redelivery.redeliver_event(session, clock, ACTOR, Owner(vendor.org.id), event.id)
    assert deliveries(session) == []
