"""Issue access tokens to API clients and authenticate the bearer tokens they present."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from marketplace.api import ApiCaller
from marketplace.clock import Clock
from sso.credentials import digest, secret_matches
from sso.models import AccessToken, ApiClient

ACCESS_TOKEN_LIFETIME = timedelta(hours=1)


class TokenRefused(Exception):
    """A bearer token that cannot be used; the message says why, in plain ASCII."""


def client_by_client_id(session: Session, client_id: str) -> ApiClient | None:
    """Return the API client with that public id, its organization loaded, if any."""
    stmt = (
        sa.select(ApiClient)
        .options(joinedload(ApiClient.organization))
        .where(ApiClient.client_id == client_id)
    )
    return session.scalars(stmt).one_or_none()


def client_secret_is(client: ApiClient, secret: str) -> bool:
    """Tell whether secret is the client's current secret."""
    return secret_matches(secret, client.client_secret_hash)


def client_refusal(client: ApiClient) -> str | None:
    """Say why an authenticated client may get no token now, or None when it may."""
    if client.is_revoked:
        return "This API client was revoked."
    if not client.organization.is_active:
        return "The vendor organization of this API client is suspended."
    return None


def issue_access_token(
    session: Session, clock: Clock, client: ApiClient, *, access_token: str, scope: str
) -> AccessToken:
    """Store a new token's digest for client; it expires ACCESS_TOKEN_LIFETIME from now."""
    now = clock.now()
    token = AccessToken(
        client_id=client.id,
        token_hash=digest(access_token),
        scope=scope,
        issued_at=now,
        expires_at=now + ACCESS_TOKEN_LIFETIME,
    )
    session.add(token)
    session.commit()
    return token


def authenticate_bearer(session: Session, clock: Clock, token_string: str) -> ApiCaller:
    """Return who presents token_string, or raise TokenRefused saying why it is not usable."""
    stmt = (
        sa.select(AccessToken)
        .options(joinedload(AccessToken.client).joinedload(ApiClient.organization))
        .where(AccessToken.token_hash == digest(token_string))
    )
    token = session.scalars(stmt).one_or_none()
    if token is None:
        raise TokenRefused("The access token is not known.")
    if token.revoked_at is not None:
        raise TokenRefused("The access token was revoked.")
    if token.expires_at <= clock.now():
        raise TokenRefused("The access token has expired; request a new one.")
    rotated_at = token.client.rotated_at
    # A token issued with the old secret while the secret changed escapes the bulk revoke.
    if rotated_at is not None and token.issued_at < rotated_at:
        raise TokenRefused("The access token was issued before the client's secret changed.")
    refusal = client_refusal(token.client)
    if refusal is not None:
        raise TokenRefused(refusal)
    return _caller(token)


def _caller(token: AccessToken) -> ApiCaller:
    client = token.client
    return ApiCaller(
        client_id=client.client_id,
        client_name=client.name,
        organization_id=client.organization_id,
        organization_name=client.organization.name,
        scopes=tuple(token.scope.split()),
        sandbox=client.sandbox,
    )


def revoke_tokens_of(session: Session, clock: Clock, client: ApiClient) -> int:
    """Revoke every unrevoked token of client (without committing); return how many."""
    result = session.execute(
        sa.update(AccessToken)
        .where(AccessToken.client_id == client.id, AccessToken.revoked_at.is_(None))
        .values(revoked_at=clock.now())
    )
    return int(getattr(result, "rowcount", 0) or 0)
