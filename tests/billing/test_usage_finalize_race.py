"""A usage record racing the finalization of the draft it lands on is billed, never lost.

Two real connections on a scratch database: the usage write holds its share lock on the
draft while the operator finalizes it, so finalization waits and then rates the record.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import create_app
from billing.models import Invoice, InvoiceLine
from billing.services import subscriptions as subs
from billing.services import usage as usage_service
from billing.services.close import close_due_periods
from billing.services.invoices import finalize_invoice
from marketplace import migrate
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.extensions import db
from tests import backends
from tests.api.billing_helpers import METERED
from tests.billing.conftest import firm
from tests.catalog.storefront_data import publish_listing
from tests.conftest import BACKENDS, make_test_settings
from tests.sso.conftest import make_vendor

START = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
APRIL = datetime(2026, 4, 2, 1, 30, tzinfo=UTC)
HOLD_SECONDS = 2


@pytest.mark.skipif(not BACKENDS.has_postgres, reason="row locks need PostgreSQL")
def test_a_record_stored_while_its_draft_is_finalized_is_on_the_final_invoice(
    redis_url: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with backends.scratch_database("usage_race", has_postgres=True) as url:
        migrate.upgrade(url)
        app = create_app(make_test_settings(url, redis_url))
        clock = FrozenClock(START)
        app.extensions["clock"] = clock
        with app.app_context():
            session = db.session()
            vendor = make_vendor()
            plan = publish_listing(vendor.org, price=METERED).plans[0]
            session.commit()
            subscription = subs.subscribe(session, clock, Actor(None), firm().id, plan.id)
            subs.activate(
                session, clock, Actor(None), vendor.org.id, subscription.id, sandbox=False
            )
            subscription_id, vendor_id = subscription.id, vendor.org.id
            clock.set(APRIL + timedelta(hours=1))
            close_due_periods(session, clock)
            draft_id = session.scalar(
                sa.select(Invoice.id).where(
                    Invoice.subscription_id == subscription_id, Invoice.period_start == APRIL
                )
            )
            db.session.remove()

        checked = threading.Event()
        insert = usage_service._insert_events

        def held_insert(*args: object, **kwargs: object) -> set[str]:
            checked.set()  # the draft was read (and share-locked) as a draft
            threading.Event().wait(HOLD_SECONDS)  # the operator finalizes meanwhile
            return insert(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(usage_service, "_insert_events", held_insert)
        answers: list[str] = []

        def post() -> None:
            with app.app_context():
                record = {
                    "subscription_id": subscription_id,
                    "dimension": "api_calls",
                    "quantity": 10000,
                    "timestamp": (APRIL - timedelta(days=1)).isoformat(),
                    "idempotency_key": "late",
                }
                batch = usage_service.record_usage(db.session(), clock, vendor_id, False, [record])
                answers.append(batch.results[0].status)
                db.session.remove()

        poster = threading.Thread(target=post)
        poster.start()
        assert checked.wait(10)
        with app.app_context():
            finalize_invoice(db.session(), clock, draft_id)  # waits for the usage write
            db.session.remove()
        poster.join()
        with app.app_context():
            billed = (
                db.session()
                .scalars(
                    sa.select(InvoiceLine.quantity).where(
                        InvoiceLine.invoice_id == draft_id,
                        InvoiceLine.kind == "usage",
                        InvoiceLine.dimension == "api_calls",
                    )
                )
                .all()
            )
            db.session.remove()
        app.extensions["db_engine"].dispose()

    assert answers == ["accepted"]
    assert billed == [Decimal(10000)]
