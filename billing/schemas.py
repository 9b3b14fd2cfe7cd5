"""What the vendor billing API accepts and answers: usage, subscriptions, sandbox firms.

The usage batch is read record by record in billing.usage (a bad record is answered, never
fails the batch), so its schemas here only describe the body for the OpenAPI document.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from marshmallow import Schema, fields, validate

from billing.models import Subscription, SubscriptionStatus
from billing.services.sandbox import SandboxFirmEntry
from billing.services.vendor_reads import PeriodUsage, plain_quantity
from billing.usage import (
    ATTRIBUTES_MAX,
    DIMENSION_MAX,
    ID_MAX,
    MAX_RECORDS,
    TEXT_MAX,
    Code,
    Outcome,
)
from marketplace.pagination import PageQuerySchema, page_schema

NO_NUL = validate.Regexp(r"^[^\x00]*$", error="Must not contain NUL characters.")
RECORD_STATUSES = [o.value for o in Outcome]


def _id(*, strict: bool = True, **kwargs: Any) -> fields.Integer:
    return fields.Integer(strict=strict, validate=validate.Range(1, ID_MAX), **kwargs)


class UsageRecordSchema(Schema):
    """One usage record: how much of a dimension a subscription used, and when."""

    subscription_id = _id(required=True)
    dimension = fields.String(
        required=True,
        validate=[validate.Length(1, DIMENSION_MAX), NO_NUL],
        metadata={"description": "A metered dimension key of the subscription's plan."},
    )
    quantity = fields.Raw(
        required=True,
        metadata={
            "description": "A non-negative decimal below 10^14 with at most 6 decimal places, "
            "as a JSON number or a string (send a string beyond 15 significant digits).",
            "oneOf": [
                {"type": "number", "minimum": 0, "maximum": 99999999999999},
                {"type": "string", "pattern": r"^[0-9]{1,14}(\.[0-9]{1,6})?$"},
            ],
        },
    )
    timestamp = fields.AwareDateTime(
        required=True,
        metadata={
            "description": "When it was used, ISO 8601 with an offset; at most 5 minutes "
            "ahead of our clock."
        },
    )
    idempotency_key = fields.String(
        required=True,
        validate=[validate.Length(1, TEXT_MAX), NO_NUL],
        metadata={"description": "Unique per vendor: a record sent again is stored once."},
    )
    unique_value = fields.String(
        allow_none=True,
        validate=[validate.Length(1, TEXT_MAX), NO_NUL],
        metadata={
            "description": "What a unique-count dimension counts, e.g. a user id; "
            "required for those dimensions."
        },
    )
    attributes = fields.Dict(
        keys=fields.String(validate=validate.Length(1, DIMENSION_MAX)),
        values=fields.Raw(allow_none=True),
        allow_none=True,
        metadata={
            "description": f"At most {ATTRIBUTES_MAX} keys with string (up to "
            f"{TEXT_MAX} characters), number, boolean or null values."
        },
    )


class UsageBatchSchema(Schema):
    """A batch of usage records, each answered on its own."""

    records = fields.List(
        fields.Nested(UsageRecordSchema),
        required=True,
        validate=validate.Length(1, MAX_RECORDS),
        metadata={"description": f"1 to {MAX_RECORDS} records."},
    )


class UsageOutcomeSchema(Schema):
    """What became of one record of the batch."""

    index = fields.Integer(required=True, metadata={"description": "Its place in the batch."})
    status = fields.String(required=True, validate=validate.OneOf(RECORD_STATUSES))
    idempotency_key = fields.String(required=True, allow_none=True)
    code = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "Why it was rejected: " + ", ".join(c.value for c in Code)},
    )
    message = fields.String(required=True, allow_none=True)
    quantity_differs = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={
            "description": "For a duplicate: whether it asked for another quantity "
            "than the record kept."
        },
    )


class UsageBatchResultSchema(Schema):
    """The answer to a usage batch: counts, and each record's outcome in order."""

    accepted = fields.Integer(required=True)
    duplicates = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    results = fields.List(fields.Nested(UsageOutcomeSchema), required=True)


class DimensionUsageSchema(Schema):
    """One metered dimension's usage in the current period so far, and its price."""

    dimension = fields.String(required=True)
    aggregation = fields.String(required=True)
    quantity = fields.Decimal(required=True, as_string=True)
    included_quantity = fields.Decimal(required=True, as_string=True)
    amount_fen = fields.Integer(
        required=True, metadata={"description": "Rated so far, VAT included; 0 in a trial."}
    )


class PeriodUsageSchema(Schema):
    """A subscription's current period and its usage so far."""

    subscription_id = fields.Integer(required=True)
    current_period_start = fields.DateTime(required=True, allow_none=True)
    current_period_end = fields.DateTime(required=True, allow_none=True)
    free_trial = fields.Boolean(required=True)
    dimensions = fields.List(fields.Nested(DimensionUsageSchema), required=True)


class UsageRecordsQuerySchema(PageQuerySchema):
    """Paging, the outcome to list, and filters by subscription and time received."""

    status = fields.String(
        load_default="accepted",
        validate=validate.OneOf(RECORD_STATUSES),
        metadata={"description": "accepted (stored), duplicate (stored, sent again), rejected."},
    )
    subscription_id = _id(load_default=None, strict=False)
    received_from = fields.AwareDateTime(
        data_key="from", load_default=None, metadata={"description": "Received at or after."}
    )
    received_to = fields.AwareDateTime(
        data_key="to", load_default=None, metadata={"description": "Received before."}
    )


class UsageRecordItemSchema(Schema):
    """A stored or rejected usage record; fields of the other kind are null."""

    id = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(RECORD_STATUSES))
    subscription_id = fields.Integer(required=True, allow_none=True)
    dimension = fields.String(required=True, allow_none=True)
    idempotency_key = fields.String(required=True, allow_none=True)
    quantity = fields.Decimal(required=True, allow_none=True, as_string=True)
    unique_value = fields.String(required=True, allow_none=True)
    timestamp = fields.DateTime(required=True, allow_none=True)
    attributes = fields.Dict(required=True, allow_none=True)
    duplicates = fields.Integer(required=True, allow_none=True)
    code = fields.String(required=True, allow_none=True)
    message = fields.String(required=True, allow_none=True)
    record = fields.Raw(
        required=True, allow_none=True, metadata={"description": "The rejected record as sent."}
    )
    received_at = fields.DateTime(required=True)


UsageRecordPageSchema = page_schema(UsageRecordItemSchema, "UsageRecordPage")


class SubscriptionQuerySchema(PageQuerySchema):
    """Paging, and the status and listing to keep."""

    status = fields.String(load_default=None, validate=validate.OneOf(list(SubscriptionStatus)))
    listing_id = _id(load_default=None, strict=False)


class SubscriptionSchema(Schema):
    """A firm's subscription to one of the vendor's listings."""

    id = fields.Integer(required=True)
    firm_id = fields.Integer(required=True)
    listing_id = fields.Integer(required=True)
    plan_code = fields.String(required=True)
    plan_version = fields.Integer(required=True)
    status = fields.String(required=True, validate=validate.OneOf(list(SubscriptionStatus)))
    sandbox = fields.Boolean(required=True)
    seats = fields.Integer(required=True)
    assigned_user_ids = fields.List(
        fields.Integer(), required=True, metadata={"description": "Users holding a seat now."}
    )
    scheduled_plan_code = fields.String(required=True, allow_none=True)
    cancel_at_period_end = fields.Boolean(required=True)
    trial_end_at = fields.DateTime(required=True, allow_none=True)
    current_period_start = fields.DateTime(required=True, allow_none=True)
    current_period_end = fields.DateTime(required=True, allow_none=True)
    created_at = fields.DateTime(required=True)
    activated_at = fields.DateTime(required=True, allow_none=True)
    cancelled_at = fields.DateTime(required=True, allow_none=True)


SubscriptionPageSchema = page_schema(SubscriptionSchema, "SubscriptionPage")


class SandboxFirmCreateSchema(Schema):
    """A new test firm of the vendor's sandbox."""

    name = fields.String(required=True, validate=[validate.Length(2, 200), NO_NUL])


class SandboxFirmSchema(Schema):
    """A test firm of the vendor's sandbox."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)
    created_at = fields.DateTime(required=True)


SandboxFirmPageSchema = page_schema(SandboxFirmSchema, "SandboxFirmPage")


class SandboxSubscriptionCreateSchema(Schema):
    """A test firm's subscription to a plan of one of the vendor's sandbox listings."""

    firm_id = _id(required=True)
    listing_id = _id(required=True)
    plan_code = fields.String(required=True, validate=[validate.Length(1, 40), NO_NUL])
    seats = fields.Integer(
        strict=True,
        allow_none=True,
        load_default=None,
        validate=validate.Range(0, 10**9),
        metadata={"description": "The plan's minimum when omitted."},
    )


def subscription_data(subscription: Subscription) -> dict[str, Any]:
    """Return a subscription as SubscriptionSchema dumps it."""
    scheduled = subscription.scheduled_plan
    times = ("trial_end_at", "current_period_start", "current_period_end", "created_at")
    return {
        "id": subscription.id,
        "firm_id": subscription.organization_id,
        "listing_id": subscription.listing_id,
        "plan_code": subscription.plan.code,
        "plan_version": subscription.plan.version,
        "status": subscription.status,
        "sandbox": subscription.sandbox,
        "seats": subscription.seats,
        "assigned_user_ids": [
            a.user_id for a in subscription.seat_assignments if a.unassigned_at is None
        ],
        "scheduled_plan_code": scheduled.code if scheduled is not None else None,
        "cancel_at_period_end": subscription.cancel_at_period_end,
        "activated_at": subscription.activated_at,
        "cancelled_at": subscription.cancelled_at,
    } | {name: getattr(subscription, name) for name in times}


def period_usage_data(usage: PeriodUsage) -> dict[str, Any]:
    """Return a period's usage as PeriodUsageSchema dumps it."""
    return {
        "subscription_id": usage.subscription_id,
        "current_period_start": usage.period_start,
        "current_period_end": usage.period_end,
        "free_trial": usage.free_trial,
        "dimensions": [asdict(d) for d in usage.dimensions],
    }


def sandbox_firm_data(firm: SandboxFirmEntry) -> dict[str, Any]:
    """Return a test firm as SandboxFirmSchema dumps it."""
    return {"id": firm.id, "name": firm.name, "created_at": firm.created_at}


def usage_record_data(row: Any, status: str) -> dict[str, Any]:
    """Return a stored or rejected record as UsageRecordItemSchema dumps it."""
    base = {
        "id": row.id,
        "status": status,
        "subscription_id": row.subscription_id,
        "dimension": row.dimension,
        "idempotency_key": row.idempotency_key,
        "received_at": row.received_at,
    }
    if status == "rejected":
        none = ("quantity", "unique_value", "timestamp", "attributes", "duplicates")
        return (
            base
            | dict.fromkeys(none)
            | {
                "code": row.code,
                "message": row.message,
                "record": row.record,
            }
        )
    return base | {
        "quantity": plain_quantity(row.quantity),
        "unique_value": row.unique_value,
        "timestamp": row.occurred_at,
        "attributes": row.attributes,
        "duplicates": row.duplicates,
        "code": None,
        "message": None,
        "record": None,
    }
