"""What the webhook endpoints of the vendor API accept and answer."""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields, validate

from marketplace.pagination import page_schema
from marketplace.webhooks.event_types import EVENT_TYPES
from marketplace.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

EVENT_TYPE = fields.String(validate=validate.OneOf(EVENT_TYPES))


class EndpointCreateSchema(Schema):
    """A new endpoint: where to send, which events, and a note for people."""

    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    event_types = fields.List(EVENT_TYPE, required=True, validate=validate.Length(min=1))
    description = fields.String(load_default="", validate=validate.Length(max=200))

    class Meta:
        unknown = RAISE


class EndpointUpdateSchema(Schema):
    """Changes to an endpoint; `enabled: false` disables it, `true` enables it again."""

    url = fields.String(validate=validate.Length(min=1, max=2000))
    event_types = fields.List(EVENT_TYPE, validate=validate.Length(min=1))
    description = fields.String(validate=validate.Length(max=200))
    enabled = fields.Boolean()

    class Meta:
        unknown = RAISE


class RotateSecretSchema(Schema):
    """How long the old secret keeps signing beside the new one."""

    overlap_hours = fields.Integer(load_default=24, validate=validate.Range(min=0, max=168))

    class Meta:
        unknown = RAISE


class RedeliverSchema(Schema):
    """Which endpoint to send the event to again (default: every endpoint that takes it)."""

    endpoint_id = fields.Integer(
        load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**31 - 1)
    )

    class Meta:
        unknown = RAISE


class EndpointSchema(Schema):
    """A webhook endpoint (its signing secret is shown only when made)."""

    id = fields.Integer(required=True)
    url = fields.String(required=True)
    description = fields.String(required=True)
    event_types = fields.List(fields.String(), required=True)
    sandbox = fields.Boolean(required=True)
    status = fields.String(
        required=True, metadata={"description": "enabled, failing (retries ran out) or disabled"}
    )
    secret_rotated_at = fields.DateTime(allow_none=True, required=True)
    previous_secret_expires_at = fields.DateTime(allow_none=True, required=True)
    created_at = fields.DateTime(required=True)


class EndpointWithSecretSchema(EndpointSchema):
    """An endpoint with its new signing secret: keep it, it is never shown again."""

    secret = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Shown once; null when an Idempotency-Key replays the answer."},
    )


class AttemptSchema(Schema):
    """One HTTP attempt of a delivery."""

    number = fields.Integer(required=True)
    manual = fields.Boolean(required=True)
    started_at = fields.DateTime(required=True)
    outcome = fields.String(allow_none=True, required=True)
    status_code = fields.Integer(allow_none=True, required=True)
    latency_ms = fields.Integer(allow_none=True, required=True)
    response_excerpt = fields.String(required=True)
    error = fields.String(required=True)


class DeliverySchema(Schema):
    """One event's delivery to one endpoint, with every attempt."""

    id = fields.Integer(required=True)
    endpoint_id = fields.Integer(required=True)
    event_id = fields.Integer(required=True)
    event_type = fields.String(required=True)
    sequence = fields.Integer(allow_none=True, required=True)
    status = fields.String(required=True)
    next_attempt_at = fields.DateTime(allow_none=True, required=True)
    delivered_at = fields.DateTime(allow_none=True, required=True)
    attempts = fields.List(fields.Nested(AttemptSchema), required=True)


class DeliveryListSchema(Schema):
    """The deliveries a redelivery queued."""

    data = fields.List(fields.Nested(DeliverySchema), required=True)


EndpointPageSchema = page_schema(EndpointSchema, "WebhookEndpointPage")
DeliveryPageSchema = page_schema(DeliverySchema, "WebhookDeliveryPage")


def endpoint_data(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """Return an endpoint's fields for EndpointSchema."""
    return {name: getattr(endpoint, name) for name in EndpointSchema().fields}


def delivery_data(delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> dict[str, Any]:
    """Return a delivery's fields, with its attempts, for DeliverySchema."""
    return {
        "id": delivery.id,
        "endpoint_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event.type,
        "sequence": delivery.event.sequence,
        "status": delivery.status,
        "next_attempt_at": delivery.next_attempt_at,
        "delivered_at": delivery.delivered_at,
        "attempts": [{name: getattr(a, name) for name in AttemptSchema().fields} for a in attempts],
    }
