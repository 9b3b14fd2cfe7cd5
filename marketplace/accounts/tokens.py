"""Signed, expiring tokens for the links we mail: email confirmation and password reset.

Tokens carry their issue time from the caller's clock, and their age is measured against
the same clock, so tests and operators who move time see links expire.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

CONFIRM_EMAIL_SALT = "yunshi.accounts.confirm-email"
RESET_PASSWORD_SALT = "yunshi.accounts.reset-password"  # noqa: S105 (a salt, not a secret)
CONFIRM_EMAIL_VALID_FOR = timedelta(days=3)
RESET_PASSWORD_VALID_FOR = timedelta(hours=1)


class BadToken(Exception):
    """The token is not one we issued for this purpose, or it was altered."""


class ExpiredToken(BadToken):
    """The token was ours but is too old."""


@dataclass(frozen=True)
class EmailConfirmation:
    """What a confirmation token vouches for: this user owns this address."""

    user_id: int
    email: str


@dataclass(frozen=True)
class PasswordResetClaim:
    """What a reset token vouches for: this user, while the password is still this one."""

    user_id: int
    password_fingerprint: str


class _ClockSigner(TimestampSigner):
    """A timestamp signer that reads the time from the caller rather than time.time()."""

    def __init__(self, *args: Any, now: datetime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._now = now

    def get_timestamp(self) -> int:
        """Return the caller's current time as Unix seconds."""
        return int(self._now.timestamp())


def _serializer(secret_key: str, salt: str, now: datetime) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        secret_key, salt=salt, signer=_ClockSigner, signer_kwargs={"now": now}
    )


def _load(secret_key: str, salt: str, now: datetime, token: str, max_age: timedelta) -> Any:
    try:
        return _serializer(secret_key, salt, now).loads(token, max_age=int(max_age.total_seconds()))
    except SignatureExpired as exc:
        raise ExpiredToken("the link has expired") from exc
    except BadSignature as exc:
        raise BadToken("the link is not valid") from exc


def password_fingerprint(password_hash: str) -> str:
    """Return a short digest of a password hash; it changes whenever the password does."""
    return hashlib.sha256(password_hash.encode()).hexdigest()[:24]


def issue_confirmation_token(secret_key: str, now: datetime, user_id: int, email: str) -> str:
    """Sign a token confirming that user_id owns email."""
    return _serializer(secret_key, CONFIRM_EMAIL_SALT, now).dumps({"uid": user_id, "email": email})


def read_confirmation_token(secret_key: str, now: datetime, token: str) -> EmailConfirmation:
    """Check a confirmation token and return its claim, or raise BadToken / ExpiredToken."""
    payload = _load(secret_key, CONFIRM_EMAIL_SALT, now, token, CONFIRM_EMAIL_VALID_FOR)
    try:
        return EmailConfirmation(user_id=int(payload["uid"]), email=str(payload["email"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadToken("the link is not valid") from exc


def issue_reset_token(secret_key: str, now: datetime, user_id: int, password_hash: str) -> str:
    """Sign a password-reset token that stops working once the password changes."""
    payload = {"uid": user_id, "pw": password_fingerprint(password_hash)}
    return _serializer(secret_key, RESET_PASSWORD_SALT, now).dumps(payload)


def read_reset_token(secret_key: str, now: datetime, token: str) -> PasswordResetClaim:
    """Check a reset token and return its claim, or raise BadToken / ExpiredToken."""
    payload = _load(secret_key, RESET_PASSWORD_SALT, now, token, RESET_PASSWORD_VALID_FOR)
    try:
        return PasswordResetClaim(
            user_id=int(payload["uid"]), password_fingerprint=str(payload["pw"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BadToken("the link is not valid") from exc
