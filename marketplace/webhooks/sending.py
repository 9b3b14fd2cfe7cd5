"""Make one attempt of a delivery: claim it, POST it signed, log how it went, plan the next.

The claim commits before the request goes out and writes the attempt into the log, so a
worker that dies mid-request leaves a trace: after a lease the delivery is due again and
the unfinished attempt is logged as interrupted. No row stays locked during the request.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace.clock import Clock, current_clock
from marketplace.extensions import db
from marketplace.logs import get_logger
from marketplace.mail.services import queue_email
from marketplace.orgs.models import Membership
from marketplace.orgs.roles import MANAGER_ROLES
from marketplace.webhooks import sealing
from marketplace.webhooks.delivery import HttpResult, post_webhook
from marketplace.webhooks.event_types import TEST_EVENT_TYPE
from marketplace.webhooks.models import (
    AttemptOutcome,
    DeliveryStatus,
    EndpointStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    event_body,
)
from marketplace.webhooks.relay import enqueue_deliveries, release_held_deliveries
from marketplace.webhooks.schedule import gives_up, retry_delay
from marketplace.webhooks.signing import signature_header

DEFAULT_TIMEOUT_SECONDS = 10.0
# Longer than any request may take: past it, a claimed delivery's worker is presumed gone.
CLAIM_LEASE = timedelta(minutes=5)
EXCERPT_CHARS = 1000
log = get_logger(__name__)


@dataclass(frozen=True)
class Claim:
    """A delivery taken for one attempt, with the request to make."""

    delivery_id: int
    attempt_id: int
    url: str
    body: bytes
    headers: dict[str, str]


def signing_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """Return the secrets to sign with: the current one, and a rotated one still valid."""
    found = [sealing.unseal(endpoint.secret_sealed, sealing.current_key())]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_sealed and expires is not None and now < expires:
        found.append(sealing.unseal(endpoint.previous_secret_sealed, sealing.current_key()))
    return found


def request_timeout() -> float:
    """Return how many seconds an endpoint has to answer (the WEBHOOK_TIMEOUT setting)."""
    return float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))


def deliver_webhook(delivery_id: int) -> str:
    """Make the next attempt of a delivery if it is due; return its outcome or "skipped"."""
    session = db.session()
    claim = claim_delivery(session, current_clock(), delivery_id)
    if claim is None:
        return "skipped"
    production = bool(current_app.config["SETTINGS"].is_production)
    result = post_webhook(
        claim.url, claim.body, claim.headers, timeout=request_timeout(), production=production
    )
    released = finish_attempt(session, current_clock(), claim, result)
    enqueue_deliveries(released)
    return result.outcome.value


def _sendable(delivery: WebhookDelivery) -> bool:
    status = delivery.endpoint.status
    return status == EndpointStatus.ENABLED or (
        status == EndpointStatus.FAILING and delivery.manual
    )


def claim_delivery(session: Session, clock: Clock, delivery_id: int) -> Claim | None:
    """Take a due delivery for one attempt and log the attempt as started; None if not due."""
    now = clock.now()
    stmt = (
        sa.select(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.status.in_(
                [DeliveryStatus.PENDING, DeliveryStatus.RETRYING, DeliveryStatus.SENDING]
            ),
            WebhookDelivery.next_attempt_at <= now,
        )
        .with_for_update(skip_locked=True)
    )
    delivery = session.scalars(stmt).one_or_none()
    if delivery is None or not _sendable(delivery):
        session.rollback()
        return None
    if delivery.status == DeliveryStatus.SENDING:
        _mark_interrupted(session, delivery, now)
    attempt = _start_attempt(session, delivery, now)
    body = json.dumps(event_body(delivery.event), ensure_ascii=False, sort_keys=True).encode()
    headers = {
        "Yunshi-Event-Id": str(delivery.event_id),
        "Yunshi-Event-Type": delivery.event.type,
        "Yunshi-Signature": signature_header(
            signing_secrets(delivery.endpoint, now), int(now.timestamp()), body
        ),
    }
    claim = Claim(delivery.id, attempt.id, delivery.endpoint.url, body, headers)
    session.commit()
    return claim


def _start_attempt(session: Session, delivery: WebhookDelivery, now: datetime) -> WebhookAttempt:
    if delivery.window_started_at is None:
        delivery.window_started_at = now
    delivery.attempts += 1
    delivery.status = DeliveryStatus.SENDING
    delivery.last_attempt_at = now
    delivery.next_attempt_at = now + CLAIM_LEASE
    attempt = WebhookAttempt(
        delivery_id=delivery.id,
        number=delivery.attempts,
        manual=delivery.manual,
        started_at=now,
        response_excerpt="",
        error="",
    )
    session.add(attempt)
    session.flush()
    return attempt


def _mark_interrupted(session: Session, delivery: WebhookDelivery, now: datetime) -> None:
    session.execute(
        sa.update(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery.id, WebhookAttempt.outcome.is_(None))
        .values(
            outcome=AttemptOutcome.INTERRUPTED,
            finished_at=now,
            error="The sender stopped before the attempt ended.",
        )
    )


def finish_attempt(session: Session, clock: Clock, claim: Claim, result: HttpResult) -> list[int]:
    """Log an attempt's result and plan what follows; return deliveries released by a success."""
    now = clock.now()
    attempt = session.get(WebhookAttempt, claim.attempt_id, with_for_update=True)
    delivery = session.get(WebhookDelivery, claim.delivery_id, with_for_update=True)
    if attempt is None or delivery is None:  # the endpoint was deleted meanwhile
        session.rollback()
        return []
    attempt.finished_at = now
    attempt.outcome = result.outcome.value
    attempt.status_code = result.status_code
    attempt.latency_ms = result.latency_ms
    attempt.response_excerpt = result.excerpt[:EXCERPT_CHARS]
    attempt.error = result.error[:500]
    released: list[int] = []
    if delivery.status == DeliveryStatus.SENDING and delivery.attempts == attempt.number:
        if result.succeeded:
            released = _succeeded(session, delivery, now)
        else:
            _failed(session, clock, delivery, attempt.started_at)
    session.commit()
    return released


def _succeeded(session: Session, delivery: WebhookDelivery, now: datetime) -> list[int]:
    delivery.status = DeliveryStatus.SUCCEEDED
    delivery.delivered_at = now
    delivery.next_attempt_at = None
    delivery.manual = False
    endpoint = delivery.endpoint
    if endpoint.status != EndpointStatus.FAILING:
        return []
    endpoint.status = EndpointStatus.ENABLED
    endpoint.failing_since = endpoint.failure_notified_at = None
    endpoint.updated_at = now
    release_held_deliveries(session, endpoint.id, now)
    session.flush()
    stmt = sa.select(WebhookDelivery.id).where(
        WebhookDelivery.endpoint_id == endpoint.id,
        WebhookDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.RETRYING]),
    )
    return list(session.scalars(stmt.order_by(WebhookDelivery.id)))


def _failed(
    session: Session, clock: Clock, delivery: WebhookDelivery, started_at: datetime
) -> None:
    now = clock.now()
    window_start = delivery.window_started_at or started_at
    if delivery.event.type == TEST_EVENT_TYPE or gives_up(started_at - window_start):
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = None
        if delivery.event.type != TEST_EVENT_TYPE:
            mark_failing(session, clock, delivery.endpoint)
        return
    delivery.status = DeliveryStatus.RETRYING
    delivery.next_attempt_at = now + retry_delay(delivery.attempts, random.random())  # noqa: S311


def mark_failing(session: Session, clock: Clock, endpoint: WebhookEndpoint) -> None:
    """Mark an endpoint failing and email the vendor's owners and admins, once."""
    now = clock.now()
    if endpoint.status == EndpointStatus.ENABLED:
        endpoint.status = EndpointStatus.FAILING
        endpoint.failing_since = endpoint.updated_at = now
    if endpoint.status != EndpointStatus.FAILING or endpoint.failure_notified_at is not None:
        return
    endpoint.failure_notified_at = now
    stmt = sa.select(Membership).where(
        Membership.organization_id == endpoint.organization_id,
        Membership.role.in_(MANAGER_ROLES),
    )
    for membership in session.scalars(stmt.order_by(Membership.id)):
        queue_email(
            session,
            clock,
            to=membership.user.email,
            kind="webhook_endpoint_failing",
            subject=_("Your webhook endpoint is failing"),
            body=_(
                "For three days we could not deliver an event to your webhook endpoint "
                "%(url)s, so we stopped sending it events. Events keep waiting for it: "
                "fix the endpoint, then send it a test event from the vendor console; "
                "once it answers 2xx, the waiting events are delivered.",
                url=endpoint.url,
            ),
        )
    log.warning("webhook endpoint failing", endpoint_id=endpoint.id)
