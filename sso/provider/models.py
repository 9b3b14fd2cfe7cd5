"""The provider's records: app clients, codes, grants and their tokens, consents, subjects.

A grant is one authorization of one user for one app client within one firm's subscription;
the code, the access tokens and the refresh tokens of a grant live and die with it. Codes and
tokens are stored only as digests.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from catalog.models import Listing
from marketplace.db import Base


class AppClient(Base):
    """A vendor app's OpenID Connect client; one per listing, its secret stored as a digest."""

    __tablename__ = "app_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(
        sa.ForeignKey("listings.id", ondelete="CASCADE"), unique=True
    )
    client_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(sa.String(64))
    redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    post_logout_redirect_uris: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Where "Open app" sends the user so the app starts the flow (OIDC Core 4).
    initiate_login_uri: Mapped[str | None] = mapped_column(sa.String(500))
    logo_url: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    secret_rotated_at: Mapped[datetime | None]

    listing: Mapped[Listing] = relationship()


class PairwiseSubject(Base):
    """The `sub` a vendor sees for a user: random, one per (user, vendor), never reused."""

    __tablename__ = "pairwise_subjects"
    __table_args__ = (sa.UniqueConstraint("user_id", "vendor_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    vendor_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    subject: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]


class Grant(Base):
    """One user's authorization of one app within a firm; revoking it ends all its tokens."""

    __tablename__ = "sso_grants"
    __table_args__ = (sa.Index("ix_sso_grants_subscription_user", "subscription_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    app_client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("app_clients.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    subscription_id: Mapped[int] = mapped_column(
        sa.ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    scope: Mapped[str] = mapped_column(sa.String(200))
    nonce: Mapped[str | None] = mapped_column(sa.String(255))
    sid: Mapped[str] = mapped_column(sa.String(64), index=True)
    auth_time: Mapped[datetime]
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(sa.String(40))

    app_client: Mapped[AppClient] = relationship()


class AuthorizationCode(Base):
    """A single-use code for a grant, bound to its client, redirect URI and PKCE challenge."""

    __tablename__ = "authorization_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    grant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sso_grants.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(sa.String(500))
    code_challenge: Mapped[str] = mapped_column(sa.String(128))
    code_challenge_method: Mapped[str] = mapped_column(sa.String(10))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    grant: Mapped[Grant] = relationship()


class AppAccessToken(Base):
    """An access token of a grant, for UserInfo and the vendor's own API calls."""

    __tablename__ = "app_access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    grant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sso_grants.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(sa.String(200))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    grant: Mapped[Grant] = relationship()


class RefreshToken(Base):
    """A refresh token of a grant; used once, then replaced; a replay revokes the grant."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    grant_id: Mapped[int] = mapped_column(
        sa.ForeignKey("sso_grants.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(sa.String(200))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    grant: Mapped[Grant] = relationship()


class Consent(Base):
    """A user's remembered decision to let an app receive the listed scopes."""

    __tablename__ = "sso_consents"
    __table_args__ = (sa.UniqueConstraint("user_id", "app_client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    app_client_id: Mapped[int] = mapped_column(sa.ForeignKey("app_clients.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(sa.String(200))
    granted_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    app_client: Mapped[AppClient] = relationship()


class FirmApproval(Base):
    """A firm admin's approval of an app for every member of the firm."""

    __tablename__ = "sso_firm_approvals"
    __table_args__ = (sa.UniqueConstraint("firm_id", "app_client_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    firm_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    app_client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("app_clients.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(sa.String(200))
    approved_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    approved_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    app_client: Mapped[AppClient] = relationship()
