"""Client ids, secrets and bearer tokens: how they are made, stored and compared.

Secrets and tokens carry 256 bits of randomness, so a plain SHA-256 digest is enough to
store them (no guessing attack can walk the space) and lookups by digest stay one index
probe. Prefixes let secret scanners and people tell the kinds apart.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

CLIENT_ID_PREFIX = "ys_"
CLIENT_SECRET_PREFIX = "yss_"  # noqa: S105 (a prefix, not a secret)
ACCESS_TOKEN_PREFIX = "yat_"  # noqa: S105 (a prefix, not a token)
APP_CLIENT_ID_PREFIX = "ysa_"
APP_ACCESS_TOKEN_PREFIX = "yua_"  # noqa: S105 (a prefix, not a token)
REFRESH_TOKEN_PREFIX = "yrt_"  # noqa: S105 (a prefix, not a token)
CODE_PREFIX = "yac_"


def new_client_id() -> str:
    """Return a fresh public client id."""
    return CLIENT_ID_PREFIX + secrets.token_urlsafe(16)


def new_client_secret() -> str:
    """Return a fresh client secret of 32 random bytes."""
    return CLIENT_SECRET_PREFIX + secrets.token_urlsafe(32)


def new_access_token() -> str:
    """Return a fresh bearer token of 32 random bytes."""
    return ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_app_client_id() -> str:
    """Return a fresh public client id for a vendor app."""
    return APP_CLIENT_ID_PREFIX + secrets.token_urlsafe(16)


def new_app_access_token() -> str:
    """Return a fresh access token of a user's grant to an app."""
    return APP_ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_refresh_token() -> str:
    """Return a fresh refresh token."""
    return REFRESH_TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_authorization_code() -> str:
    """Return a fresh authorization code."""
    return CODE_PREFIX + secrets.token_urlsafe(32)


CLIENT_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def well_formed_client_id(client_id: object) -> bool:
    """Tell whether a presented client id could be one of ours (so it may reach the database)."""
    return isinstance(client_id, str) and CLIENT_ID_PATTERN.fullmatch(client_id) is not None


def is_app_client_id(client_id: str) -> bool:
    """Tell whether a client id names a vendor app rather than an API client."""
    return client_id.startswith(APP_CLIENT_ID_PREFIX)


def digest(value: str) -> str:
    """Return the hex SHA-256 digest a secret or token is stored as."""
    return hashlib.sha256(value.encode()).hexdigest()


def secret_matches(secret: str, stored_digest: str) -> bool:
    """Tell, in constant time, whether secret is the one stored as stored_digest."""
    return hmac.compare_digest(digest(secret), stored_digest)
