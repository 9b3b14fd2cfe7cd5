"""Helpers of the catalog workflow tests: a vendor, the operator, valid content and plans."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from catalog.models import Listing
from catalog.services import listings, plans, review
from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.events.models import OutboxEvent
from marketplace.orgs.models import Organization, OrgKind, Role
from tests.factories import make_member, make_org, make_user


@dataclass
class Party:
    """An organization, one of its people, and the actor they make."""

    org: Organization
    user: User

    @property
    def actor(self) -> Actor:
        """Return the actor this person makes when acting for the organization."""
        return Actor(self.user.id, self.org.id)


def make_vendor(name: str | None = None) -> Party:
    """Add a vendor organization with an owner."""
    org = make_org(OrgKind.VENDOR, name)
    return Party(org, make_member(org, make_user(), Role.OWNER))


def make_operator(role: str = Role.OWNER) -> Party:
    """Add the operator organization with a member in role."""
    org = make_org(OrgKind.OPERATOR, "Yunshi Operations")
    return Party(org, make_member(org, make_user(), role))


def content(**changes: Any) -> dict[str, Any]:
    """Return valid listing content, with changes."""
    return {
        "slug": "cloud-ledger",
        "name_zh": "云账本",
        "name_en": "Cloud Ledger",
        "summary_zh": "小微企业的在线记账",
        "summary_en": "Online bookkeeping for small firms",
        "description_md": "# Cloud Ledger\n\nBooks in the cloud.",
        "layer_category": "saas",
        "business_categories": ["finance"],
        "logo_url": "https://ledger.example/logo.png",
        "screenshots": ["https://ledger.example/1.png"],
        "support_email": "help@ledger.example",
        "support_phone": "+86 591 8888 0000",
        "launch_url": "https://app.ledger.example/",
        "sso_redirect_uris": ["https://app.ledger.example/callback", "http://localhost:8000/cb"],
        **changes,
    }


def plan_terms(code: str = "standard", **changes: Any) -> dict[str, Any]:
    """Return valid plan terms with a flat fee, seats and tiered API calls, with changes."""
    return {
        "code": code,
        "name_zh": "标准版",
        "name_en": "Standard",
        "billing_interval": "month",
        "trial_days": 14,
        "components": [
            {"kind": "flat", "amount_fen": 9900},
            {"kind": "seat", "unit_amount_fen": 2000, "min_seats": 1, "max_seats": 50},
            {
                "kind": "metered",
                "dimension": "api_calls",
                "unit_name_zh": "次",
                "unit_name_en": "call",
                "aggregation": "sum",
                "model": "graduated",
                "included_quantity": "1000",
                "tiers": [
                    {"up_to": "10000", "unit_amount_fen": 2},
                    {"up_to": None, "unit_amount_fen": 1},
                ],
            },
        ],
        **changes,
    }


def draft_with_plan(session: Session, clock: Clock, vendor: Party, **changes: Any) -> Listing:
    """Create a draft listing of the vendor with one plan."""
    listing = listings.create_listing(
        session, clock, vendor.actor, vendor.org.id, content(**changes)
    )
    plans.add_plan(session, clock, vendor.actor, vendor.org.id, listing.id, plan_terms())
    return listing


def submitted(session: Session, clock: Clock, vendor: Party, **changes: Any) -> Listing:
    """Create a listing with a plan and submit it for review."""
    listing = draft_with_plan(session, clock, vendor, **changes)
    return review.submit_for_review(session, clock, vendor.actor, vendor.org.id, listing.id)


def published(
    session: Session, clock: Clock, vendor: Party, operator: Party, **changes: Any
) -> Listing:
    """Create a listing with a plan, submit it, and have the operator approve it."""
    listing = submitted(session, clock, vendor, **changes)
    return review.approve(session, clock, operator.actor, listing.id)


def events(session: Session, type: str | None = None) -> list[OutboxEvent]:
    """Return the outbox events (of a type), oldest first."""
    stmt = sa.select(OutboxEvent).order_by(OutboxEvent.id)
    if type:
        stmt = stmt.where(OutboxEvent.type == type)
    return list(session.scalars(stmt))


def audit(session: Session, action: str | None = None) -> list[AuditEntry]:
    """Return the audit entries (of an action), oldest first."""
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(session.scalars(stmt))


def count(session: Session, model: type[Any]) -> int:
    """Return how many rows a table holds."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
