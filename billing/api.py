"""The vendor billing API: metered usage, the vendor's subscriptions, and its sandbox.

Every endpoint acts for the organization of the calling API client and in the client's
mode: a sandbox client meters and sees only sandbox subscriptions, a live client only live
ones; anything else answers as if it did not exist. Usage records are idempotent one by one
(their idempotency_key); the creating sandbox requests honour Idempotency-Key.

Scopes: usage:write to post usage and to list usage records; usage:write or
subscriptions:read to read a period's usage; subscriptions:read and subscriptions:write
for subscriptions and sandbox firms.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _

from billing.schemas import (
    PeriodUsageSchema,
    SandboxFirmCreateSchema,
    SandboxFirmPageSchema,
    SandboxFirmSchema,
    SandboxSubscriptionCreateSchema,
    SubscriptionPageSchema,
    SubscriptionQuerySchema,
    SubscriptionSchema,
    UsageBatchResultSchema,
    UsageBatchSchema,
    UsageRecordItemSchema,
    UsageRecordPageSchema,
    UsageRecordsQuerySchema,
    period_usage_data,
    sandbox_firm_data,
    subscription_data,
    usage_record_data,
)
from billing.services.sandbox import (
    create_sandbox_firm,
    sandbox_firms_page,
    subscribe_sandbox_firm,
)
from billing.services.subscriptions import activate, subscription_of_vendor
from billing.services.usage import BatchResult, record_usage
from billing.services.vendor_reads import (
    RecordFilter,
    period_usage,
    subscriptions_page,
    usage_records_page,
)
from billing.usage import MAX_RECORDS, Outcome
from marketplace.api import (
    CallingVendor,
    api_blueprint,
    calling_vendor,
    known_id,
    load_body,
    load_query,
    require_token,
)
from marketplace.clock import current_clock
from marketplace.errors import Forbidden, ValidationFailed
from marketplace.extensions import db
from marketplace.idempotency import idempotent
from marketplace.openapi import documented
from marketplace.pagination import PageQuerySchema, page_body, requested_page

bp = api_blueprint("billing_api", __name__)
USAGE, SUBSCRIPTIONS, SANDBOX = ["usage"], ["subscriptions"], ["sandbox"]
USAGE_WRITE = "usage:write"
SUBS_READ, SUBS_WRITE = "subscriptions:read", "subscriptions:write"
Answer = tuple[dict[str, Any], int]


def _sandbox_vendor() -> CallingVendor:
    """Return the calling vendor, refusing a live client: the sandbox is for sandbox clients."""
    vendor = calling_vendor()
    if not vendor.sandbox:
        raise Forbidden(_("Only sandbox API clients may use the sandbox."))
    return vendor


def _known_subscription_id(subscription_id: int) -> int:
    return known_id(subscription_id, _("No such subscription."))


def _records() -> list[Any]:
    """Read the batch's envelope: an object whose `records` is a list of 1 to 1,000 items."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed({"body": ["Send a JSON object with Content-Type application/json."]})
    extra = sorted(str(name) for name in body if name != "records")
    if extra:
        raise ValidationFailed({extra[0]: ["Unknown field."]})
    records = body.get("records")
    if not isinstance(records, list) or not 1 <= len(records) <= MAX_RECORDS:
        raise ValidationFailed({"records": [f"Send a list of 1 to {MAX_RECORDS} records."]})
    return records


def _batch_body(batch: BatchResult) -> dict[str, Any]:
    # Plain dicts, not a schema's dump: a batch answers up to a thousand of them.
    results = [
        {
            "index": r.index,
            "status": r.status.value,
            "idempotency_key": r.idempotency_key,
            "code": r.code,
            "message": r.message,
            "quantity_differs": r.quantity_differs,
        }
        for r in batch.results
    ]
    return {
        "accepted": batch.count(Outcome.ACCEPTED),
        "duplicates": batch.count(Outcome.DUPLICATE),
        "rejected": batch.count(Outcome.REJECTED),
        "results": results,
    }


@bp.post("/usage")
@documented(response=UsageBatchResultSchema, body=UsageBatchSchema, tags=USAGE)
@require_token(USAGE_WRITE)
def post_usage() -> dict[str, Any]:
    """Report a batch of up to 1,000 usage records; each is answered on its own.

    A record is accepted, a duplicate of one stored before under its idempotency_key (the
    original is kept; quantity_differs tells whether this one asked for another quantity),
    or rejected with a code: unknown_subscription (no subscription of yours in this
    client's mode has the id; another vendor's id is answered so too), subscription_not_active,
    unknown_dimension, missing_value (a unique-count dimension without unique_value),
    timestamp_in_future (more than 5 minutes ahead), outside_open_window (the period ended
    more than the 48-hour grace window ago, or its invoice is final), bad_quantity, or
    bad_record (a missing or malformed field, named in the message). Only a malformed
    envelope answers 422.
    """
    records = _records()
    vendor = calling_vendor()
    batch = record_usage(db.session(), current_clock(), vendor.id, vendor.sandbox, records)
    return _batch_body(batch)


@bp.get("/usage/records")
@documented(response=UsageRecordPageSchema, query=UsageRecordsQuerySchema, tags=USAGE)
@require_token(USAGE_WRITE)
def list_usage_records() -> dict[str, Any]:
    """List usage records of one outcome for reconciliation, oldest first, a page at a time.

    from and to bound the time the records were received.
    """
    query = load_query(UsageRecordsQuerySchema())
    vendor = calling_vendor()
    wanted = RecordFilter(
        query["status"], query["subscription_id"], query["received_from"], query["received_to"]
    )
    page = usage_records_page(db.session(), vendor.id, vendor.sandbox, wanted, requested_page())
    items = [usage_record_data(row, wanted.status) for row in page.items]
    return page_body(UsageRecordItemSchema(many=True).dump(items), page.next_key)


@bp.get("/subscriptions/<int:subscription_id>/usage")
@documented(response=PeriodUsageSchema, errors=[404], tags=USAGE)
@require_token([USAGE_WRITE, SUBS_READ])
def show_period_usage(subscription_id: int) -> dict[str, Any]:
    """Show a subscription's current period and, per metered dimension, its usage so far.

    Each dimension gives the aggregated quantity, the quantity the plan includes and the
    amount rated so far (nothing during a trial).
    """
    vendor = calling_vendor()
    usage = period_usage(
        db.session(), vendor.id, vendor.sandbox, _known_subscription_id(subscription_id)
    )
    dumped: dict[str, Any] = PeriodUsageSchema().dump(period_usage_data(usage))
    return dumped


def _subscription(subscription: Any) -> dict[str, Any]:
    dumped: dict[str, Any] = SubscriptionSchema().dump(subscription_data(subscription))
    return dumped


@bp.get("/subscriptions")
@documented(response=SubscriptionPageSchema, query=SubscriptionQuerySchema, tags=SUBSCRIPTIONS)
@require_token(SUBS_READ)
def list_subscriptions() -> dict[str, Any]:
    """List subscriptions to the vendor's listings, oldest first, a page at a time."""
    query = load_query(SubscriptionQuerySchema())
    vendor = calling_vendor()
    page = subscriptions_page(
        db.session(),
        vendor.id,
        vendor.sandbox,
        requested_page(),
        status=query["status"],
        listing_id=query["listing_id"],
    )
    return page_body([_subscription(s) for s in page.items], page.next_key)


@bp.get("/subscriptions/<int:subscription_id>")
@documented(response=SubscriptionSchema, errors=[404], tags=SUBSCRIPTIONS)
@require_token(SUBS_READ)
def show_subscription(subscription_id: int) -> dict[str, Any]:
    """Show a subscription: plan code and version, seats and who holds them, its period."""
    vendor = calling_vendor()
    subscription = subscription_of_vendor(
        db.session(), vendor.id, _known_subscription_id(subscription_id), sandbox=vendor.sandbox
    )
    return _subscription(subscription)


@bp.post("/subscriptions/<int:subscription_id>/activate")
@documented(response=SubscriptionSchema, errors=[404, 409], tags=SUBSCRIPTIONS)
@require_token(SUBS_WRITE)
def activate_subscription(subscription_id: int) -> dict[str, Any]:
    """Start a pending subscription you have provisioned: its trial, or its first period."""
    vendor = calling_vendor()
    subscription = activate(
        db.session(),
        current_clock(),
        vendor.actor,
        vendor.id,
        _known_subscription_id(subscription_id),
        sandbox=vendor.sandbox,
    )
    return _subscription(subscription)


@bp.post("/sandbox/firms")
@documented(response=SandboxFirmSchema, status=201, body=SandboxFirmCreateSchema, tags=SANDBOX)
@require_token(SUBS_WRITE)
@idempotent
def create_firm() -> Answer:
    """Create a test firm in your sandbox (sandbox clients only)."""
    vendor = _sandbox_vendor()
    name = load_body(SandboxFirmCreateSchema())["name"]
    firm = create_sandbox_firm(db.session(), current_clock(), vendor.actor, vendor.id, name)
    return SandboxFirmSchema().dump(sandbox_firm_data(firm)), 201


@bp.get("/sandbox/firms")
@documented(response=SandboxFirmPageSchema, query=PageQuerySchema, tags=SANDBOX)
@require_token(SUBS_READ)
def list_firms() -> dict[str, Any]:
    """List the test firms of your sandbox, oldest first (sandbox clients only)."""
    vendor = _sandbox_vendor()
    page = sandbox_firms_page(db.session(), vendor.id, requested_page())
    items = SandboxFirmSchema(many=True).dump([sandbox_firm_data(f) for f in page.items])
    return page_body(items, page.next_key)


@bp.post("/sandbox/subscriptions")
@documented(
    response=SubscriptionSchema,
    status=201,
    body=SandboxSubscriptionCreateSchema,
    errors=[404, 409],
    tags=SANDBOX,
)
@require_token(SUBS_WRITE)
@idempotent
def create_sandbox_subscription() -> Answer:
    """Subscribe one of your test firms to a plan of one of your sandbox listings.

    The plan's newest published version is taken; sandbox clients only.
    """
    vendor = _sandbox_vendor()
    wanted = load_body(SandboxSubscriptionCreateSchema())
    subscription = subscribe_sandbox_firm(
        db.session(), current_clock(), vendor.actor, vendor.id, **wanted
    )
    return _subscription(subscription), 201
