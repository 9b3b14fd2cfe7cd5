"""Vendors' webhook endpoints: register, change, rotate the secret, read the delivery log.

Every function acts for one vendor organization (`Owner`): the console acts in both
modes, an API client only in its own (sandbox or live), and anything outside answers as
if it did not exist. Test events and redelivery by hand live in `redelivery`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor, record
from marketplace.clock import Clock
from marketplace.errors import NotFound, ValidationFailed
from marketplace.orgs.models import Organization, OrgKind
from marketplace.orgs.services import check_organization_may_change
from marketplace.pagination import Page, PageRequest, paginate
from marketplace.webhooks import sealing
from marketplace.webhooks.delivery import UrlRefused, check_url
from marketplace.webhooks.event_types import (
    EVENT_TYPES,
    ordered_event_types,
    unknown_event_types,
)
from marketplace.webhooks.models import (
    EndpointStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from marketplace.webhooks.relay import release_held_deliveries

URL_MAX_LENGTH = 2000
DESCRIPTION_MAX_LENGTH = 200
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
AUDITED = ("url", "description", "event_types", "sandbox", "status")


@dataclass(frozen=True)
class Owner:
    """The vendor acting, and the mode it acts in (None: both, as in the console)."""

    org_id: int
    sandbox: bool | None = None


@dataclass(frozen=True)
class IssuedSecret:
    """An endpoint with its new signing secret, which is shown only this once."""

    endpoint: WebhookEndpoint
    secret: str


def in_production() -> bool:
    """Tell whether URLs must follow the production rules."""
    return bool(current_app.config["SETTINGS"].is_production)


def vendor_org(session: Session, org_id: int) -> Organization:
    """Return the acting vendor organization, or raise NotFound."""
    org = session.get(Organization, org_id)
    if org is None or org.kind != OrgKind.VENDOR:
        raise NotFound()
    return org


def in_mode(stmt: sa.Select[Any], owner: Owner) -> sa.Select[Any]:
    """Limit a query of endpoints to the owner's, in the owner's mode."""
    stmt = stmt.where(WebhookEndpoint.organization_id == owner.org_id)
    if owner.sandbox is not None:
        stmt = stmt.where(WebhookEndpoint.sandbox == owner.sandbox)
    return stmt


def endpoints_of(session: Session, owner: Owner) -> list[WebhookEndpoint]:
    """Return the vendor's endpoints, newest first."""
    vendor_org(session, owner.org_id)
    stmt = in_mode(sa.select(WebhookEndpoint), owner).order_by(WebhookEndpoint.id.desc())
    return list(session.scalars(stmt))


def endpoints_page(session: Session, owner: Owner, page: PageRequest) -> Page[WebhookEndpoint]:
    """Read one page of the vendor's endpoints, oldest first."""
    stmt = in_mode(sa.select(WebhookEndpoint), owner)
    return paginate(session, stmt, [WebhookEndpoint.id.expression], page, lambda e: (e.id,))


def endpoint_of(
    session: Session, owner: Owner, endpoint_id: int, *, for_update: bool = False
) -> WebhookEndpoint:
    """Return the vendor's endpoint with that id, or raise NotFound."""
    stmt = in_mode(sa.select(WebhookEndpoint), owner).where(WebhookEndpoint.id == endpoint_id)
    if for_update:
        stmt = stmt.with_for_update()
    endpoint: WebhookEndpoint | None = session.scalars(stmt).one_or_none()
    if endpoint is None:
        raise NotFound(_("No such webhook endpoint."))
    return endpoint


def clean_url(url: object) -> str:
    """Return a URL webhooks may be sent to, or raise ValidationFailed naming `url`."""
    text = url.strip() if isinstance(url, str) else ""
    if not text or len(text) > URL_MAX_LENGTH:
        raise ValidationFailed({"url": [_("Enter a URL of at most 2,000 characters.")]})
    try:
        return check_url(text, production=in_production())
    except UrlRefused as refused:
        raise ValidationFailed({"url": [_url_problem(refused.code)]}) from None


def _url_problem(code: str) -> str:
    if code == "scheme":
        text = _("Use an https URL (plain http only for a loopback host outside production).")
    elif code == "private":
        text = _("Webhooks cannot go to a private or loopback address.")
    else:
        text = _("Enter a valid http(s) URL with a host and no user name or password.")
    return str(text)


def clean_event_types(types: object) -> list[str]:
    """Return the distinct known event types, or raise ValidationFailed naming `event_types`."""
    if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
        raise ValidationFailed({"event_types": [_("Choose at least one event type.")]})
    if unknown_event_types(types):
        allowed = ", ".join(EVENT_TYPES)
        raise ValidationFailed(
            {"event_types": [_("Choose event types from: %(allowed)s.", allowed=allowed)]}
        )
    return ordered_event_types(types)


def clean_description(description: object) -> str:
    """Return a tidied description, or raise ValidationFailed naming `description`."""
    text = " ".join(description.split()) if isinstance(description, str) else ""
    if len(text) > DESCRIPTION_MAX_LENGTH:
        raise ValidationFailed({"description": [_("Keep the description to 200 characters.")]})
    return text


def _cleaned(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Clean each field given, raising every field's error at once."""
    cleaners = {
        "url": clean_url,
        "event_types": clean_event_types,
        "description": clean_description,
    }
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in changes.items():
        try:
            cleaned[name] = cleaners[name](value)
        except ValidationFailed as error:
            errors.update(error.errors)
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _audit(
    session: Session,
    clock: Clock,
    actor: Actor,
    action: str,
    endpoint: WebhookEndpoint,
    before: dict[str, Any] | None = None,
) -> None:
    after = {key: getattr(endpoint, key) for key in AUDITED}
    target = ("webhook_endpoint", endpoint.id)
    record(session, clock, actor, action, target, before=before, after=after,
           subject_org_id=endpoint.organization_id)  # fmt: skip


def _snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {key: getattr(endpoint, key) for key in AUDITED}


def create_endpoint(
    session: Session,
    clock: Clock,
    actor: Actor,
    owner: Owner,
    fields: Mapping[str, Any],
    *,
    sandbox: bool,
) -> IssuedSecret:
    """Register an endpoint (url, event_types, description) and return its one-time secret."""
    check_organization_may_change(vendor_org(session, owner.org_id))
    cleaned = _cleaned({"description": "", **fields})
    if "url" not in cleaned or "event_types" not in cleaned:
        _cleaned({"url": fields.get("url"), "event_types": fields.get("event_types")})
    secret, now = sealing.new_signing_secret(), clock.now()
    endpoint = WebhookEndpoint(
        organization_id=owner.org_id,
        url=cleaned["url"],
        description=cleaned["description"],
        event_types=cleaned["event_types"],
        sandbox=sandbox if owner.sandbox is None else owner.sandbox,
        status=EndpointStatus.ENABLED,
        secret_sealed=sealing.seal(secret, sealing.current_key()),
        created_at=now,
        updated_at=now,
    )
    session.add(endpoint)
    session.flush()
    _audit(session, clock, actor, "webhook_endpoint.created", endpoint)
    session.commit()
    return IssuedSecret(endpoint, secret)


def update_endpoint(
    session: Session,
    clock: Clock,
    actor: Actor,
    owner: Owner,
    endpoint_id: int,
    changes: Mapping[str, Any],
) -> WebhookEndpoint:
    """Change an endpoint's url, event types, description, or switch it on or off (`enabled`)."""
    check_organization_may_change(vendor_org(session, owner.org_id))
    endpoint = endpoint_of(session, owner, endpoint_id, for_update=True)
    wanted = dict(changes)
    enabled = wanted.pop("enabled", None)
    cleaned = _cleaned(wanted)
    before = _snapshot(endpoint)
    for name, value in cleaned.items():
        setattr(endpoint, name, value)
    if enabled is False:
        endpoint.status = EndpointStatus.DISABLED
    elif enabled is True and endpoint.status == EndpointStatus.DISABLED:
        endpoint.status = EndpointStatus.ENABLED
        release_held_deliveries(session, endpoint.id, clock.now())
    endpoint.updated_at = clock.now()
    _audit(session, clock, actor, "webhook_endpoint.updated", endpoint, before)
    session.commit()
    return endpoint


def delete_endpoint(
    session: Session, clock: Clock, actor: Actor, owner: Owner, endpoint_id: int
) -> None:
    """Delete an endpoint with its deliveries and their log."""
    check_organization_may_change(vendor_org(session, owner.org_id))
    endpoint = endpoint_of(session, owner, endpoint_id, for_update=True)
    before = _snapshot(endpoint)
    record(session, clock, actor, "webhook_endpoint.deleted", ("webhook_endpoint", endpoint.id),
           before=before, subject_org_id=endpoint.organization_id)  # fmt: skip
    session.delete(endpoint)
    session.commit()


def rotate_secret(
    session: Session,
    clock: Clock,
    actor: Actor,
    owner: Owner,
    endpoint_id: int,
    *,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> IssuedSecret:
    """Give an endpoint a new secret; the old one keeps signing too for `overlap`."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise ValidationFailed({"overlap_hours": [_("Choose an overlap of 0 to 168 hours.")]})
    check_organization_may_change(vendor_org(session, owner.org_id))
    endpoint = endpoint_of(session, owner, endpoint_id, for_update=True)
    secret, now = sealing.new_signing_secret(), clock.now()
    endpoint.previous_secret_sealed = endpoint.secret_sealed if overlap else None
    endpoint.previous_secret_expires_at = now + overlap if overlap else None
    endpoint.secret_sealed = sealing.seal(secret, sealing.current_key())
    endpoint.secret_rotated_at = endpoint.updated_at = now
    record(session, clock, actor, "webhook_endpoint.secret_rotated",
           ("webhook_endpoint", endpoint.id), after={"overlap_seconds": overlap.total_seconds()},
           subject_org_id=endpoint.organization_id)  # fmt: skip
    session.commit()
    return IssuedSecret(endpoint, secret)


def deliveries_page(
    session: Session, owner: Owner, endpoint_id: int, page: PageRequest
) -> Page[WebhookDelivery]:
    """Read one page of an endpoint's deliveries, newest event first."""
    endpoint = endpoint_of(session, owner, endpoint_id)
    stmt = sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if page.after is not None:
        stmt = stmt.where(WebhookDelivery.id < page.after[0])
    rows = session.scalars(stmt.order_by(WebhookDelivery.id.desc()).limit(page.limit + 1)).all()
    items = list(rows[: page.limit])
    more = len(rows) > page.limit
    return Page(items, (items[-1].id,) if more and items else None)


def delivery_of(session: Session, owner: Owner, delivery_id: int) -> WebhookDelivery:
    """Return a delivery to one of the vendor's endpoints, or raise NotFound."""
    stmt = in_mode(sa.select(WebhookDelivery).join(WebhookDelivery.endpoint), owner).where(
        WebhookDelivery.id == delivery_id
    )
    delivery: WebhookDelivery | None = session.scalars(stmt).one_or_none()
    if delivery is None:
        raise NotFound(_("No such delivery."))
    return delivery


def attempts_of(
    session: Session, deliveries: list[WebhookDelivery]
) -> dict[int, list[WebhookAttempt]]:
    """Return each delivery's attempts, first first, read in one query."""
    found: dict[int, list[WebhookAttempt]] = {d.id: [] for d in deliveries}
    if not found:
        return found
    stmt = sa.select(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(list(found)))
    for attempt in session.scalars(
        stmt.order_by(WebhookAttempt.delivery_id, WebhookAttempt.number)
    ):
        found[attempt.delivery_id].append(attempt)
    return found
