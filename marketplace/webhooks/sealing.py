"""Make signing secrets and keep them sealed at rest.

Unlike an API client's secret, which we only ever compare, a signing secret must be read
back to sign each delivery: it is stored encrypted (Fernet) under a key derived from the
app's SECRET_KEY, so a copy of the database alone does not let anyone forge webhooks.
Changing SECRET_KEY therefore needs every endpoint's secret rotated.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
KEY_CONTEXT = b"yunshi.webhooks.signing-secrets"


def new_signing_secret() -> str:
    """Return a fresh signing secret, shown to the vendor once."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def _fernet(app_secret_key: str) -> Fernet:
    digest = hashlib.sha256(KEY_CONTEXT + b"\0" + app_secret_key.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret: str, app_secret_key: str) -> str:
    """Encrypt a signing secret for storage."""
    return _fernet(app_secret_key).encrypt(secret.encode("utf-8")).decode("ascii")


def unseal(sealed: str, app_secret_key: str) -> str:
    """Decrypt a stored signing secret; raise ValueError if the key does not open it."""
    try:
        return _fernet(app_secret_key).decrypt(sealed.encode("ascii")).decode("utf-8")
    except InvalidToken:
        raise ValueError("the signing secret was sealed under another SECRET_KEY") from None


def current_key() -> str:
    """Return the key the current app seals signing secrets under."""
    key: str = current_app.config["SECRET_KEY"]
    return key
