"""Password hashing with argon2id, and the rules a new password must meet."""

from __future__ import annotations

from enum import StrEnum

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


MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128

# Passwords of ten characters or more that lead the public leak lists, Chinese ones included.
COMMON_PASSWORDS = frozenset(
    {
        "0123456789",
        "1234567890",
        "12345678910",
        "123456789a",
        "a123456789",
        "aa123456789",
        "abc1234567",
        "abcd123456",
        "1234567890a",
        "1234qwer..",
        "1q2w3e4r5t",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "1qazxsw23edc",
        "qazwsxedc123",
        "qwertyuiop",
        "qwerty1234",
        "qwerty12345",
        "qwerty123456",
        "qwe1234567",
        "asdfghjkl1",
        "zxcvbnm123",
        "password12",
        "password123",
        "password1234",
        "passw0rd123",
        "p@ssw0rd123",
        "iloveyou12",
        "iloveyou123",
        "woaini1314",
        "woaini520520",
        "5201314520",
        "1314520520",
        "aini1314520",
        "woaiwojia123",
        "12345678900",
        "9876543210",
        "987654321a",
        "147258369a",
        "1472583690",
        "1357924680",
        "1122334455",
        "1234512345",
        "1234554321",
        "1212121212",
        "admin12345",
        "admin123456",
        "administrator",
        "changeme123",
        "letmein123",
        "welcome123",
        "welcome1234",
        "football123",
        "baseball123",
        "sunshine123",
        "princess123",
        "dragon1234",
        "monkey1234",
        "superman123",
        "yunshi12345",
        "yunshi123456",
    }
)


class PasswordProblem(StrEnum):
    """Why a new password is refused."""

    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    SAME_AS_EMAIL = "same_as_email"
    TOO_COMMON = "too_common"


def password_problems(password: str, email: str) -> list[PasswordProblem]:
    """List what is wrong with a new password for the account with this email."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return [PasswordProblem.TOO_SHORT]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [PasswordProblem.TOO_LONG]
    folded = password.strip().casefold()
    if email and folded in {email.casefold(), email.split("@", 1)[0].casefold()}:
        return [PasswordProblem.SAME_AS_EMAIL]
    if folded in COMMON_PASSWORDS or len(set(folded)) <= 2:
        return [PasswordProblem.TOO_COMMON]
    return []
