"""A new default card retries what the firm still owes, at once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from billing.payments import card_changes
from billing.payments.collection import collect, collect_invoice
from billing.payments.config import payment_settings
from billing.payments.settlement import lock_invoice, settle_failure
from marketplace.clock import FrozenClock
from tests.billing.payments_world import DECLINED_CARD, give_card, open_invoice, stripe_client
from tests.localstripe import LocalStripe


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Record the jobs queued, instead of running them."""
    jobs: list[tuple[Any, ...]] = []

    def enqueue(func: Any, *args: Any, **kwargs: Any) -> None:
        jobs.append((func, args, kwargs))

    monkeypatch.setattr(card_changes, "enqueue", enqueue)
    return jobs


def test_an_invoice_whose_last_attempt_failed_is_retried_when_a_card_becomes_default(
    session: Session,
    clock: FrozenClock,
    localstripe: LocalStripe,
    queued: list[tuple[Any, ...]],
) -> None:
    client = stripe_client(localstripe)
    invoice = open_invoice(session, clock)
    give_card(session, client, invoice.organization_id, DECLINED_CARD)
    failed = collect(session, clock, client, invoice.id, retry=False)
    assert failed is not None and failed.status == "failed"
    assert card_changes.retry_unpaid(session, invoice.organization_id) == []  # not yet counted
    locked = lock_invoice(session, invoice.id)
    assert locked is not None
    settle_failure(session, clock, payment_settings().policy, locked, failed)  # the webhook's part
    session.commit()

    retried = card_changes.retry_unpaid(session, invoice.organization_id)

    assert retried == [invoice.id]
    assert queued == [(collect_invoice, (invoice.id,), {"retry": True, "queue": "billing"})]


def test_nothing_is_retried_for_a_firm_that_owes_nothing_or_was_never_refused(
    session: Session,
    clock: FrozenClock,
    localstripe: LocalStripe,
    queued: list[tuple[Any, ...]],
) -> None:
    client = stripe_client(localstripe)
    invoice = open_invoice(session, clock)
    give_card(session, client, invoice.organization_id)
    paid = collect(session, clock, client, invoice.id, retry=False)
    assert paid is not None and paid.status == "succeeded"

    assert card_changes.retry_unpaid(session, invoice.organization_id) == []
    assert queued == []
