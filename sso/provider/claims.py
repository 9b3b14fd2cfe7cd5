"""What the provider tells an app about a user: ID token claims and UserInfo, by scope.

Pure functions. The ID token carries only who (`sub`, `sid`, `auth_time`) and the firm the
user opens the app under; profile and email go to UserInfo, and only for their scopes.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

SUPPORTED_SCOPES: tuple[str, ...] = ("openid", "profile", "email")
ORG_CLAIMS: tuple[str, ...] = (
    "firm_id",
    "firm_name",
    "firm_role",
    "subscription_id",
    "plan",
    "seat_status",
)
ID_TOKEN_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True)
class OrgClaims:
    """The firm a user opens an app under, as the app is told."""

    firm_id: int
    firm_name: str
    firm_role: str
    subscription_id: int
    plan: str
    seat_status: str

    def as_dict(self) -> dict[str, object]:
        """Return the claims by name."""
        return {name: getattr(self, name) for name in ORG_CLAIMS}


@dataclass(frozen=True)
class Person:
    """What UserInfo may say of a user."""

    name: str
    email: str
    email_verified: bool
    locale: str | None


def half_hash(value: str) -> str:
    """Return the left half of SHA-256 of value, base64url without padding (`at_hash`)."""
    digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode("ascii")


def app_sid(session_sid: str, client_id: str) -> str:
    """Return the `sid` one app sees for a sign-in: different per app, so apps cannot join
    their users on it, and unguessable without the session's own id."""
    digest = hashlib.sha256(f"{session_sid}\x00{client_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode("ascii")


def _seconds(moment: datetime) -> int:
    return int(moment.timestamp())


def id_token_claims(
    *,
    issuer: str,
    client_id: str,
    subject: str,
    sid: str,  # the session's own id; the token carries the app's view of it
    auth_time: datetime,
    now: datetime,
    org: OrgClaims,
    nonce: str | None = None,
    access_token: str | None = None,
) -> dict[str, object]:
    """Return the claims of an ID token issued now to client_id."""
    claims: dict[str, object] = {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "azp": client_id,
        "iat": _seconds(now),
        "exp": _seconds(now + ID_TOKEN_LIFETIME),
        "auth_time": _seconds(auth_time),
        "sid": app_sid(sid, client_id),
        **org.as_dict(),
    }
    if nonce:
        claims["nonce"] = nonce
    if access_token:
        claims["at_hash"] = half_hash(access_token)
    return claims


def userinfo_claims(
    subject: str, scope: list[str], person: Person, org: OrgClaims
) -> dict[str, object]:
    """Return UserInfo: `sub`, the firm claims, and profile and email only for their scopes."""
    claims: dict[str, object] = {"sub": subject, **org.as_dict()}
    if "profile" in scope:
        claims["name"] = person.name
        if person.locale:
            claims["locale"] = person.locale
    if "email" in scope:
        claims["email"] = person.email
        claims["email_verified"] = person.email_verified
    return claims
