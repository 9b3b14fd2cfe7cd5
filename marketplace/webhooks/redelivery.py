"""Send events by hand: a test event to one endpoint, or an event again to its endpoints.

Both make a manual delivery, which goes out even while its endpoint is failing; a 2xx
answer to it enables the endpoint again and releases the events that waited for it.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor, record
from marketplace.clock import Clock
from marketplace.errors import Conflict, NotFound
from marketplace.events.models import OutboxEvent
from marketplace.events.services import record_event
from marketplace.orgs.services import check_organization_may_change
from marketplace.webhooks.event_types import EVENT_TYPES, TEST_EVENT_TYPE
from marketplace.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
)
from marketplace.webhooks.relay import enqueue_deliveries
from marketplace.webhooks.services import Owner, endpoint_of, in_mode, vendor_org


def send_test_event(
    session: Session, clock: Clock, actor: Actor, owner: Owner, endpoint_id: int
) -> WebhookDelivery:
    """Record a webhook.test event for one endpoint and queue its delivery (even if failing)."""
    check_organization_may_change(vendor_org(session, owner.org_id))
    endpoint = endpoint_of(session, owner, endpoint_id)
    if endpoint.status == EndpointStatus.DISABLED:
        raise Conflict(_("Enable the endpoint before sending it a test event."))
    event = record_event(
        session,
        clock,
        type=TEST_EVENT_TYPE,
        organization_id=owner.org_id,
        aggregate=("webhook_endpoint", endpoint.id),
        payload={"endpoint_id": endpoint.id, "sandbox": endpoint.sandbox},
    )
    # Relayed at once: a test goes to the endpoint it tests and to no other.
    event.delivered_at = clock.now()
    session.flush()
    delivery = _fresh_delivery(session, clock, endpoint, event)
    session.commit()
    enqueue_deliveries([delivery.id])
    return delivery


def _fresh_delivery(
    session: Session, clock: Clock, endpoint: WebhookEndpoint, event: OutboxEvent
) -> WebhookDelivery:
    now = clock.now()
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=event.id,
        status=DeliveryStatus.PENDING,
        attempts=0,
        manual=True,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    return delivery


def redeliver_event(
    session: Session,
    clock: Clock,
    actor: Actor,
    owner: Owner,
    event_id: int,
    *,
    endpoint_id: int | None = None,
) -> list[WebhookDelivery]:
    """Send an event of the vendor's again to its endpoints (or one of them), by hand.

    Endpoints in the event's mode that take its type get it, those registered after the
    event too; each delivery starts a fresh retry window.
    """
    check_organization_may_change(vendor_org(session, owner.org_id))
    event = _event_of(session, owner, event_id)
    targets = _redelivery_targets(session, owner, event, endpoint_id)
    deliveries = [_reset_or_create(session, clock, endpoint, event) for endpoint in targets]
    record(session, clock, actor, "webhook_event.redelivered", ("outbox_event", event.id),
           after={"endpoints": [e.id for e in targets]}, subject_org_id=owner.org_id)  # fmt: skip
    session.commit()
    enqueue_deliveries([d.id for d in deliveries])
    return deliveries


def _event_of(session: Session, owner: Owner, event_id: int) -> OutboxEvent:
    event = session.get(OutboxEvent, event_id)
    if event is None or event.organization_id != owner.org_id:
        raise NotFound(_("No such event."))
    sandbox = bool(event.payload.get("sandbox", False))
    if owner.sandbox is not None and sandbox != owner.sandbox:
        raise NotFound(_("No such event."))
    if event.type not in EVENT_TYPES and event.type != TEST_EVENT_TYPE:
        raise NotFound(_("No such event."))
    return event


def _redelivery_targets(
    session: Session, owner: Owner, event: OutboxEvent, endpoint_id: int | None
) -> list[WebhookEndpoint]:
    mode = Owner(owner.org_id, bool(event.payload.get("sandbox", False)))
    if endpoint_id is not None:
        endpoint = endpoint_of(session, mode, endpoint_id)
        if endpoint.status == EndpointStatus.DISABLED:
            raise Conflict(_("Enable the endpoint before redelivering to it."))
        return [endpoint]
    earlier = sa.select(WebhookDelivery.endpoint_id).where(WebhookDelivery.event_id == event.id)
    stmt = in_mode(sa.select(WebhookEndpoint), mode).where(
        WebhookEndpoint.status != EndpointStatus.DISABLED
    )
    found = [
        e
        for e in session.scalars(stmt.order_by(WebhookEndpoint.id))
        if e.wants(event.type) or e.id in set(session.scalars(earlier))
    ]
    if not found:
        raise Conflict(_("No enabled endpoint takes this event."))
    return found


def _reset_or_create(
    session: Session, clock: Clock, endpoint: WebhookEndpoint, event: OutboxEvent
) -> WebhookDelivery:
    stmt = (
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.event_id == event.id)
        .with_for_update()
    )
    delivery = session.scalars(stmt).one_or_none()
    if delivery is None:
        return _fresh_delivery(session, clock, endpoint, event)
    if delivery.status == DeliveryStatus.SENDING:
        raise Conflict(_("This event is being delivered right now; try again in a minute."))
    delivery.status = DeliveryStatus.PENDING
    delivery.manual = True
    delivery.next_attempt_at = clock.now()
    delivery.window_started_at = None
    return delivery
