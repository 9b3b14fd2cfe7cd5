"""The mails of dunning, sent to a firm's owners, admins and billing members.

Each message is a text template under templates/billing/emails/, rendered in the language
each recipient chose (Chinese by default) and queued in the caller's transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from billing.models import Invoice
from catalog.models import ReviewStatus
from marketplace.accounts.models import User
from marketplace.clock import Clock, local_time_text
from marketplace.mail.services import queue_email
from marketplace.money import format_fen
from marketplace.orgs.models import Membership, Role

PAYMENT_FAILED = "payment_failed"
CARD_MISSING = "card_missing"
SUSPENDED = "service_suspended"
PAYMENT_RECEIVED = "payment_received"
BILLING_ROLES = (Role.OWNER, Role.ADMIN, Role.BILLING)
LOCALES = ("zh_CN", "en")


def billing_contacts(session: Session, org_id: int) -> list[User]:
    """Return the active owners, admins and billing members of a firm, by id."""
    stmt = (
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == org_id, Membership.role.in_(BILLING_ROLES))
        .order_by(User.id)
    )
    return [user for user in session.scalars(stmt) if user.is_active]


def invoice_link(invoice: Invoice) -> str:
    """Return the absolute address of the firm's page of an invoice, outside any request."""
    settings = current_app.config["SETTINGS"]
    path = current_app.url_map.bind("localhost").build(
        "invoices.detail", {"invoice_id": invoice.id}
    )
    return str(settings.public_url).rstrip("/") + path


def _subject(kind: str, label: str) -> str:
    subjects = {
        PAYMENT_FAILED: _("Payment of invoice %(number)s failed", number=label),
        CARD_MISSING: _("Add a card to pay invoice %(number)s", number=label),
        SUSPENDED: _("Service suspended: invoice %(number)s is unpaid", number=label),
        PAYMENT_RECEIVED: _("Payment of invoice %(number)s received", number=label),
    }
    return str(subjects[kind])


def mail_billing_contacts(
    session: Session,
    clock: Clock,
    invoice: Invoice,
    kind: str,
    **context: Any,
) -> int:
    """Queue one dunning mail of a kind to each billing contact of the invoice's firm."""
    sent = 0
    for user in billing_contacts(session, invoice.organization_id):
        locale = user.locale if user.locale in LOCALES else "zh_CN"
        with force_locale(locale):
            label = invoice.number or f"#{invoice.id}"
            body = render_template(
                f"billing/emails/{kind}.html",
                name=user.display_name,
                firm=invoice.organization.name,
                number=label,
                amount=format_fen(invoice.amount_due_fen, invoice.currency),
                service=service_name(invoice, locale),
                link=invoice_link(invoice),
                **{key: _shown(value) for key, value in context.items()},
            )
            queue_email(
                session, clock, to=user.email, kind=kind, subject=_subject(kind, label), body=body
            )
        sent += 1
    return sent


def service_name(invoice: Invoice, locale: str) -> str:
    """Name the invoice's service by its newest approved content, in a language."""
    listing = invoice.subscription.listing
    approved = [v for v in listing.versions if v.review_status == ReviewStatus.APPROVED]
    versions = approved or listing.versions
    if not versions:
        return listing.slug
    version = versions[-1]
    return (version.name_en if locale == "en" else "") or version.name_zh


def _shown(value: Any) -> Any:
    return local_time_text(value) if isinstance(value, datetime) else value
