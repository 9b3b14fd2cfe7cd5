"""Cache the public content of storefront pages in Redis, keyed by a catalog generation.

Only the content part of a page is cached (what every visitor sees alike); the layout around
it — navigation, the signed-in user, CSRF tokens, flashed messages — is rendered per request.
A key holds everything the content depends on: the page, its normalized arguments, the
interface language, the URL root and the catalog generation. Any committed change to the
catalog (listings, their versions and categories, plans and prices, vendors) bumps the
generation, so the very next request renders afresh. Without Redis, pages render uncached;
when Redis fails, they render uncached too and a warning is logged.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
import sqlalchemy as sa
from flask import Flask, current_app, has_app_context, request
from markupsafe import Markup
from sqlalchemy.orm import Session, UOWTransaction

from catalog.models import Category, Listing, ListingVersion, Plan, PriceComponent, PriceTier
from marketplace.audit.models import AuditEntry
from marketplace.events.models import OutboxEvent
from marketplace.extensions import db
from marketplace.i18n import current_language
from marketplace.orgs.models import Organization, OrgKind

log = logging.getLogger(__name__)

# A safety net only: commits through the ORM bump the generation at once, but a change made
# with raw SQL or by hand in the database is seen at the latest after this long.
TTL_SECONDS = 300
# After Redis fails, pages skip the cache this long instead of waiting on it every request.
BACKOFF_SECONDS = 30.0
CATALOG_ROWS = (Listing, ListingVersion, Plan, PriceComponent, PriceTier, Category)
CATALOG_TOPICS = ("listing.", "plan.")
VENDOR_ACTIONS = ("organization.suspended", "organization.reactivated")
CHANGED = "catalog_changed"


@dataclass(frozen=True)
class Fragment:
    """A page's public content: its title and the HTML of its content block."""

    title: Markup
    body: Markup


class PageCache:
    """Rendered storefront fragments in one app's Redis, under its key prefix."""

    def __init__(self, client: redis.Redis, prefix: str, ttl: int = TTL_SECONDS) -> None:
        self.client = client
        self.generation_key = f"{prefix}:storefront:generation"
        self.page_prefix = f"{prefix}:storefront:page"
        self.ttl = ttl
        self.hits = 0
        self.misses = 0
        self._down_until = 0.0

    def generation(self) -> str:
        """Return the catalog generation, starting one unique in time if Redis has none."""
        value = self.client.get(self.generation_key)
        if value is None:
            # Started from the clock, not 0, so a lost counter never meets old keys again.
            self.client.set(self.generation_key, time.time_ns(), nx=True)
            value = self.client.get(self.generation_key)
        return value.decode() if isinstance(value, bytes) else str(value)

    def bump(self) -> None:
        """Move to the next generation: every fragment cached so far goes out of use."""
        try:
            pipeline = self.client.pipeline(transaction=False)
            pipeline.set(self.generation_key, time.time_ns(), nx=True)
            pipeline.incr(self.generation_key)
            pipeline.execute()
        except redis.RedisError as exc:
            log.error("storefront cache: catalog generation not bumped: %s", exc)

    def fetch(self, key: str, render: Callable[[], Fragment]) -> Fragment:
        """Return the cached fragment of key, rendering and storing it on a miss."""
        if time.monotonic() < self._down_until:
            return render()
        try:
            full_key = f"{self.page_prefix}:{self.generation()}:{key}"
            stored = self.client.get(full_key)
        except redis.RedisError as exc:
            return self._skip(exc, render)
        if stored is not None:
            self.hits += 1
            return _loads(stored)
        self.misses += 1
        fragment = render()
        try:
            self.client.set(full_key, _dumps(fragment), ex=self.ttl)
        except redis.RedisError as exc:
            self._note_down(exc)
        return fragment

    def _skip(self, exc: redis.RedisError, render: Callable[[], Fragment]) -> Fragment:
        self._note_down(exc)
        return render()

    def _note_down(self, exc: redis.RedisError) -> None:
        log.warning("storefront cache skipped, Redis failed: %s", exc)
        self._down_until = time.monotonic() + BACKOFF_SECONDS


def _dumps(fragment: Fragment) -> str:
    return json.dumps({"title": fragment.title, "body": str(fragment.body)}, ensure_ascii=False)


def _loads(stored: bytes | str) -> Fragment:
    data = json.loads(stored)
    # Stored by _dumps from rendered, autoescaped markup; only this app writes these keys.
    return Fragment(Markup(data["title"]), Markup(data["body"]))  # noqa: S704


def page_key(endpoint: str, arguments: Mapping[str, Any]) -> str:
    """Return the cache key of a page: endpoint, arguments, language and URL root, hashed."""
    material = json.dumps(
        [endpoint, current_language(), request.script_root, dict(arguments)],
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def render_fragment(template: str, **context: Any) -> Fragment:
    """Render a content template with only the context given: no user, session or request.

    The template sets `title` at its top level; its output is the content block.
    """
    module = current_app.jinja_env.get_template(template).make_module(context)
    # Both parts come out of autoescaped rendering, so they are safe markup already.
    title, body = getattr(module, "title", ""), str(module)
    return Fragment(Markup(title), Markup(body))  # noqa: S704


def cached_fragment(
    endpoint: str, arguments: Mapping[str, Any] | None, render: Callable[[], Fragment]
) -> Fragment:
    """Return a page's public fragment from the cache, or render it (and keep it) on a miss.

    Arguments None mean the page is not worth caching: it is rendered every time.
    """
    cache: PageCache | None = current_app.extensions.get("page_cache")
    # A session with catalog changes not yet committed reads its own writes, not the cache.
    if cache is None or arguments is None or _has_uncommitted_changes(db.session()):
        return render()
    return cache.fetch(page_key(endpoint, arguments), render)


def _touches_catalog(row: object) -> bool:
    if isinstance(row, CATALOG_ROWS):
        return True
    if isinstance(row, Organization):
        return row.kind == OrgKind.VENDOR
    if isinstance(row, OutboxEvent):
        return row.type.startswith(CATALOG_TOPICS)
    if isinstance(row, AuditEntry):
        return row.action in VENDOR_ACTIONS
    return False


def _pending_catalog_change(session: Session) -> bool:
    changed = itertools.chain(session.new, session.deleted)
    if any(_touches_catalog(row) for row in changed):
        return True
    return any(_touches_catalog(row) and session.is_modified(row) for row in session.dirty)


def _has_uncommitted_changes(session: Session) -> bool:
    return CHANGED in session.info or _pending_catalog_change(session)


def _mark_flush(session: Session, _context: UOWTransaction) -> None:
    """Remember a flush that changes the catalog, on the session and on its connection."""
    cache = current_app.extensions.get("page_cache") if has_app_context() else None
    if cache is None or not _pending_catalog_change(session):
        return
    session.info[CHANGED] = cache
    # A transaction the session joined (with savepoints) may still roll back after the
    # session commits: the connection remembers, and bumps again on that rollback.
    session.connection().info[CHANGED] = cache


def _bump_after_commit(session: Session) -> None:
    cache: PageCache | None = session.info.pop(CHANGED, None)
    if cache is not None:
        cache.bump()


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(CHANGED, None)


def _forget_on_connection_commit(connection: sa.Connection) -> None:
    # The session bumps after this commit has landed, not before.
    connection.info.pop(CHANGED, None)


def _bump_on_connection_rollback(connection: sa.Connection) -> None:
    cache: PageCache | None = connection.info.pop(CHANGED, None)
    if cache is not None:
        cache.bump()


def _listen_once(target: Any, name: str, listener: Callable[..., None]) -> None:
    if not sa.event.contains(target, name, listener):
        sa.event.listen(target, name, listener)


def init_page_cache(app: Flask) -> None:
    """Cache storefront fragments in the app's Redis, if it has one, and watch for changes."""
    client = app.extensions["redis"].client
    if client is None:
        return
    prefix = app.config["SETTINGS"].rate_limit_prefix
    app.extensions["page_cache"] = PageCache(client, prefix)
    engine = app.extensions["db_engine"]
    _listen_once(engine, "commit", _forget_on_connection_commit)
    _listen_once(engine, "rollback", _bump_on_connection_rollback)
    factory = db.session_factory
    _listen_once(factory, "after_flush", _mark_flush)
    _listen_once(factory, "after_commit", _bump_after_commit)
    _listen_once(factory, "after_rollback", _forget_after_rollback)
