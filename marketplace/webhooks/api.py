"""The webhook part of the vendor API: endpoints, their deliveries, tests and redelivery.

Every endpoint acts for the calling client's vendor and in its mode: a sandbox client
registers and sees sandbox endpoints, which get the events of sandbox subscriptions and
listings; a live client only live ones. Scopes: webhooks:read to read, webhooks:write to
change, test and redeliver. Every POST honours Idempotency-Key; creating an endpoint and
rotating its secret store their answer without the secret, which is never kept in the
clear, so a replay answers `secret` as null (rotate again if the first answer was lost).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marketplace.api import (
    api_blueprint,
    api_caller,
    known_id,
    load_body,
    load_query,
    require_token,
)
from marketplace.audit.services import Actor
from marketplace.clock import current_clock
from marketplace.extensions import db
from marketplace.idempotency import idempotent, idempotent_withholding
from marketplace.openapi import documented
from marketplace.pagination import PageQuerySchema, page_body, requested_page
from marketplace.webhooks import redelivery, services
from marketplace.webhooks.models import WebhookDelivery
from marketplace.webhooks.schemas import (
    DeliveryListSchema,
    DeliveryPageSchema,
    DeliverySchema,
    EndpointCreateSchema,
    EndpointPageSchema,
    EndpointSchema,
    EndpointUpdateSchema,
    EndpointWithSecretSchema,
    RedeliverSchema,
    RotateSecretSchema,
    delivery_data,
    endpoint_data,
)

bp = api_blueprint("webhooks_api", __name__)
TAGS = ["webhooks"]
READ, WRITE = "webhooks:read", "webhooks:write"
ID_MAX = 2**31 - 1
Answer = tuple[dict[str, Any], int]


def _owner() -> services.Owner:
    caller = api_caller()
    return services.Owner(caller.organization_id, caller.sandbox)


def _actor() -> Actor:
    return Actor(None, api_caller().organization_id)


def _deliveries(items: list[WebhookDelivery]) -> list[dict[str, Any]]:
    attempts = services.attempts_of(db.session(), items)
    dumped: list[dict[str, Any]] = DeliverySchema(many=True).dump(
        [delivery_data(d, attempts[d.id]) for d in items]
    )
    return dumped


@bp.get("/webhook-endpoints")
@documented(response=EndpointPageSchema, query=PageQuerySchema, tags=TAGS)
@require_token(READ)
def list_endpoints() -> dict[str, Any]:
    """List your webhook endpoints in this client's mode, oldest first."""
    load_query(PageQuerySchema())
    page = services.endpoints_page(db.session(), _owner(), requested_page())
    items = EndpointSchema(many=True).dump([endpoint_data(e) for e in page.items])
    return page_body(items, page.next_key)


@bp.post("/webhook-endpoints")
@documented(response=EndpointWithSecretSchema, status=201, body=EndpointCreateSchema, tags=TAGS)
@require_token(WRITE)
@idempotent_withholding("secret")
def create_endpoint() -> Answer:
    """Register an endpoint; the answer holds its signing secret, shown only this once."""
    fields = load_body(EndpointCreateSchema())
    owner = _owner()
    issued = services.create_endpoint(
        db.session(), current_clock(), _actor(), owner, fields, sandbox=bool(owner.sandbox)
    )
    body = EndpointWithSecretSchema().dump(
        {**endpoint_data(issued.endpoint), "secret": issued.secret}
    )
    return body, 201


@bp.get("/webhook-endpoints/<int:endpoint_id>")
@documented(response=EndpointSchema, errors=[404], tags=TAGS)
@require_token(READ)
def show_endpoint(endpoint_id: int) -> dict[str, Any]:
    """Show one of your endpoints."""
    endpoint = services.endpoint_of(db.session(), _owner(), known_id(endpoint_id))
    dumped: dict[str, Any] = EndpointSchema().dump(endpoint_data(endpoint))
    return dumped


@bp.patch("/webhook-endpoints/<int:endpoint_id>")
@documented(response=EndpointSchema, body=EndpointUpdateSchema, errors=[404], tags=TAGS)
@require_token(WRITE)
def update_endpoint(endpoint_id: int) -> dict[str, Any]:
    """Change an endpoint's URL, event types or description, or disable or enable it."""
    changes = load_body(EndpointUpdateSchema())
    endpoint = services.update_endpoint(
        db.session(), current_clock(), _actor(), _owner(), known_id(endpoint_id), changes
    )
    dumped: dict[str, Any] = EndpointSchema().dump(endpoint_data(endpoint))
    return dumped


@bp.delete("/webhook-endpoints/<int:endpoint_id>")
@documented(status=204, errors=[404], tags=TAGS)
@require_token(WRITE)
def delete_endpoint(endpoint_id: int) -> tuple[str, int]:
    """Delete an endpoint with its deliveries and their log."""
    services.delete_endpoint(
        db.session(), current_clock(), _actor(), _owner(), known_id(endpoint_id)
    )
    return "", 204


@bp.post("/webhook-endpoints/<int:endpoint_id>/rotate-secret")
@documented(response=EndpointWithSecretSchema, body=RotateSecretSchema, errors=[404], tags=TAGS)
@require_token(WRITE)
@idempotent_withholding("secret")
def rotate_secret(endpoint_id: int) -> dict[str, Any]:
    """Give an endpoint a new signing secret, shown only this once.

    For overlap_hours (default 24, at most 168) deliveries carry a v1 signature made with
    the old secret beside the one made with the new, so receivers can switch in their time.
    """
    wanted = load_body(RotateSecretSchema())
    issued = services.rotate_secret(
        db.session(),
        current_clock(),
        _actor(),
        _owner(),
        known_id(endpoint_id),
        overlap=timedelta(hours=wanted["overlap_hours"]),
    )
    dumped: dict[str, Any] = EndpointWithSecretSchema().dump(
        {**endpoint_data(issued.endpoint), "secret": issued.secret}
    )
    return dumped


@bp.get("/webhook-endpoints/<int:endpoint_id>/deliveries")
@documented(response=DeliveryPageSchema, query=PageQuerySchema, errors=[404], tags=TAGS)
@require_token(READ)
def list_deliveries(endpoint_id: int) -> dict[str, Any]:
    """List an endpoint's deliveries, newest first, each with every attempt's log."""
    load_query(PageQuerySchema())
    page = services.deliveries_page(db.session(), _owner(), known_id(endpoint_id), requested_page())
    return page_body(_deliveries(page.items), page.next_key)


@bp.post("/webhook-endpoints/<int:endpoint_id>/test")
@documented(response=DeliverySchema, status=202, errors=[404, 409, 422], tags=TAGS)
@require_token(WRITE)
@idempotent
def send_test_event(endpoint_id: int) -> Answer:
    """Send the endpoint a webhook.test event now (even while it is failing)."""
    delivery = redelivery.send_test_event(
        db.session(), current_clock(), _actor(), _owner(), known_id(endpoint_id)
    )
    return _deliveries([delivery])[0], 202


@bp.post("/events/<int:event_id>/redeliver")
@documented(
    response=DeliveryListSchema, status=202, body=RedeliverSchema, errors=[404, 409], tags=TAGS
)
@require_token(WRITE)
@idempotent
def redeliver_event(event_id: int) -> Answer:
    """Send an event again to your endpoints that take it, or to the one named."""
    wanted = load_body(RedeliverSchema())
    deliveries = redelivery.redeliver_event(
        db.session(),
        current_clock(),
        _actor(),
        _owner(),
        known_id(event_id),
        endpoint_id=wanted["endpoint_id"],
    )
    return {"data": _deliveries(deliveries)}, 202
