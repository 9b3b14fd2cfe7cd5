"""Vendor API clients and the bearer tokens issued to them; the provider's signing keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.db import Base, check_in
from marketplace.orgs.models import Organization


class ApiClient(Base):
    """A vendor's OAuth 2.0 client for the API; its secret is stored only as a digest."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    client_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    client_secret_hash: Mapped[str] = mapped_column(sa.String(64))
    scopes: Mapped[str] = mapped_column(sa.String(200))
    sandbox: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship()

    @property
    def scope_list(self) -> list[str]:
        """Return the client's scopes as a list."""
        return self.scopes.split()

    @property
    def is_revoked(self) -> bool:
        """Tell whether the client was revoked."""
        return self.revoked_at is not None


class AccessToken(Base):
    """A bearer token issued to an API client; only its digest is stored."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(
        sa.ForeignKey("api_clients.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scope: Mapped[str] = mapped_column(sa.String(200))
    issued_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    client: Mapped[ApiClient] = relationship()


class SigningKeyStatus(StrEnum):
    """Where a signing key is in its life: signing, still published, or gone."""

    ACTIVE = "active"
    RETIRING = "retiring"
    RETIRED = "retired"


class SigningKey(Base):
    """A key the provider signs tokens with; the private half is stored sealed."""

    __tablename__ = "signing_keys"
    __table_args__ = (
        sa.CheckConstraint(check_in("status", SigningKeyStatus), name="status"),
        sa.CheckConstraint("algorithm = 'RS256'", name="algorithm"),
        # Tokens are signed by one key at a time; two active keys would be a race lost.
        sa.Index(
            "uq_signing_keys_one_active",
            "status",
            unique=True,
            postgresql_where=sa.text("status = 'active'"),
            sqlite_where=sa.text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kid: Mapped[str] = mapped_column(sa.String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(sa.String(10))
    private_key_sealed: Mapped[str] = mapped_column(sa.Text)
    public_jwk: Mapped[dict[str, str]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(16))
    created_at: Mapped[datetime]
    activated_at: Mapped[datetime]
    retire_after: Mapped[datetime | None]
