"""The rules of signing in through an upstream provider: its claims, the route, pending links.

Pure functions of their arguments: no request, no session, no clock of their own.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from email_validator import EmailNotValidError

from marketplace.accounts.inputs import MAX_DISPLAY_NAME_LENGTH, normalize_email
from marketplace.accounts.models import User

PENDING_LIFETIME = timedelta(minutes=10)
MAX_SUBJECT_LENGTH = 255
# Control, format (zero-width, bidi override) and lone surrogate characters: never shown as a name.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


# ---- claims -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpstreamClaims:
    """Who the provider says signed in: its account id, and an address it may vouch for."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None


def _text_claim(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    return value.strip() or None if isinstance(value, str) else None


def claims_from(issuer: str, raw: Mapping[str, Any]) -> UpstreamClaims:
    """Read the claims we use; raise ValueError without a usable subject."""
    subject = raw.get("sub")
    if not isinstance(subject, str) or not subject or len(subject) > MAX_SUBJECT_LENGTH:
        raise ValueError("the ID token has no usable subject")
    email: str | None = None
    address = _text_claim(raw, "email")
    if address:
        try:
            email = normalize_email(address)
        except EmailNotValidError:
            email = None
    # Some providers send the boolean as a string; 1 and other truthy values do not count.
    verified = raw.get("email_verified") is True or raw.get("email_verified") == "true"
    return UpstreamClaims(
        issuer, subject, email, email is not None and verified, _text_claim(raw, "name")
    )


def _visible(char: str) -> str:
    if char.isspace():
        return " "
    return "" if unicodedata.category(char) in INVISIBLE_CATEGORIES else char


def clean_display_name(raw: str | None) -> str:
    """Return raw without invisible characters, its spacing tidied, cut to the maximum length."""
    text = " ".join("".join(_visible(char) for char in raw or "").split())
    return text[:MAX_DISPLAY_NAME_LENGTH].rstrip()


def display_name_for(claims: UpstreamClaims) -> str:
    """Return a new account's name: the cleaned `name` claim, else the address's local part."""
    local_part = (claims.email or "").rpartition("@")[0]
    return clean_display_name(claims.name) or clean_display_name(local_part)


# ---- the route --------------------------------------------------------------------------------


class AccountState(StrEnum):
    """What Yunshi knows about the account that has the upstream address."""

    NONE = "none"
    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"
    CLOSED = "closed"


class Route(StrEnum):
    """What a first (or later) upstream sign-in leads to."""

    SIGN_IN = "sign_in"
    LINK_BY_EMAIL = "link_by_email"
    CREATE_ACCOUNT = "create_account"
    ASK_PASSWORD = "ask_password"  # noqa: S105 (a route, not a secret)
    REFUSE_CLOSED = "refuse_closed"


def account_state(user: User | None) -> AccountState:
    """Return the state of a (possibly missing) Yunshi account."""
    if user is None:
        return AccountState.NONE
    if not user.is_active:
        return AccountState.CLOSED
    return AccountState.CONFIRMED if user.is_confirmed else AccountState.UNCONFIRMED


def choose_route(*, linked: AccountState, email_verified: bool, by_email: AccountState) -> Route:
    """Decide what an upstream sign-in does from its link, its address and our account."""
    if linked is AccountState.CLOSED:
        return Route.REFUSE_CLOSED
    if linked is not AccountState.NONE:
        return Route.SIGN_IN
    if not email_verified:
        return Route.ASK_PASSWORD
    if by_email is AccountState.NONE:
        return Route.CREATE_ACCOUNT
    if by_email is AccountState.CONFIRMED:
        return Route.LINK_BY_EMAIL
    if by_email is AccountState.CLOSED:
        return Route.REFUSE_CLOSED
    # An unconfirmed account may belong to whoever typed the address: its password decides.
    return Route.ASK_PASSWORD


# ---- pending links ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingLink:
    """An upstream account waiting for its holder to sign in with a Yunshi password."""

    issuer: str
    subject: str
    email: str | None
    expires_at: datetime


def pending_link(claims: UpstreamClaims, now: datetime) -> PendingLink:
    """Return the pending link for claims, valid for PENDING_LIFETIME from now."""
    return PendingLink(claims.issuer, claims.subject, claims.email, now + PENDING_LIFETIME)


def pending_to_session(pending: PendingLink) -> dict[str, Any]:
    """Return the pending link as plain values for the session."""
    return {
        "issuer": pending.issuer,
        "subject": pending.subject,
        "email": pending.email,
        "expires": int(pending.expires_at.timestamp()),
    }


def pending_from_session(raw: object, now: datetime) -> PendingLink | None:
    """Read a pending link back from the session; None when absent, malformed or expired."""
    if not isinstance(raw, dict):
        return None
    issuer, subject, email, expires = (
        raw.get(k) for k in ("issuer", "subject", "email", "expires")
    )
    if not (isinstance(issuer, str) and isinstance(subject, str) and isinstance(expires, int)):
        return None
    if email is not None and not isinstance(email, str):
        return None
    expires_at = datetime.fromtimestamp(expires, now.tzinfo)
    if expires_at <= now:
        return None
    return PendingLink(issuer, subject, email, expires_at)
