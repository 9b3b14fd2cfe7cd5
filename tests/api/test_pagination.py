"""Cursor pagination: signed cursors, limits, and a paged list walked to its end."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.errors import ValidationFailed
from marketplace.pagination import (
    DEFAULT_LIMIT,
    BadCursor,
    CursorCodec,
    PageRequest,
    page_from_rows,
    page_request_from,
)
from tests.api.conftest import access_token, bearer, make_client, make_vendor

PROBLEM = "application/problem+json"
codec = CursorCodec("test-secret-key")


def test_a_cursor_round_trips_its_sort_key() -> None:
    cursor = codec.encode((42, "b"))

    assert codec.decode(cursor, 2) == (42, "b")
    assert "42" not in cursor.split(".")[-1]  # the signature part


def test_a_changed_cursor_is_refused() -> None:
    cursor = codec.encode((42,))
    payload, signature = cursor.split(".")
    forged = CursorCodec("another-secret").encode((43,)).split(".")[0] + "." + signature

    for bad in (forged, payload, cursor + "x", "not-a-cursor", ""):
        with pytest.raises(BadCursor):
            codec.decode(bad, 1)


def test_a_cursor_of_another_secret_is_refused() -> None:
    with pytest.raises(BadCursor, match="not issued"):
        codec.decode(CursorCodec("another-secret").encode((42,)), 1)


def test_a_cursor_of_another_list_shape_is_refused() -> None:
    with pytest.raises(BadCursor, match="does not belong"):
        codec.decode(codec.encode((42, "b")), 1)


def test_the_first_page_has_the_default_limit() -> None:
    assert page_request_from({}, codec) == PageRequest(DEFAULT_LIMIT, None)
    assert page_request_from({"limit": "1", "other": "x"}, codec) == PageRequest(1, None)
    assert page_request_from({"limit": "100"}, codec).limit == 100


def test_a_cursor_names_where_the_page_starts() -> None:
    request = page_request_from({"cursor": codec.encode((7,)), "limit": "5"}, codec)

    assert request == PageRequest(5, (7,))


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", "2.5", ""])
def test_a_limit_outside_1_to_100_is_refused_naming_limit(limit: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        page_request_from({"limit": limit}, codec)

    assert list(refused.value.errors) == ["limit"]


def test_a_bad_cursor_is_refused_naming_cursor() -> None:
    with pytest.raises(ValidationFailed) as refused:
        page_request_from({"cursor": "forged"}, codec)

    assert list(refused.value.errors) == ["cursor"]


def test_a_page_continues_after_its_last_item_only_when_more_remain() -> None:
    def key(n: int) -> tuple[int]:
        return (n,)

    assert page_from_rows([1, 2, 3], 2, key).next_key == (2,)
    assert page_from_rows([1, 2, 3], 2, key).items == [1, 2]
    assert page_from_rows([1, 2], 2, key).next_key is None
    assert page_from_rows([], 2, key).items == []


def test_a_list_is_walked_page_by_page_to_its_end(
    pages_client: FlaskClient, session: Session
) -> None:
    vendor = make_vendor()
    issued = [make_client(vendor, ("catalog:read",), name=f"Client {n}") for n in range(5)]
    make_client(make_vendor(), ("catalog:read",), name="Someone else's")
    headers = bearer(access_token(pages_client, issued[0]))

    names: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        response = pages_client.get("/api/v1/probe/clients", query_string=query, headers=headers)
        assert response.status_code == 200
        body = response.get_json()
        names += [c["name"] for c in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert names == [f"Client {n}" for n in range(5)]
    assert pages == 3


def test_the_list_answers_a_bad_cursor_with_a_problem_naming_it(
    pages_client: FlaskClient, session: Session
) -> None:
    token = access_token(pages_client, make_client(make_vendor(), ("catalog:read",)))

    response = pages_client.get(
        "/api/v1/probe/clients",
        query_string={"cursor": "eyJpZCI6MX0.forged"},
        headers=bearer(token),
    )

    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["code"] == "validation_failed"
    assert list(body["errors"]) == ["cursor"]


def test_the_list_answers_a_bad_limit_with_a_problem_naming_it(
    pages_client: FlaskClient, session: Session
) -> None:
    token = access_token(pages_client, make_client(make_vendor(), ("catalog:read",)))

    response = pages_client.get(
        "/api/v1/probe/clients", query_string={"limit": "500"}, headers=bearer(token)
    )

    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert "limit" in response.get_json()["errors"]
