"""Vendor apps' OpenID Connect clients: one per listing, secrets shown once and stored hashed."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from catalog.models import Listing
from marketplace.clock import Clock
from sso.credentials import digest, new_app_client_id, new_client_secret
from sso.provider.models import AppClient


@dataclass(frozen=True)
class IssuedSecret:
    """An app client and its secret in clear, which is shown this once."""

    client: AppClient
    client_secret: str


def app_client_by_client_id(session: Session, client_id: str) -> AppClient | None:
    """Return the app client with that public id, its listing and vendor loaded, if any."""
    return session.scalar(
        sa.select(AppClient)
        .options(joinedload(AppClient.listing).joinedload(Listing.vendor))
        .where(AppClient.client_id == client_id)
    )


def app_client_of_listing(session: Session, listing_id: int) -> AppClient | None:
    """Return the listing's app client, if it has one."""
    return session.scalar(sa.select(AppClient).where(AppClient.listing_id == listing_id))


def create_app_client(
    session: Session,
    clock: Clock,
    listing: Listing,
    *,
    redirect_uris: list[str],
    post_logout_redirect_uris: list[str] | None = None,
    initiate_login_uri: str | None = None,
    logo_url: str | None = None,
) -> IssuedSecret:
    """Make the listing's app client with a fresh secret (the caller commits)."""
    secret = new_client_secret()
    now = clock.now()
    client = AppClient(
        listing_id=listing.id,
        client_id=new_app_client_id(),
        client_secret_hash=digest(secret),
        redirect_uris=list(redirect_uris),
        post_logout_redirect_uris=list(post_logout_redirect_uris or []),
        initiate_login_uri=initiate_login_uri,
        logo_url=logo_url,
        created_at=now,
        updated_at=now,
    )
    session.add(client)
    session.flush()
    return IssuedSecret(client, secret)
