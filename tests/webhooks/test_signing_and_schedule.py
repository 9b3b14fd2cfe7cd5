"""The pure rules: signatures (with rotation overlap) and the retry schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.webhooks.schedule import MAX_DELAY, RETRY_WINDOW, gives_up, retry_delay
from marketplace.webhooks.signing import SignatureError, signature_header, verify

SECRETS = st.text(min_size=1, max_size=40)
BODIES = st.binary(max_size=200)
TIMES = st.integers(min_value=0, max_value=2**33)


@given(SECRETS, SECRETS, BODIES, TIMES)
def test_every_secret_of_a_rotation_verifies_and_no_other(
    new: str, old: str, body: bytes, at: int
) -> None:
    header = signature_header([new, old], at, body)

    assert verify(header, body, new, now=at) == at
    assert verify(header, body, old, now=at) == at
    with pytest.raises(SignatureError):
        verify(header, body, new + "x", now=at)


@given(SECRETS, BODIES, TIMES, st.integers(min_value=301, max_value=10**6))
def test_a_stale_or_changed_request_is_refused(
    secret: str, body: bytes, at: int, late: int
) -> None:
    header = signature_header([secret], at, body)

    with pytest.raises(SignatureError):
        verify(header, body, secret, now=at + late)
    with pytest.raises(SignatureError):
        verify(header, body + b"!", secret, now=at)


@pytest.mark.parametrize("header", ["", "t=1", "v1=ab", "t=x,v1=ab", "t=1,t=2,v1=ab", "junk"])
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(SignatureError):
        verify(header, b"{}", "s", now=1)


@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0, max_value=0.999999))
def test_delays_grow_within_the_jitter_and_the_cap(attempt: int, draw: float) -> None:
    delay = retry_delay(attempt, draw)

    assert timedelta(seconds=24) <= delay <= MAX_DELAY * 1.2
    assert retry_delay(attempt + 1, 0.5) >= retry_delay(attempt, 0.5)


@given(st.lists(st.floats(min_value=0, max_value=0.999999), min_size=200, max_size=200))
def test_retries_span_at_least_three_days_whatever_the_jitter(draws: list[float]) -> None:
    elapsed, attempt = timedelta(0), 1
    while not gives_up(elapsed):
        elapsed += retry_delay(attempt, draws[attempt - 1])
        attempt += 1

    assert elapsed >= RETRY_WINDOW
    assert elapsed < RETRY_WINDOW + MAX_DELAY * 1.2
    assert attempt < 40


@pytest.mark.parametrize(("attempt", "draw"), [(0, 0.5), (1, 1.0), (1, -0.1)])
def test_bad_schedule_inputs_are_refused(attempt: int, draw: float) -> None:
    with pytest.raises(ValueError):
        retry_delay(attempt, draw)
