"""Import every model of the marketplace package so the metadata knows all its tables."""

from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.events.models import OutboxEvent
from marketplace.firms.models import ParkMembership, SizeStandardRecord, SmeProfile
from marketplace.idempotency_models import IdempotencyKey
from marketplace.mail.models import OutboundEmail
from marketplace.orgs.models import Invitation, Membership, Organization
from marketplace.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

__all__ = [
    "AuditEntry",
    "IdempotencyKey",
    "Invitation",
    "Membership",
    "Organization",
    "OutboundEmail",
    "OutboxEvent",
    "ParkMembership",
    "SizeStandardRecord",
    "SmeProfile",
    "User",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
