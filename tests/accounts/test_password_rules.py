"""The rules a new password must meet, as a pure function."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.accounts.passwords import (
    COMMON_PASSWORDS,
    MAX_PASSWORD_LENGTH,
    MIN_PASSWORD_LENGTH,
    PasswordProblem,
    password_problems,
)

EMAIL = "chen.jie@example.com"


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("x" * (MIN_PASSWORD_LENGTH - 1), PasswordProblem.TOO_SHORT),
        ("ab" * 64 + "c", PasswordProblem.TOO_LONG),
        ("Chen.Jie@Example.com", PasswordProblem.SAME_AS_EMAIL),
        ("CHEN.JIE@example.com", PasswordProblem.SAME_AS_EMAIL),
        ("qwertyuiop", PasswordProblem.TOO_COMMON),
        ("Password123", PasswordProblem.TOO_COMMON),
        ("woaini1314", PasswordProblem.TOO_COMMON),
        ("aaaaaaaaaaaa", PasswordProblem.TOO_COMMON),
        ("abababababab", PasswordProblem.TOO_COMMON),
    ],
)
def test_a_weak_password_is_refused_with_its_reason(
    password: str, problem: PasswordProblem
) -> None:
    assert password_problems(password, EMAIL) == [problem]


@pytest.mark.parametrize(
    "password",
    ["x" * 7 + "yz!", "ab" * 63 + "cd", "quiet-lantern-river-42", "山海关外的长城很长很长"],
)
def test_a_decent_password_passes(password: str) -> None:
    assert password_problems(password, EMAIL) == []


def test_the_list_of_common_passwords_holds_only_passwords_long_enough_to_matter() -> None:
    assert all(len(word) >= MIN_PASSWORD_LENGTH for word in COMMON_PASSWORDS)
    assert all(word == word.casefold() for word in COMMON_PASSWORDS)


@given(st.text(min_size=0, max_size=MIN_PASSWORD_LENGTH - 1))
def test_anything_shorter_than_the_minimum_is_too_short(password: str) -> None:
    assert password_problems(password, EMAIL) == [PasswordProblem.TOO_SHORT]


@given(st.text(min_size=MAX_PASSWORD_LENGTH + 1, max_size=MAX_PASSWORD_LENGTH + 40))
def test_anything_longer_than_the_maximum_is_too_long(password: str) -> None:
    assert password_problems(password, EMAIL) == [PasswordProblem.TOO_LONG]
