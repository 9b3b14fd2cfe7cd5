"""Signed link tokens: their claims, their purpose, and their age measured by the clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from marketplace.accounts import tokens

SECRET = "test-secret"
ISSUED = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_a_confirmation_token_carries_the_user_and_the_address() -> None:
    token = tokens.issue_confirmation_token(SECRET, ISSUED, 7, "li.na@example.com")

    claim = tokens.read_confirmation_token(SECRET, ISSUED + timedelta(days=1), token)

    assert claim == tokens.EmailConfirmation(user_id=7, email="li.na@example.com")


def test_a_confirmation_token_lasts_exactly_three_days() -> None:
    token = tokens.issue_confirmation_token(SECRET, ISSUED, 7, "li.na@example.com")

    tokens.read_confirmation_token(SECRET, ISSUED + timedelta(days=3), token)
    with pytest.raises(tokens.ExpiredToken):
        tokens.read_confirmation_token(SECRET, ISSUED + timedelta(days=3, seconds=1), token)


def test_a_reset_token_lasts_exactly_one_hour() -> None:
    token = tokens.issue_reset_token(SECRET, ISSUED, 7, "$argon2id$hash")

    claim = tokens.read_reset_token(SECRET, ISSUED + timedelta(hours=1), token)
    assert claim.password_fingerprint == tokens.password_fingerprint("$argon2id$hash")
    with pytest.raises(tokens.ExpiredToken):
        tokens.read_reset_token(SECRET, ISSUED + timedelta(hours=1, seconds=1), token)


def test_a_token_from_the_future_is_refused() -> None:
    token = tokens.issue_confirmation_token(SECRET, ISSUED, 7, "li.na@example.com")

    with pytest.raises(tokens.BadToken):
        tokens.read_confirmation_token(SECRET, ISSUED - timedelta(minutes=5), token)


def test_a_token_serves_only_its_own_purpose() -> None:
    reset = tokens.issue_reset_token(SECRET, ISSUED, 7, "$argon2id$hash")
    confirm = tokens.issue_confirmation_token(SECRET, ISSUED, 7, "li.na@example.com")

    with pytest.raises(tokens.BadToken):
        tokens.read_confirmation_token(SECRET, ISSUED, reset)
    with pytest.raises(tokens.BadToken):
        tokens.read_reset_token(SECRET, ISSUED, confirm)


def test_a_token_signed_with_another_key_is_refused() -> None:
    token = tokens.issue_confirmation_token("another-secret", ISSUED, 7, "li.na@example.com")

    with pytest.raises(tokens.BadToken):
        tokens.read_confirmation_token(SECRET, ISSUED, token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "eyJ1aWQiOjd9.AAAA.BBBB"])
def test_garbage_is_refused(garbage: str) -> None:
    with pytest.raises(tokens.BadToken):
        tokens.read_confirmation_token(SECRET, ISSUED, garbage)


def test_the_fingerprint_changes_with_the_password_hash() -> None:
    assert tokens.password_fingerprint("$argon2id$one") != tokens.password_fingerprint(
        "$argon2id$two"
    )
