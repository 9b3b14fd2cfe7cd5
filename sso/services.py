"""Vendor API clients in the vendor console: create, list, rotate the secret, revoke."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock
from marketplace.errors import Conflict, Forbidden, NotFound, ValidationFailed
from marketplace.orgs.models import Membership, OrgKind
from marketplace.orgs.roles import MANAGER_ROLES
from marketplace.orgs.services import check_organization_may_change
from sso import tokens
from sso.credentials import digest, new_client_id, new_client_secret
from sso.models import ApiClient
from sso.scopes import ALLOWED_SCOPES, scope_string, unknown_scopes

NAME_MIN_LENGTH = 2
NAME_MAX_LENGTH = 100
# What the audit log keeps of a client: never its secret, nor the secret's digest.
AUDITED_FIELDS = ("name", "client_id", "scopes", "sandbox", "rotated_at", "revoked_at")


@dataclass(frozen=True)
class IssuedSecret:
    """A client and its new secret, which is shown once and never stored in clear."""

    client: ApiClient
    secret: str


def check_may_manage_api_clients(acting: Membership) -> None:
    """Refuse unless the acting member is an owner or admin of an active vendor."""
    if acting.organization.kind != OrgKind.VENDOR:
        raise NotFound()
    check_organization_may_change(acting.organization)
    if acting.role not in MANAGER_ROLES:
        raise Forbidden(_("Only owners and admins can manage API clients."))


def api_clients_of(session: Session, acting: Membership) -> list[ApiClient]:
    """Return the acting vendor's API clients, newest first."""
    if acting.organization.kind != OrgKind.VENDOR:
        raise NotFound()
    stmt = (
        sa.select(ApiClient)
        .where(ApiClient.organization_id == acting.organization_id)
        .order_by(ApiClient.id.desc())
    )
    return list(session.scalars(stmt))


def api_client_in(
    session: Session, org_id: int, api_client_id: int, *, for_update: bool = False
) -> ApiClient:
    """Return the organization's API client with that id, or raise NotFound."""
    stmt = sa.select(ApiClient).where(
        ApiClient.organization_id == org_id, ApiClient.id == api_client_id
    )
    if for_update:
        # Two rotations at once would each show a secret of which only one works.
        stmt = stmt.with_for_update()
    client = session.scalars(stmt).one_or_none()
    if client is None:
        raise NotFound(_("No such API client in this organization."))
    return client


def _client_name(name: str | None) -> str:
    cleaned = " ".join((name or "").split())
    if not NAME_MIN_LENGTH <= len(cleaned) <= NAME_MAX_LENGTH:
        raise ValidationFailed(
            {
                "name": _(
                    "Enter a name of %(low)d to %(high)d characters.",
                    low=NAME_MIN_LENGTH,
                    high=NAME_MAX_LENGTH,
                )
            }
        )
    return cleaned


def _client_scopes(scopes: list[str]) -> str:
    if not scopes:
        raise ValidationFailed({"scopes": _("Choose at least one scope.")})
    unknown = unknown_scopes(scopes)
    if unknown:
        raise ValidationFailed(
            {"scopes": _("Choose scopes from: %(allowed)s.", allowed=", ".join(ALLOWED_SCOPES))}
        )
    return scope_string(scopes)


def _client_fields(name: str | None, scopes: list[str]) -> tuple[str, str]:
    """Return the cleaned name and scope string, or raise every field's error at once."""
    errors: dict[str, list[str]] = {}
    cleaned_name = cleaned_scopes = ""
    try:
        cleaned_name = _client_name(name)
    except ValidationFailed as error:
        errors.update(error.errors)
    try:
        cleaned_scopes = _client_scopes(scopes)
    except ValidationFailed as error:
        errors.update(error.errors)
    if errors:
        raise ValidationFailed(errors)
    return cleaned_name, cleaned_scopes


def create_api_client(
    session: Session,
    clock: Clock,
    acting: Membership,
    *,
    name: str | None,
    scopes: list[str],
    sandbox: bool,
    actor: Actor,
) -> IssuedSecret:
    """Create an API client for the acting vendor and return it with its one-time secret."""
    check_may_manage_api_clients(acting)
    cleaned_name, cleaned_scopes = _client_fields(name, scopes)
    secret = new_client_secret()
    client = ApiClient(
        organization_id=acting.organization_id,
        name=cleaned_name,
        client_id=new_client_id(),
        client_secret_hash=digest(secret),
        scopes=cleaned_scopes,
        sandbox=sandbox,
        created_at=clock.now(),
        created_by_id=acting.user_id,
    )
    session.add(client)
    session.flush()
    record(
        session,
        clock,
        actor,
        "api_client.created",
        ("api_client", client.id),
        after=snapshot(client, AUDITED_FIELDS),
        subject_org_id=acting.organization_id,
    )
    session.commit()
    return IssuedSecret(client, secret)


def _active_client(session: Session, acting: Membership, api_client_id: int) -> ApiClient:
    check_may_manage_api_clients(acting)
    client = api_client_in(session, acting.organization_id, api_client_id, for_update=True)
    if client.is_revoked:
        raise Conflict(_("This API client was revoked."))
    return client


def rotate_client_secret(
    session: Session, clock: Clock, acting: Membership, api_client_id: int, *, actor: Actor
) -> IssuedSecret:
    """Give the client a new secret; the old one and every token issued with it stop working."""
    client = _active_client(session, acting, api_client_id)
    before = snapshot(client, AUDITED_FIELDS)
    secret = new_client_secret()
    client.client_secret_hash = digest(secret)
    client.rotated_at = clock.now()
    revoked = tokens.revoke_tokens_of(session, clock, client)
    record(
        session,
        clock,
        actor,
        "api_client.secret_rotated",
        ("api_client", client.id),
        before=before,
        after={**snapshot(client, AUDITED_FIELDS), "tokens_revoked": revoked},
        subject_org_id=acting.organization_id,
    )
    session.commit()
    return IssuedSecret(client, secret)


def revoke_api_client(
    session: Session, clock: Clock, acting: Membership, api_client_id: int, *, actor: Actor
) -> ApiClient:
    """Revoke the client and every token it holds; it can get no new token."""
    client = _active_client(session, acting, api_client_id)
    before = snapshot(client, AUDITED_FIELDS)
    client.revoked_at = clock.now()
    revoked = tokens.revoke_tokens_of(session, clock, client)
    record(
        session,
        clock,
        actor,
        "api_client.revoked",
        ("api_client", client.id),
        before=before,
        after={**snapshot(client, AUDITED_FIELDS), "tokens_revoked": revoked},
        subject_org_id=acting.organization_id,
    )
    session.commit()
    return client
