"""Batches with the same idempotency keys, posted at once, store each record once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from billing.models import UsageEvent
from billing.services import subscriptions as subs
from marketplace.audit.services import Actor
from marketplace.extensions import db
from tests.api.billing_helpers import METERED
from tests.billing.conftest import firm
from tests.catalog.storefront_data import publish_listing
from tests.conftest import committing_app
from tests.sso.conftest import access_token, bearer, make_client, make_vendor

pytestmark = pytest.mark.postgres
NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
POSTERS = 6
RECORDS = 300


@pytest.fixture(scope="module", name="committing_app")
def _committing_app(redis_url: str | None) -> Iterator[Flask]:
    """An app over its own database, whose requests really commit."""
    with committing_app("usage_race", redis_url, NOW) as built:
        yield built


def _metered_subscription(app: Flask) -> tuple[int, dict[str, str]]:
    """Commit a vendor, a live client's token and an active metered subscription."""
    clock = app.extensions["clock"]
    with app.app_context():
        session = db.session()
        vendor = make_vendor()
        plan = publish_listing(vendor.org, price=METERED).plans[0]
        session.commit()
        made = subs.subscribe(session, clock, Actor(None), firm().id, plan.id)
        subs.activate(session, clock, Actor(None), vendor.org.id, made.id, sandbox=False)
        issued = make_client(vendor, ("usage:write",))
        session.commit()
        headers = bearer(access_token(app.test_client(), issued))
        db.session.remove()
        return made.id, headers


def _post_all_at_once(app: Flask, headers: dict[str, str], batch: dict[str, Any]) -> list[Any]:
    start = threading.Barrier(POSTERS)
    answers: list[Any] = [None] * POSTERS

    def post(n: int) -> None:
        with app.app_context():
            client = app.test_client()
            start.wait()
            response = client.post("/api/v1/usage", json=batch, headers=headers)
            answers[n] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=post, args=(n,)) for n in range(POSTERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_concurrent_usage_posts_with_the_same_keys_store_each_record_once(
    committing_app: Flask,
) -> None:
    sub_id, headers = _metered_subscription(committing_app)
    at = (NOW + timedelta(minutes=1)).isoformat()
    batch = {
        "records": [
            {
                "subscription_id": sub_id,
                "dimension": "api_calls",
                "quantity": n,
                "timestamp": at,
                "idempotency_key": f"race-{n}",
            }
            for n in range(RECORDS)
        ]
    }

    answers = _post_all_at_once(committing_app, headers, batch)

    assert [status for status, _ in answers] == [200] * POSTERS
    accepted = sum(body["accepted"] for _, body in answers)
    duplicates = sum(body["duplicates"] for _, body in answers)
    assert (accepted, duplicates) == (RECORDS, RECORDS * (POSTERS - 1))
    assert all(r["quantity_differs"] in (None, False) for _, b in answers for r in b["results"])
    with committing_app.app_context():
        rows = (
            db.session()
            .execute(
                sa.select(UsageEvent.idempotency_key, UsageEvent.duplicates).where(
                    UsageEvent.subscription_id == sub_id
                )
            )
            .all()
        )
        db.session.remove()
    assert len(rows) == RECORDS
    assert {key for key, _ in rows} == {f"race-{n}" for n in range(RECORDS)}
    assert sum(count for _, count in rows) == RECORDS * (POSTERS - 1)
