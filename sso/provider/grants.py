"""Grants and everything issued under them: codes, access tokens, refresh tokens.

Codes and refresh tokens are claimed by one conditional UPDATE, so two requests presenting
the same one cannot both win; the loser's presentation counts as a replay and revokes the
whole grant (RFC 6749 section 4.1.2, RFC 9700 section 4.14).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import cast

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from billing.models import Subscription
from catalog.models import Listing
from marketplace.accounts.models import User
from marketplace.clock import Clock
from marketplace.orgs.models import Membership, Organization
from sso.credentials import digest
from sso.provider.claims import OrgClaims, Person
from sso.provider.entitlements import Entitlement, SeatStatus, seats_sold, still_entitled
from sso.provider.models import (
    AppAccessToken,
    AppClient,
    AuthorizationCode,
    Grant,
    PairwiseSubject,
    RefreshToken,
)

CODE_LIFETIME = timedelta(seconds=60)
ACCESS_TOKEN_LIFETIME = timedelta(minutes=15)
REFRESH_TOKEN_LIFETIME = timedelta(days=14)


class RevokedBecause(StrEnum):
    """Why a grant ended."""

    CODE_REUSED = "code_reused"
    REFRESH_REUSED = "refresh_token_reused"
    REVOKED_BY_CLIENT = "revoked_by_client"
    LOGGED_OUT = "logged_out"
    SUBSCRIPTION_ENDED = "subscription_ended"
    SEAT_REMOVED = "seat_removed"
    CONSENT_WITHDRAWN = "consent_withdrawn"
    FIRM_APPROVAL_WITHDRAWN = "firm_approval_withdrawn"
    NO_LONGER_ENTITLED = "no_longer_entitled"


@dataclass(frozen=True)
class Authorization:
    """Who a grant is for, as the code asked: the app, user, firm and request details."""

    app_client: AppClient
    user_id: int
    entitlement: Entitlement
    scope: str
    nonce: str | None
    sid: str
    auth_time: datetime


def subject_for(session: Session, clock: Clock, user_id: int, vendor_id: int) -> str:
    """Return the user's `sub` as this vendor sees it, making one on first use."""
    query = sa.select(PairwiseSubject.subject).where(
        PairwiseSubject.user_id == user_id, PairwiseSubject.vendor_id == vendor_id
    )
    found = session.scalar(query)
    if found is not None:
        return found
    row = PairwiseSubject(
        user_id=user_id,
        vendor_id=vendor_id,
        subject=secrets.token_urlsafe(24),
        created_at=clock.now(),
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another request made it first
        return str(session.scalar(query))
    return row.subject


def app_subject(session: Session, clock: Clock, user_id: int, app_client: AppClient) -> str:
    """Return the user's `sub` as the vendor of app_client sees it."""
    return subject_for(session, clock, user_id, vendor_of(session, app_client))


def open_grant(session: Session, clock: Clock, authorization: Authorization) -> Grant:
    """Add a grant for an authorization (the caller commits)."""
    grant = Grant(
        app_client_id=authorization.app_client.id,
        user_id=authorization.user_id,
        firm_id=authorization.entitlement.firm_id,
        subscription_id=authorization.entitlement.subscription_id,
        scope=authorization.scope,
        nonce=authorization.nonce,
        sid=authorization.sid,
        auth_time=authorization.auth_time,
        created_at=clock.now(),
    )
    session.add(grant)
    session.flush()
    return grant


def add_code(
    session: Session,
    clock: Clock,
    grant: Grant,
    *,
    code: str,
    redirect_uri: str,
    code_challenge: str,
    code_challenge_method: str,
) -> AuthorizationCode:
    """Store a code for grant, only its digest kept; it expires CODE_LIFETIME from now."""
    now = clock.now()
    row = AuthorizationCode(
        code_hash=digest(code),
        grant_id=grant.id,
        redirect_uri=redirect_uri,
        code_challenge=code_challenge,
        code_challenge_method=code_challenge_method,
        issued_at=now,
        expires_at=now + CODE_LIFETIME,
    )
    session.add(row)
    session.flush()
    return row


def revoke_grant(session: Session, clock: Clock, grant_id: int, reason: RevokedBecause) -> None:
    """End a grant and every token issued under it (the caller commits)."""
    now = clock.now()
    session.execute(
        sa.update(Grant)
        .where(Grant.id == grant_id, Grant.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    )
    for table in (AppAccessToken, RefreshToken):
        session.execute(
            sa.update(table)
            .where(table.grant_id == grant_id, table.revoked_at.is_(None))
            .values(revoked_at=now)
        )


class CodeRefused(StrEnum):
    """Why a presented code gives no tokens."""

    UNKNOWN = "unknown"
    OTHER_CLIENT = "other_client"
    EXPIRED = "expired"
    REUSED = "reused"
    GRANT_REVOKED = "grant_revoked"


def claim_code(
    session: Session, clock: Clock, app_client: AppClient, code: str
) -> AuthorizationCode | CodeRefused:
    """Use a code once for app_client; a second use revokes what the first one issued.

    The conditional UPDATE is the single-use guarantee: of two concurrent exchanges only one
    changes the row. A code of another client is refused and left alone, so a thief cannot
    burn a victim's code.
    """
    now = clock.now()
    row = session.scalar(
        sa.select(AuthorizationCode)
        .options(joinedload(AuthorizationCode.grant))
        .where(AuthorizationCode.code_hash == digest(code))
    )
    if row is None:
        return CodeRefused.UNKNOWN
    if row.grant.app_client_id != app_client.id:
        return CodeRefused.OTHER_CLIENT
    won = session.execute(
        sa.update(AuthorizationCode)
        .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=now)
        .returning(AuthorizationCode.id)
    ).scalar_one_or_none()
    if won is None:
        revoke_grant(session, clock, row.grant_id, RevokedBecause.CODE_REUSED)
        session.commit()
        return CodeRefused.REUSED
    if row.expires_at <= now:
        session.commit()
        return CodeRefused.EXPIRED
    if row.grant.revoked_at is not None:
        session.commit()
        return CodeRefused.GRANT_REVOKED
    return row


def use_refresh_token(
    session: Session, clock: Clock, app_client: AppClient, token: str
) -> RefreshToken | None:
    """Use a refresh token once; presenting a used one revokes its whole grant."""
    now = clock.now()
    row = session.scalar(
        sa.select(RefreshToken)
        .options(joinedload(RefreshToken.grant))
        .where(RefreshToken.token_hash == digest(token))
    )
    if row is None or row.grant.app_client_id != app_client.id:
        return None
    won = session.execute(
        sa.update(RefreshToken)
        .where(
            RefreshToken.id == row.id,
            RefreshToken.used_at.is_(None),
            RefreshToken.revoked_at.is_(None),
        )
        .values(used_at=now)
        .returning(RefreshToken.id)
    ).scalar_one_or_none()
    if won is None:
        if row.used_at is not None or row.revoked_at is None:
            revoke_grant(session, clock, row.grant_id, RevokedBecause.REFRESH_REUSED)
        session.commit()
        return None
    if row.expires_at <= now or row.grant.revoked_at is not None:
        session.commit()
        return None
    if not grant_entitled(session, row.grant):
        revoke_grant(session, clock, row.grant_id, RevokedBecause.NO_LONGER_ENTITLED)
        session.commit()
        return None
    return row


def save_tokens(
    session: Session,
    clock: Clock,
    grant: Grant,
    *,
    access_token: str,
    refresh_token: str | None,
    scope: str,
) -> None:
    """Store the digests of tokens issued under grant, and commit."""
    now = clock.now()
    session.add(
        AppAccessToken(
            token_hash=digest(access_token),
            grant_id=grant.id,
            scope=scope,
            issued_at=now,
            expires_at=now + ACCESS_TOKEN_LIFETIME,
        )
    )
    if refresh_token is not None:
        session.add(
            RefreshToken(
                token_hash=digest(refresh_token),
                grant_id=grant.id,
                scope=scope,
                issued_at=now,
                expires_at=now + REFRESH_TOKEN_LIFETIME,
            )
        )
    session.commit()


def active_access_token(session: Session, clock: Clock, token: str) -> AppAccessToken | None:
    """Return the access token if it is live now: unexpired, unrevoked, its grant entitled."""
    row = session.scalar(
        sa.select(AppAccessToken)
        .options(joinedload(AppAccessToken.grant).joinedload(Grant.app_client))
        .where(AppAccessToken.token_hash == digest(token))
    )
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
        return None
    if row.grant.revoked_at is not None:
        return None
    if not grant_entitled(session, row.grant):
        return None
    return row


def active_refresh_token(session: Session, clock: Clock, token: str) -> RefreshToken | None:
    """Return the refresh token if it could be used now."""
    row = session.scalar(
        sa.select(RefreshToken)
        .options(joinedload(RefreshToken.grant).joinedload(Grant.app_client))
        .where(RefreshToken.token_hash == digest(token))
    )
    if row is None or row.revoked_at is not None or row.used_at is not None:
        return None
    if row.expires_at <= clock.now() or row.grant.revoked_at is not None:
        return None
    return row


@dataclass(frozen=True)
class FoundToken:
    """An app token found by its value, for revocation and introspection."""

    kind: str
    grant: Grant
    active: bool
    scope: str
    issued_at: datetime
    expires_at: datetime


def _found(
    session: Session,
    clock: Clock,
    model: type[AppAccessToken] | type[RefreshToken],
    token: str,
) -> FoundToken | None:
    row = cast(
        AppAccessToken | RefreshToken | None,
        session.scalar(
            sa.select(model)
            .options(joinedload(model.grant).joinedload(Grant.app_client))
            .where(model.token_hash == digest(token))
        ),
    )
    if row is None:
        return None
    if isinstance(row, AppAccessToken):
        kind, live = "access_token", active_access_token(session, clock, token) is not None
    else:
        kind = "refresh_token"
        live = active_refresh_token(session, clock, token) is not None
        live = live and grant_entitled(session, row.grant)
    return FoundToken(kind, row.grant, live, row.scope, row.issued_at, row.expires_at)


def find_token(session: Session, clock: Clock, token: str, hint: str | None) -> FoundToken | None:
    """Find an access or refresh token by its value, looking first where the hint says."""
    models: list[type[AppAccessToken] | type[RefreshToken]] = [AppAccessToken, RefreshToken]
    if hint == "refresh_token":
        models.reverse()
    for model in models:
        found = _found(session, clock, model, token)
        if found is not None:
            return found
    return None


def revoke_presented(session: Session, clock: Clock, grant: Grant, kind: str, token: str) -> None:
    """Revoke a token its client presented (RFC 7009); a refresh token ends its grant."""
    if kind == "refresh_token":
        revoke_grant(session, clock, grant.id, RevokedBecause.REVOKED_BY_CLIENT)
    else:
        session.execute(
            sa.update(AppAccessToken)
            .where(AppAccessToken.token_hash == digest(token), AppAccessToken.revoked_at.is_(None))
            .values(revoked_at=clock.now())
        )
    session.commit()


def nonce_used(session: Session, client_id: str, nonce: str) -> bool:
    """Tell whether an app already sent this nonce in an earlier authorization."""
    found = session.scalar(
        sa.select(Grant.id)
        .join(AppClient, AppClient.id == Grant.app_client_id)
        .where(AppClient.client_id == client_id, Grant.nonce == nonce)
        .limit(1)
    )
    return found is not None


def grant_entitled(session: Session, grant: Grant) -> bool:
    """Tell whether a grant's user may still use its subscription."""
    return still_entitled(session, grant.user_id, grant.subscription_id)


def revoke_grants(
    session: Session,
    clock: Clock,
    reason: RevokedBecause,
    *,
    subscription_id: int | None = None,
    user_id: int | None = None,
    sid: str | None = None,
    app_client_id: int | None = None,
) -> int:
    """Revoke every live grant matching the filters given (the caller commits); return how many."""
    query = sa.select(Grant.id).where(Grant.revoked_at.is_(None))
    if subscription_id is not None:
        query = query.where(Grant.subscription_id == subscription_id)
    if user_id is not None:
        query = query.where(Grant.user_id == user_id)
    if sid is not None:
        query = query.where(Grant.sid == sid)
    if app_client_id is not None:
        query = query.where(Grant.app_client_id == app_client_id)
    grant_ids = list(session.scalars(query))
    for grant_id in grant_ids:
        revoke_grant(session, clock, grant_id, reason)
    return len(grant_ids)


def org_claims(session: Session, grant: Grant) -> OrgClaims:
    """Return the firm claims of a grant as they stand now."""
    subscription = session.get(Subscription, grant.subscription_id)
    firm = session.get(Organization, grant.firm_id)
    role = session.scalar(
        sa.select(Membership.role).where(
            Membership.organization_id == grant.firm_id, Membership.user_id == grant.user_id
        )
    )
    assert subscription is not None and firm is not None
    return OrgClaims(
        firm_id=firm.id,
        firm_name=firm.name,
        firm_role=role or "",
        subscription_id=subscription.id,
        plan=subscription.plan.code,
        seat_status=SeatStatus.ASSIGNED if seats_sold(subscription) else SeatStatus.NOT_REQUIRED,
    )


def person(session: Session, user_id: int) -> Person:
    """Return what UserInfo may say of a user."""
    user = session.get(User, user_id)
    assert user is not None
    return Person(user.display_name, user.email, user.is_confirmed, user.locale)


def vendor_of(session: Session, app_client: AppClient) -> int:
    """Return the vendor organization that owns an app client."""
    listing = session.get(Listing, app_client.listing_id)
    assert listing is not None
    return listing.vendor_id
