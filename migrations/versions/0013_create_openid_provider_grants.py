"""Create the OpenID provider's app clients, grants, codes, tokens, consents and subjects.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26 18:10:03.606088
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "pairwise_subjects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_pairwise_subjects_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_pairwise_subjects_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pairwise_subjects")),
        sa.UniqueConstraint("subject", name=op.f("uq_pairwise_subjects_subject")),
        sa.UniqueConstraint(
            "user_id", "vendor_id", name=op.f("uq_pairwise_subjects_user_id_vendor_id")
        ),
    )
    op.create_index(
        op.f("ix_pairwise_subjects_vendor_id"), "pairwise_subjects", ["vendor_id"], unique=False
    )
    op.create_table(
        "app_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("listing_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("client_secret_hash", sa.String(length=64), nullable=False),
        sa.Column("redirect_uris", sa.JSON(), nullable=False),
        sa.Column("post_logout_redirect_uris", sa.JSON(), nullable=False),
        sa.Column("initiate_login_uri", sa.String(length=500), nullable=True),
        sa.Column("logo_url", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("secret_rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["listing_id"],
            ["listings.id"],
            name=op.f("fk_app_clients_listing_id_listings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_app_clients_client_id")),
        sa.UniqueConstraint("listing_id", name=op.f("uq_app_clients_listing_id")),
    )
    op.create_table(
        "sso_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("app_client_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_client_id"],
            ["app_clients.id"],
            name=op.f("fk_sso_consents_app_client_id_app_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sso_consents_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_consents")),
        sa.UniqueConstraint(
            "user_id", "app_client_id", name=op.f("uq_sso_consents_user_id_app_client_id")
        ),
    )
    op.create_index(op.f("ix_sso_consents_user_id"), "sso_consents", ["user_id"], unique=False)
    op.create_table(
        "sso_firm_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("app_client_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("approved_by_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_client_id"],
            ["app_clients.id"],
            name=op.f("fk_sso_firm_approvals_app_client_id_app_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["approved_by_id"],
            ["users.id"],
            name=op.f("fk_sso_firm_approvals_approved_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organizations.id"],
            name=op.f("fk_sso_firm_approvals_firm_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_firm_approvals")),
        sa.UniqueConstraint(
            "firm_id", "app_client_id", name=op.f("uq_sso_firm_approvals_firm_id_app_client_id")
        ),
    )
    op.create_index(
        op.f("ix_sso_firm_approvals_app_client_id"),
        "sso_firm_approvals",
        ["app_client_id"],
        unique=False,
    )
    op.create_table(
        "sso_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("app_client_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("firm_id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("nonce", sa.String(length=255), nullable=True),
        sa.Column("sid", sa.String(length=64), nullable=False),
        sa.Column("auth_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["app_client_id"],
            ["app_clients.id"],
            name=op.f("fk_sso_grants_app_client_id_app_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["organizations.id"],
            name=op.f("fk_sso_grants_firm_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["subscriptions.id"],
            name=op.f("fk_sso_grants_subscription_id_subscriptions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sso_grants_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sso_grants")),
    )
    op.create_index(
        op.f("ix_sso_grants_app_client_id"), "sso_grants", ["app_client_id"], unique=False
    )
    op.create_index(op.f("ix_sso_grants_sid"), "sso_grants", ["sid"], unique=False)
    op.create_index(
        "ix_sso_grants_subscription_user",
        "sso_grants",
        ["subscription_id", "user_id"],
        unique=False,
    )
    op.create_index(op.f("ix_sso_grants_user_id"), "sso_grants", ["user_id"], unique=False)
    op.create_table(
        "app_access_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["sso_grants.id"],
            name=op.f("fk_app_access_tokens_grant_id_sso_grants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_access_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_app_access_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_app_access_tokens_grant_id"), "app_access_tokens", ["grant_id"], unique=False
    )
    op.create_table(
        "authorization_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=500), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("code_challenge_method", sa.String(length=10), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["sso_grants.id"],
            name=op.f("fk_authorization_codes_grant_id_sso_grants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorization_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_authorization_codes_code_hash")),
    )
    op.create_index(
        op.f("ix_authorization_codes_grant_id"), "authorization_codes", ["grant_id"], unique=False
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("grant_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["sso_grants.id"],
            name=op.f("fk_refresh_tokens_grant_id_sso_grants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_refresh_tokens_grant_id"), "refresh_tokens", ["grant_id"], unique=False
    )


def downgrade() -> None:
    """Revert this revision."""
    op.drop_index(op.f("ix_refresh_tokens_grant_id"), table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index(op.f("ix_authorization_codes_grant_id"), table_name="authorization_codes")
    op.drop_table("authorization_codes")
    op.drop_index(op.f("ix_app_access_tokens_grant_id"), table_name="app_access_tokens")
    op.drop_table("app_access_tokens")
    op.drop_index(op.f("ix_sso_grants_user_id"), table_name="sso_grants")
    op.drop_index("ix_sso_grants_subscription_user", table_name="sso_grants")
    op.drop_index(op.f("ix_sso_grants_sid"), table_name="sso_grants")
    op.drop_index(op.f("ix_sso_grants_app_client_id"), table_name="sso_grants")
    op.drop_table("sso_grants")
    op.drop_index(op.f("ix_sso_firm_approvals_app_client_id"), table_name="sso_firm_approvals")
    op.drop_table("sso_firm_approvals")
    op.drop_index(op.f("ix_sso_consents_user_id"), table_name="sso_consents")
    op.drop_table("sso_consents")
    op.drop_table("app_clients")
    op.drop_index(op.f("ix_pairwise_subjects_vendor_id"), table_name="pairwise_subjects")
    op.drop_table("pairwise_subjects")
