"""Password hashing with argon2id."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Return an argon2id hash of password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether password matches the hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Tell whether the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)
