"""Cursor pagination for API lists: `limit` and an opaque, signed `cursor`.

A cursor is the sort key of the last item a page showed, serialized as base64url and
signed, so a client can only hand back cursors we gave it. Pages are read by keyset
("after this key"), which stays fast and stable while rows are added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from sqlalchemy.orm import Session

from marketplace.errors import ValidationFailed

T = TypeVar("T")
SortKey = tuple[int | str, ...]

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
CURSOR_SALT = "yunshi.api.cursor"


class PageQuerySchema(Schema):
    """The paging parameters of a list: how many items, and where the last page ended."""

    limit = fields.Integer(
        load_default=DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"Items per page, 1 to {MAX_LIMIT}."},
    )
    cursor = fields.String(
        load_default=None,
        metadata={"description": "The next_cursor of the previous page; omit it for the first."},
    )

    class Meta:
        # Lists add their own filters beside these.
        unknown = EXCLUDE


class BadCursor(ValueError):
    """A cursor that we did not issue, or that was changed."""


@dataclass(frozen=True)
class PageRequest:
    """Which page to read: at most `limit` items after the sort key `after` (None: first)."""

    limit: int
    after: SortKey | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items and the sort key to continue after (None on the last page)."""

    items: list[T]
    next_key: SortKey | None


class CursorCodec:
    """Turns sort keys into signed cursors and back."""

    def __init__(self, secret: str | bytes) -> None:
        self._serializer = URLSafeSerializer(secret, salt=CURSOR_SALT)

    def encode(self, key: SortKey) -> str:
        """Return the opaque cursor for a sort key."""
        return str(self._serializer.dumps(list(key)))

    def decode(self, cursor: str, size: int) -> SortKey:
        """Return the sort key of a cursor with `size` parts, or raise BadCursor."""
        try:
            raw = self._serializer.loads(cursor)
        except BadSignature:
            raise BadCursor("This cursor was not issued by this API or was changed.") from None
        valid = isinstance(raw, list) and len(raw) == size
        if not valid or not all(isinstance(part, int | str) for part in raw):
            raise BadCursor("This cursor does not belong to this list.")
        return tuple(raw)


def page_request_from(
    args: Mapping[str, Any], codec: CursorCodec, key_size: int = 1
) -> PageRequest:
    """Read `limit` and `cursor` from query arguments; raise ValidationFailed naming them."""
    try:
        loaded = PageQuerySchema().load(dict(args))
    except ValidationError as error:
        raise ValidationFailed(_messages(error.messages)) from None
    if loaded["cursor"] is None:
        return PageRequest(loaded["limit"])
    try:
        after = codec.decode(loaded["cursor"], key_size)
    except BadCursor as error:
        raise ValidationFailed({"cursor": [str(error)]}) from None
    return PageRequest(loaded["limit"], after)


def _messages(messages: Mapping[str, Any] | list[Any]) -> dict[str, list[str]]:
    if not isinstance(messages, Mapping):
        return {"_query": [str(m) for m in messages]}
    return {name: [str(m) for m in reasons] for name, reasons in messages.items()}


def page_from_rows(rows: Sequence[T], limit: int, key_of: Callable[[T], SortKey]) -> Page[T]:
    """Cut rows read with limit + 1 into a page, continuing after its last item if more remain."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items, key_of(items[-1]) if more and items else None)


def paginate(
    session: Session,
    stmt: sa.Select[Any],
    key_columns: Sequence[sa.ColumnElement[Any]],
    page: PageRequest,
    key_of: Callable[[T], SortKey],
) -> Page[T]:
    """Read one page of stmt's rows in ascending order of key_columns (which must be unique)."""
    if page.after is not None:
        stmt = stmt.where(sa.tuple_(*key_columns) > sa.tuple_(*page.after))
    rows: Sequence[T] = session.scalars(stmt.order_by(*key_columns).limit(page.limit + 1)).all()
    return page_from_rows(rows, page.limit, key_of)


def current_codec() -> CursorCodec:
    """Return the cursor codec keyed by the current app's secret."""
    return CursorCodec(current_app.config["SECRET_KEY"])


def requested_page(key_size: int = 1) -> PageRequest:
    """Read the current request's paging parameters."""
    return page_request_from(request.args, current_codec(), key_size)


def page_body(items: list[Any], next_key: SortKey | None) -> dict[str, Any]:
    """Return a list answer: its dumped items and the cursor of the next page (or null)."""
    cursor = current_codec().encode(next_key) if next_key is not None else None
    return {"data": items, "next_cursor": cursor}


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """Make the schema of a page of items, {"data": [...], "next_cursor": str | null}.

    Call it once per item schema, at import: the document names schemas by class.
    """
    schema = Schema.from_dict(
        {
            "data": fields.List(fields.Nested(item), required=True),
            "next_cursor": fields.String(
                required=True,
                allow_none=True,
                metadata={"description": "Pass it as cursor for the next page; null on the last."},
            ),
        },
        name=name,
    )
    schema.__doc__ = "One page of a list, and the cursor of the next page."
    return schema
