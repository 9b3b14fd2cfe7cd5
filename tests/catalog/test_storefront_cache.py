"""The storefront's public content is cached in Redis and never outlives a catalog change."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.orm import Session

from app import create_app
from catalog.page_cache import PageCache
from catalog.services import listings, plans, review
from marketplace.clock import FrozenClock
from marketplace.console.services import reactivate_organization, suspend_organization
from tests.catalog.query_counter import counted_queries
from tests.catalog.workflow import Party, make_operator, make_vendor, plan_terms, published
from tests.conftest import RUN_PREFIX, make_test_settings
from tests.factories import make_member, make_user
from tests.sessions import sign_in, sign_out

pytestmark = pytest.mark.redis
NO_RETRY = Retry(NoBackoff(), 0)


@pytest.fixture
def cache(app: Flask) -> PageCache:
    """The app's page cache (there is one: the suite runs with Redis)."""
    page_cache: PageCache = app.extensions["page_cache"]
    return page_cache


@pytest.fixture
def vendor(session: Session) -> Party:
    """A vendor with an owner."""
    return make_vendor("福州云账本科技有限公司")


@pytest.fixture
def operator(session: Session) -> Party:
    """The marketplace operator."""
    return make_operator()


@pytest.fixture
def ledger(session: Session, clock: FrozenClock, vendor: Party, operator: Party) -> int:
    """Publish Cloud Ledger through the review workflow; return its listing id."""
    listing = published(session, clock, vendor, operator)
    return listing.id


def _page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _cached_twice(client: FlaskClient, cache: PageCache, path: str) -> str:
    """Fetch a page twice and check that the second answer came from the cache."""
    _page(client, path)
    hits = cache.hits
    page = _page(client, path)
    assert cache.hits == hits + 1
    return page


def _listing_path(vendor: Party) -> str:
    return f"/services/{vendor.org.id}/cloud-ledger"


@pytest.mark.parametrize("path", ["/services", "/services?q=账本&sort=newest", "listing", "vendor"])
def test_the_second_visit_is_served_from_the_cache_without_a_query(
    client: FlaskClient, cache: PageCache, vendor: Party, ledger: int, path: str
) -> None:
    path = {"listing": _listing_path(vendor), "vendor": f"/vendors/{vendor.org.id}"}.get(path, path)
    first = _page(client, path)
    hits, misses = cache.hits, cache.misses

    with counted_queries() as statements:
        second = _page(client, path)

    assert statements == []
    assert (cache.hits, cache.misses) == (hits + 1, misses)
    assert second == first
    assert "云账本" in second


def test_pages_differing_in_any_argument_are_cached_apart(
    client: FlaskClient, cache: PageCache, ledger: int
) -> None:
    _page(client, "/services")
    misses = cache.misses

    assert "云账本" not in _page(client, "/services?q=不存在的服务")
    assert "云账本" not in _page(client, "/services?category=hr")
    assert "云账本" in _page(client, "/services?category=finance")
    assert cache.misses == misses + 3


def test_a_published_listing_shows_on_the_very_next_request(
    session: Session,
    clock: FrozenClock,
    client: FlaskClient,
    cache: PageCache,
    vendor: Party,
    operator: Party,
    ledger: int,
) -> None:
    assert "云记账专业版" not in _cached_twice(client, cache, "/services")
    assert "云记账专业版" not in _cached_twice(client, cache, f"/vendors/{vendor.org.id}")

    published(session, clock, vendor, operator, slug="ledger-pro", name_zh="云记账专业版")

    assert "云记账专业版" in _page(client, "/services")
    assert "云记账专业版" in _page(client, f"/vendors/{vendor.org.id}")


def test_a_delisted_listing_leaves_every_page_at_once(
    session: Session,
    clock: FrozenClock,
    client: FlaskClient,
    cache: PageCache,
    vendor: Party,
    ledger: int,
) -> None:
    assert "云账本" in _cached_twice(client, cache, "/services")
    _cached_twice(client, cache, _listing_path(vendor))

    review.delist(session, clock, vendor.actor, vendor.org.id, ledger)

    assert "云账本" not in _page(client, "/services")
    assert client.get(_listing_path(vendor)).status_code == 404
    assert client.get(f"/vendors/{vendor.org.id}").status_code == 404


def test_an_approved_new_version_and_new_plan_price_show_on_the_next_request(
    session: Session,
    clock: FrozenClock,
    client: FlaskClient,
    cache: PageCache,
    vendor: Party,
    operator: Party,
    ledger: int,
) -> None:
    path = _listing_path(vendor)
    assert "¥99.00" in _cached_twice(client, cache, path)
    org = vendor.org.id
    listings.update_draft(session, clock, vendor.actor, org, ledger, {"name_zh": "云账本二代"})
    dearer = plan_terms(components=[{"kind": "flat", "amount_fen": 19900}])
    plans.revise_plan(session, clock, vendor.actor, org, ledger, "standard", dearer)
    review.submit_for_review(session, clock, vendor.actor, org, ledger)

    # Waiting for review changes nothing a visitor sees.
    waiting = _page(client, path)
    assert "云账本二代" not in waiting and "¥99.00" in waiting

    review.approve(session, clock, operator.actor, ledger)

    page = _page(client, path)
    assert "云账本二代" in page and "¥199.00" in page and "¥99.00" not in page
    assert "云账本二代" in _page(client, "/services")


def test_a_suspended_vendor_disappears_and_returns_with_its_reactivation(
    session: Session,
    clock: FrozenClock,
    client: FlaskClient,
    cache: PageCache,
    vendor: Party,
    operator: Party,
    ledger: int,
) -> None:
    assert "云账本" in _cached_twice(client, cache, "/services")
    _cached_twice(client, cache, f"/vendors/{vendor.org.id}")

    suspend_organization(session, clock, operator.actor, vendor.org.id, "资质过期")

    assert "云账本" not in _page(client, "/services")
    assert client.get(f"/vendors/{vendor.org.id}").status_code == 404

    reactivate_organization(session, clock, operator.actor, vendor.org.id)

    assert "云账本" in _page(client, "/services")


def test_each_language_gets_its_own_cached_content(
    client: FlaskClient, cache: PageCache, vendor: Party, ledger: int
) -> None:
    chinese = _cached_twice(client, cache, _listing_path(vendor))
    client.post("/lang", data={"lang": "en"})
    english = _cached_twice(client, cache, _listing_path(vendor))
    client.post("/lang", data={"lang": "zh_CN"})

    assert "Compare plans" in english and "Cloud Ledger" in english
    assert "比较套餐" not in english
    assert "云账本" in chinese and "Compare plans" not in chinese


def _csrf_tokens(page: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', page))


def test_a_signed_in_visitors_nav_and_csrf_token_never_reach_another_visitor(
    app: Flask, client: FlaskClient, cache: PageCache, vendor: Party, ledger: int
) -> None:
    alice = make_user("alice@example.com", display_name="Alice Zhang")
    make_member(vendor.org, alice)
    # Alice reads Chinese, like the stranger after her: both pages share one cache key.
    sign_in(client, alice, vendor.org, lang="zh_CN")
    alices_page = _page(client, "/services")
    alices_tokens = _csrf_tokens(alices_page)
    assert "Alice Zhang" in alices_page and alices_tokens

    stranger = app.test_client()
    hits = cache.hits
    strangers_page = _page(stranger, "/services")

    assert cache.hits == hits + 1
    assert "云账本" in strangers_page
    assert "Alice Zhang" not in strangers_page
    assert vendor.org.name not in strangers_page.split('id="main"')[0]
    assert not alices_tokens & _csrf_tokens(strangers_page)
    sign_out(client, lang="zh_CN")
    assert "Alice Zhang" not in _page(client, "/services")


def test_flashed_messages_stay_with_their_visitor(
    app: Flask, client: FlaskClient, cache: PageCache, ledger: int
) -> None:
    with client.session_transaction() as browser:
        browser["_flashes"] = [("success", "只给这位访客的消息")]
    assert "只给这位访客的消息" in _page(client, "/services")

    assert "只给这位访客的消息" not in _page(app.test_client(), "/services")
    assert "只给这位访客的消息" not in _page(client, "/services")


@pytest.fixture
def broken_redis(app: Flask, monkeypatch: pytest.MonkeyPatch, ledger: int) -> PageCache:
    """Point the page cache at a Redis that refuses connections (once Cloud Ledger is out)."""
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=NO_RETRY)
    broken = PageCache(dead, RUN_PREFIX)
    monkeypatch.setitem(app.extensions, "page_cache", broken)
    return broken


def test_pages_render_and_a_warning_is_logged_when_redis_is_down(
    client: FlaskClient,
    broken_redis: PageCache,
    vendor: Party,
    ledger: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="catalog.page_cache"):
        for path in ("/services", _listing_path(vendor), f"/vendors/{vendor.org.id}"):
            assert "云账本" in _page(client, path)

    assert any("Redis failed" in record.getMessage() for record in caplog.records)
    assert broken_redis.hits == 0


def test_a_catalog_change_commits_even_when_redis_is_down(
    session: Session,
    clock: FrozenClock,
    client: FlaskClient,
    broken_redis: PageCache,
    vendor: Party,
    ledger: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR, logger="catalog.page_cache"):
        review.delist(session, clock, vendor.actor, vendor.org.id, ledger)

    assert "云账本" not in _page(client, "/services")
    assert any("not bumped" in record.getMessage() for record in caplog.records)


@pytest.fixture
def app_without_redis(database_url: str) -> Iterator[Flask]:
    """An app configured without Redis, as in the embedded mode."""
    application = create_app(make_test_settings(database_url, None))
    yield application
    application.extensions["db_engine"].dispose()


def test_without_redis_pages_are_rendered_uncached(
    app_without_redis: Flask, session: Session, vendor: Party, ledger: int
) -> None:
    assert "page_cache" not in app_without_redis.extensions
    visitor = app_without_redis.test_client()

    for path in ("/services", _listing_path(vendor), f"/vendors/{vendor.org.id}"):
        assert "云账本" in _page(visitor, path)


def test_a_page_that_is_not_found_is_not_cached(client: FlaskClient, cache: PageCache) -> None:
    hits, misses = cache.hits, cache.misses
    for _ in range(2):
        assert client.get("/services/999999/no-such-service").status_code == 404
        assert client.get("/vendors/999999").status_code == 404

    assert (cache.hits, cache.misses) == (hits, misses + 4)


def test_deep_pages_and_outsized_calculator_queries_skip_the_cache(
    client: FlaskClient, cache: PageCache, vendor: Party, ledger: int
) -> None:
    before = (cache.hits, cache.misses)

    _page(client, "/services?page=51")
    _page(client, "/services?page=51")
    _page(client, _listing_path(vendor) + "?plan=standard&seats=" + "1" * 1200)

    assert (cache.hits, cache.misses) == before
