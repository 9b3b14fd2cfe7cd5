"""Helpers of the billing API tests: a vendor with a token, a metered plan, subscriptions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import Subscription
from billing.services import subscriptions as subs
from catalog.models import Plan
from catalog.pricing import Aggregation, FlatFee, MeteredPrice, PlanPrice, PriceModel
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from tests.api.catalog_helpers import ApiVendor, api_vendor
from tests.billing.conftest import add_plan, firm
from tests.catalog.storefront_data import publish_listing
from tests.sso.conftest import access_token, bearer, make_client

BILLING_SCOPES = ("usage:write", "subscriptions:read", "subscriptions:write")
ACTOR = Actor(None)
# ¥100 a month; API calls at 2 fen beyond 100 included; active users at ¥5; storage at ¥1 a GB.
METERED = PlanPrice(
    (
        FlatFee(10000),
        MeteredPrice(
            "api_calls",
            Aggregation.SUM,
            PriceModel.PER_UNIT,
            unit_fen=2,
            included_quantity=Decimal(100),
        ),
        MeteredPrice("active_users", Aggregation.UNIQUE, PriceModel.PER_UNIT, unit_fen=500),
        MeteredPrice("storage_gb", Aggregation.MAX, PriceModel.PER_UNIT, unit_fen=100),
    )
)


def billing_vendor(client: FlaskClient, scopes: tuple[str, ...] = BILLING_SCOPES) -> ApiVendor:
    """Add a vendor with a live API client holding the billing scopes."""
    return api_vendor(client, scopes)


def fresh_headers(client: FlaskClient, caller: ApiVendor) -> dict[str, str]:
    """Return a new token's bearer header for the vendor, after the clock moved on."""
    issued = make_client(caller.vendor, BILLING_SCOPES, name="Billing again")
    return bearer(access_token(client, issued))


def sandbox_headers(
    client: FlaskClient, caller: ApiVendor, scopes: tuple[str, ...] = BILLING_SCOPES
) -> dict[str, str]:
    """Return a bearer header of a sandbox client of the same vendor."""
    issued = make_client(caller.vendor, scopes, name="Sandbox billing", sandbox=True)
    return bearer(access_token(client, issued))


def metered_plan(caller: ApiVendor, *, sandbox: bool = False, **fields: Any) -> Plan:
    """Publish a listing of the vendor with one metered plan; return the plan."""
    listing = publish_listing(caller.vendor.org, price=METERED, sandbox=sandbox)
    if fields:  # a published plan never changes: publish another with these fields
        return add_plan(listing, METERED, **fields)
    plan: Plan = listing.plans[0]
    return plan


def subscription(
    session: Session, clock: FrozenClock, plan: Plan, *, active: bool = True
) -> Subscription:
    """Subscribe a new firm to the plan and, unless told, have the vendor activate it."""
    made = subs.subscribe(session, clock, ACTOR, firm().id, plan.id)
    if active:
        subs.activate(session, clock, ACTOR, made.vendor_id, made.id, sandbox=plan.listing.sandbox)
    return made


@dataclass
class Metering:
    """A vendor with a token and an active subscription to its metered plan."""

    caller: ApiVendor
    subscription: Subscription

    @property
    def headers(self) -> dict[str, str]:
        """Return the vendor's bearer header."""
        return self.caller.headers


def metering(session: Session, client: FlaskClient, clock: FrozenClock) -> Metering:
    """Set up a vendor with an active subscription to a metered plan."""
    caller = billing_vendor(client)
    return Metering(caller, subscription(session, clock, metered_plan(caller)))


def usage_record(
    subscription_id: int, key: str, at: datetime, quantity: Any = "1", **changes: Any
) -> dict[str, Any]:
    """Return a valid API-calls record of a subscription."""
    return {
        "subscription_id": subscription_id,
        "dimension": "api_calls",
        "quantity": quantity,
        "timestamp": at.isoformat(),
        "idempotency_key": key,
    } | changes


def minutes(n: float) -> timedelta:
    """Return n minutes."""
    return timedelta(minutes=n)
