"""Idempotency-Key on creating API requests: a retry gets the first answer, not a second effect.

A client sends `Idempotency-Key: <up to 255 characters>` with a creating POST. The first
request claims the key (a committed row; the unique constraint on client and key lets one
of two racing requests win), runs, and its answer is stored with the key. The same key
with the same request replays that answer; with another request it is refused (422); while
the first is still running a second one is told so (409). A request that fails releases
its key, so the client may correct it and retry with the same key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from flask import Response, current_app, jsonify, request
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from marketplace.api import ApiCaller, api_caller
from marketplace.clock import Clock, current_clock
from marketplace.errors import Conflict, ValidationFailed
from marketplace.extensions import db
from marketplace.idempotency_models import KEY_MAX, IdempotencyKey
from marketplace.openapi import mark_header_parameter

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
F = TypeVar("F", bound=Callable[..., Any])

IDEMPOTENCY_NOTE = (
    f"Send an `{HEADER}` header (1 to {KEY_MAX} characters) to make a retry safe: the same "
    "key with the same request replays the first answer (with `Idempotent-Replayed: true`); "
    "the same key with another request answers 422; while the first request with the key "
    "is still running, another one answers 409 (request in progress)."
)


class RequestInProgress(Conflict):
    """An earlier request with the same idempotency key has not finished yet."""

    code = "request_in_progress"
    title = "Request in progress"


@dataclass(frozen=True)
class RequestFingerprint:
    """What a request asked: its method, path and a digest of its body."""

    method: str
    path: str
    digest: str


def body_digest(body: bytes) -> str:
    """Return the SHA-256 of a body, of its canonical JSON when it is JSON."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return hashlib.sha256(body).hexdigest()
    return hashlib.sha256(canonical.encode()).hexdigest()


def checked_key(key: str) -> str:
    """Return the key, or raise ValidationFailed naming the header when it is unusable."""
    if not 1 <= len(key) <= KEY_MAX:
        message = f"Send 1 to {KEY_MAX} characters."
        raise ValidationFailed({HEADER: [message]}, f"{HEADER} is not usable. {message}")
    return key


def claim_key(
    session: Session, clock: Clock, caller: ApiCaller, key: str, request_of: RequestFingerprint
) -> IdempotencyKey | None:
    """Claim the key for this request; return the earlier claim when the key is taken."""
    claim = (
        insert(IdempotencyKey)
        .values(
            organization_id=caller.organization_id,
            client_id=caller.client_id,
            key=key,
            request_method=request_of.method,
            request_path=request_of.path,
            request_hash=request_of.digest,
            created_at=clock.now(),
        )
        .on_conflict_do_nothing(index_elements=["client_id", "key"])
        .returning(IdempotencyKey.id)
    )
    claimed = session.scalar(claim)
    session.commit()
    if claimed is not None:
        return None
    return _stored(session, caller, key)


def _stored(session: Session, caller: ApiCaller, key: str) -> IdempotencyKey:
    stmt = sa.select(IdempotencyKey).where(
        IdempotencyKey.client_id == caller.client_id, IdempotencyKey.key == key
    )
    return session.scalars(stmt).one()


def stored_answer(earlier: IdempotencyKey, request_of: RequestFingerprint) -> tuple[int, Any]:
    """Return the earlier answer to replay, or raise why this request may not have it."""
    asked = (earlier.request_method, earlier.request_path, earlier.request_hash)
    if asked != (request_of.method, request_of.path, request_of.digest):
        message = "This key was already used with another request; send a new key."
        raise ValidationFailed({HEADER: [message]}, f"{HEADER} reused. {message}")
    if earlier.response_status is None:
        raise RequestInProgress(
            "An earlier request with this Idempotency-Key is still running; retry shortly."
        )
    return earlier.response_status, earlier.response_body


def record_answer(
    session: Session, caller: ApiCaller, key: str, status: int, body: Any
) -> IdempotencyKey:
    """Store the answer a claimed key's request got, for its retries."""
    row = _stored(session, caller, key)
    row.response_status = status
    row.response_body = body
    session.commit()
    return row


def release_key(session: Session, caller: ApiCaller, key: str) -> None:
    """Forget a claim whose request failed, so the client may retry it with the same key."""
    session.execute(
        sa.delete(IdempotencyKey).where(
            IdempotencyKey.client_id == caller.client_id,
            IdempotencyKey.key == key,
            IdempotencyKey.response_status.is_(None),
        )
    )
    session.commit()


def current_fingerprint() -> RequestFingerprint:
    """Return the fingerprint of the current request."""
    return RequestFingerprint(request.method, request.path, body_digest(request.get_data()))


def idempotent(view: F) -> F:
    """Honour an Idempotency-Key on a creating view; place it under require_token.

    The view's OpenAPI operation lists the header as an optional parameter.
    """
    return _guarded(view, ())


def idempotent_withholding(*fields: str) -> Callable[[F], F]:
    """Honour an Idempotency-Key, but never store the named fields of the answer.

    For answers that show a secret once: the stored answer keeps everything else, and a
    replay answers the withheld fields as null.
    """

    def decorate(view: F) -> F:
        return _guarded(view, fields)

    return decorate


def _guarded(view: F, withheld: tuple[str, ...]) -> F:
    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        return _run_once(view, checked_key(key), args, kwargs, withheld)

    note = IDEMPOTENCY_NOTE
    if withheld:
        names = ", ".join(f"`{name}`" for name in withheld)
        note += f" A replay answers {names} as null: it is shown only in the first answer."
    mark_header_parameter(guarded, HEADER, description=note, max_length=KEY_MAX)
    return cast(F, guarded)


def without_fields(body: Any, withheld: tuple[str, ...]) -> Any:
    """Return an answer body with the withheld top-level fields set to null."""
    if not withheld or not isinstance(body, dict):
        return body
    return {name: (None if name in withheld else value) for name, value in body.items()}


def _run_once(
    view: Callable[..., Any],
    key: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    withheld: tuple[str, ...],
) -> Response:
    caller, session = api_caller(), db.session()
    request_of = current_fingerprint()
    earlier = claim_key(session, current_clock(), caller, key, request_of)
    if earlier is not None:
        status, body = stored_answer(earlier, request_of)
        replay = jsonify(body)
        replay.status_code = status
        replay.headers[REPLAYED_HEADER] = "true"
        return replay
    try:
        response = current_app.make_response(view(*args, **kwargs))
    except BaseException:
        session.rollback()
        release_key(session, caller, key)
        raise
    stored = without_fields(response.get_json(silent=True), withheld)
    record_answer(session, caller, key, response.status_code, stored)
    return response
