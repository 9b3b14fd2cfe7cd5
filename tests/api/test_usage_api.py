"""The usage API: batches answered record by record, stored once, read back and reconciled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import Invoice, SandboxFirm, TestClock, UsageEvent, UsageRejection
from billing.services import subscriptions as subs
from marketplace.clock import FrozenClock
from tests.api.billing_helpers import (
    ACTOR,
    BILLING_SCOPES,
    Metering,
    billing_vendor,
    fresh_headers,
    metered_plan,
    metering,
    minutes,
    sandbox_headers,
    subscription,
    usage_record,
)
from tests.api.catalog_helpers import problem, with_scopes
from tests.factories import make_org

NOW = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


@pytest.fixture
def metered(session: Session, client: FlaskClient, clock: FrozenClock) -> Metering:
    """A vendor with an active subscription to its metered plan."""
    return metering(session, client, clock)


def post(client: FlaskClient, headers: dict[str, str], *records: dict[str, Any]) -> Any:
    """Post records as one batch; assert it was answered 200 and return the body."""
    response = client.post("/api/v1/usage", json={"records": list(records)}, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def stored(session: Session) -> list[UsageEvent]:
    """Return the stored usage events, oldest first, read afresh."""
    session.expire_all()
    return list(session.scalars(sa.select(UsageEvent).order_by(UsageEvent.id)))


def codes(body: dict[str, Any]) -> list[str | None]:
    """Return each record's rejection code (None when not rejected)."""
    return [result["code"] for result in body["results"]]


def test_a_batch_is_stored_and_every_record_answered_accepted(
    client: FlaskClient, session: Session, metered: Metering
) -> None:
    sub_id = metered.subscription.id
    body = post(
        client,
        metered.headers,
        usage_record(sub_id, "k1", NOW, 5),
        usage_record(sub_id, "k2", NOW + minutes(2), "2.5", attributes={"region": "fz"}),
        usage_record(sub_id, "k3", NOW, "1", dimension="active_users", unique_value="u1"),
    )

    assert (body["accepted"], body["duplicates"], body["rejected"]) == (3, 0, 0)
    assert [r["status"] for r in body["results"]] == ["accepted"] * 3
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    rows = {e.idempotency_key: e for e in stored(session)}
    assert rows["k2"].quantity == Decimal("2.5") and rows["k2"].attributes == {"region": "fz"}
    assert rows["k3"].unique_value == "u1" and rows["k1"].vendor_id == metered.caller.org_id


def test_a_retried_batch_stores_nothing_twice_and_says_whether_the_quantity_differed(
    client: FlaskClient, session: Session, metered: Metering
) -> None:
    sub_id = metered.subscription.id
    post(client, metered.headers, usage_record(sub_id, "a", NOW, 5), usage_record(sub_id, "b", NOW))

    again = post(
        client,
        metered.headers,
        usage_record(sub_id, "a", NOW, "5.000"),
        usage_record(sub_id, "b", NOW, 7),
    )

    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate"]
    assert [r["quantity_differs"] for r in again["results"]] == [False, True]
    assert again["duplicates"] == 2
    rows = stored(session)
    assert [(e.idempotency_key, e.quantity, e.duplicates) for e in rows] == [
        ("a", Decimal(5), 1),
        ("b", Decimal(1), 1),
    ]


def test_a_key_repeated_within_one_batch_is_stored_once(
    client: FlaskClient, session: Session, metered: Metering
) -> None:
    sub_id = metered.subscription.id
    body = post(
        client,
        metered.headers,
        usage_record(sub_id, "same", NOW, 1),
        usage_record(sub_id, "same", NOW, 2),
    )

    assert [r["status"] for r in body["results"]] == ["accepted", "duplicate"]
    assert body["results"][1]["quantity_differs"] is True
    [row] = stored(session)
    assert row.quantity == 1 and row.duplicates == 1


def test_a_rejected_record_sent_again_under_a_stored_key_is_a_duplicate(
    client: FlaskClient, session: Session, metered: Metering
) -> None:
    sub_id = metered.subscription.id
    post(client, metered.headers, usage_record(sub_id, "kept", NOW, 1))

    body = post(client, metered.headers, usage_record(sub_id, "kept", NOW, 1, dimension="nope"))

    assert body["results"][0]["status"] == "duplicate"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"dimension": "gpu_hours"}, "unknown_dimension"),
        ({"dimension": "active_users"}, "missing_value"),
        ({"timestamp": (NOW + minutes(6)).isoformat()}, "timestamp_in_future"),
        ({"timestamp": (NOW - minutes(1)).isoformat()}, "subscription_not_active"),
        ({"quantity": -1}, "bad_quantity"),
        ({"quantity": "lots"}, "bad_quantity"),
        ({"quantity": True}, "bad_quantity"),
        ({"quantity": "100000000000000"}, "bad_quantity"),
        ({"quantity": "0.0000001"}, "bad_quantity"),
        ({"quantity": None}, "bad_record"),
        ({"timestamp": "2026-03-02T09:30:00"}, "bad_record"),
        ({"timestamp": "yesterday"}, "bad_record"),
        ({"idempotency_key": ""}, "bad_record"),
        ({"idempotency_key": "x" * 256}, "bad_record"),
        ({"dimension": 7}, "bad_record"),
        ({"subscription_id": "1"}, "bad_record"),
        ({"unique_value": 5}, "bad_record"),
        ({"attributes": ["not", "an", "object"]}, "bad_record"),
        ({"attributes": {"nested": {"a": 1}}}, "bad_record"),
        ({"colour": "blue"}, "bad_record"),
    ],
)
def test_each_bad_record_is_rejected_with_its_code_and_the_rest_of_the_batch_is_stored(
    client: FlaskClient,
    session: Session,
    metered: Metering,
    changes: dict[str, Any],
    code: str,
) -> None:
    sub_id = metered.subscription.id
    bad = usage_record(sub_id, "bad", NOW) | changes

    body = post(client, metered.headers, bad, usage_record(sub_id, "good", NOW))

    assert codes(body) == [code, None]
    assert body["results"][0]["status"] == "rejected" and body["results"][0]["message"]
    assert [e.idempotency_key for e in stored(session)] == ["good"]
    rejection = session.scalars(sa.select(UsageRejection)).one()
    assert rejection.code == code and rejection.vendor_id == metered.caller.org_id
    assert rejection.record["subscription_id"] == bad["subscription_id"]


def test_a_record_that_is_no_object_is_rejected_alone(
    client: FlaskClient, session: Session, metered: Metering
) -> None:
    body = post(client, metered.headers, 42, usage_record(metered.subscription.id, "ok", NOW))

    assert codes(body) == ["bad_record", None]
    assert body["results"][0]["idempotency_key"] is None


def test_a_time_up_to_five_minutes_ahead_is_taken(client: FlaskClient, metered: Metering) -> None:
    body = post(
        client, metered.headers, usage_record(metered.subscription.id, "k", NOW + minutes(4))
    )

    assert codes(body) == [None]


def test_other_vendors_and_unknown_subscriptions_are_answered_alike(
    client: FlaskClient, session: Session, clock: FrozenClock, metered: Metering
) -> None:
    other = subscription(session, clock, metered_plan(billing_vendor(client)))

    body = post(
        client,
        metered.headers,
        usage_record(other.id, "theirs", NOW),
        usage_record(2_000_000_000, "nobody", NOW),
        usage_record(2**40, "huge", NOW),
    )

    assert codes(body) == ["unknown_subscription"] * 3
    assert len({r["message"] for r in body["results"]}) == 1
    assert stored(session) == []


def test_a_pending_subscription_takes_no_usage(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = billing_vendor(client)
    pending = subscription(session, clock, metered_plan(caller), active=False)

    body = post(client, caller.headers, usage_record(pending.id, "k", NOW))

    assert codes(body) == ["subscription_not_active"]


def test_late_records_of_a_cancelled_subscription_are_taken_during_the_grace_window(
    client: FlaskClient, session: Session, clock: FrozenClock, metered: Metering
) -> None:
    clock.advance(timedelta(days=3))
    cancelled_at = clock.now()
    subs.cancel(session, clock, ACTOR, metered.subscription, at_period_end=False)
    sub_id = metered.subscription.id

    clock.advance(timedelta(hours=47))
    headers = fresh_headers(client, metered.caller)
    late = post(
        client,
        headers,
        usage_record(sub_id, "late", cancelled_at - minutes(30)),
        usage_record(sub_id, "after", cancelled_at + minutes(1)),
    )
    clock.advance(timedelta(hours=2))
    headers = fresh_headers(client, metered.caller)
    too_late = post(client, headers, usage_record(sub_id, "too-late", cancelled_at - minutes(1)))

    assert codes(late) == [None, "subscription_not_active"]
    assert codes(too_late) == ["outside_open_window"]


def test_a_period_whose_invoice_is_final_takes_no_more_records(
    client: FlaskClient, session: Session, clock: FrozenClock, metered: Metering
) -> None:
    subscription_ = metered.subscription
    clock.advance(timedelta(days=1))
    subs.cancel(session, clock, ACTOR, subscription_, at_period_end=False)
    boundary = subscription_.current_period_end
    assert boundary is not None
    session.add(
        Invoice(
            organization_id=subscription_.organization_id,
            vendor_id=subscription_.vendor_id,
            subscription_id=subscription_.id,
            status="open",
            number="YS-2026-999999",
            period_start=boundary,
            vat_rate=Decimal("0.06"),
            created_at=clock.now(),
            grace_until=boundary + timedelta(hours=48),
        )
    )
    session.flush()
    headers = fresh_headers(client, metered.caller)

    body = post(client, headers, usage_record(subscription_.id, "k", boundary - minutes(5)))

    assert codes(body) == ["outside_open_window"]


def test_a_sandbox_client_meters_sandbox_subscriptions_only(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = billing_vendor(client)
    live = subscription(session, clock, metered_plan(caller))
    test_firm_plan = metered_plan(caller, sandbox=True)
    test_sub = _sandbox_subscription(session, clock, caller.org_id, test_firm_plan)
    headers = sandbox_headers(client, caller)

    sandboxed = post(
        client, headers, usage_record(test_sub.id, "s", NOW), usage_record(live.id, "l", NOW)
    )
    live_body = post(client, caller.headers, usage_record(test_sub.id, "s2", NOW))

    assert codes(sandboxed) == [None, "unknown_subscription"]
    assert codes(live_body) == ["unknown_subscription"]


def _sandbox_subscription(session: Session, clock: FrozenClock, vendor_id: int, plan: Any) -> Any:
    org = make_org("sme")
    session.add(SandboxFirm(organization_id=org.id, vendor_id=vendor_id, created_at=NOW))
    session.flush()
    made = subs.subscribe(session, clock, ACTOR, org.id, plan.id)
    subs.activate(session, clock, ACTOR, vendor_id, made.id, sandbox=True)
    return made


def test_a_test_firm_with_a_test_clock_is_metered_at_its_own_time(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = billing_vendor(client)
    test_sub = _sandbox_subscription(
        session, clock, caller.org_id, metered_plan(caller, sandbox=True)
    )
    frozen = NOW + timedelta(days=2)
    session.add(
        TestClock(organization_id=test_sub.organization_id, frozen_at=frozen, created_at=NOW)
    )
    session.flush()

    body = post(
        client,
        sandbox_headers(client, caller),
        usage_record(test_sub.id, "at-clock", frozen),
        usage_record(test_sub.id, "past-clock", frozen + minutes(10)),
    )

    assert codes(body) == [None, "timestamp_in_future"]


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"records": "nope"},
        {"records": []},
        {"records": [{}] * 1001},
        {"records": [{}], "extra": 1},
        {},
    ],
)
def test_a_malformed_envelope_answers_422_and_stores_nothing(
    client: FlaskClient, session: Session, metered: Metering, body: Any
) -> None:
    response = client.post("/api/v1/usage", json=body, headers=metered.headers)

    problem(response, 422)
    assert stored(session) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(UsageRejection)) == 0


def test_a_full_batch_of_a_thousand_records_is_taken(
    client: FlaskClient, session: Session, metered: Metering
) -> None:
    records = [usage_record(metered.subscription.id, f"k{n}", NOW, n) for n in range(1000)]

    body = post(client, metered.headers, *records)

    assert body["accepted"] == 1000 and len(stored(session)) == 1000


def test_posting_usage_needs_the_usage_write_scope(
    client: FlaskClient, session: Session, metered: Metering
) -> None:
    headers = with_scopes(client, metered.caller, ("subscriptions:read", "subscriptions:write"))

    response = client.post(
        "/api/v1/usage",
        json={"records": [usage_record(metered.subscription.id, "k", NOW)]},
        headers=headers,
    )

    problem(response, 403)
    assert stored(session) == []


# --- the current period's usage ---


def test_the_period_usage_aggregates_and_rates_each_dimension(
    client: FlaskClient, session: Session, metered: Metering
) -> None:
    sub_id = metered.subscription.id
    post(
        client,
        metered.headers,
        usage_record(sub_id, "c1", NOW, 120),
        usage_record(sub_id, "c2", NOW, "30.5"),
        usage_record(sub_id, "u1", NOW, 1, dimension="active_users", unique_value="ann"),
        usage_record(sub_id, "u2", NOW, 1, dimension="active_users", unique_value="ann"),
        usage_record(sub_id, "u3", NOW, 1, dimension="active_users", unique_value="bo"),
        usage_record(sub_id, "s1", NOW, 3, dimension="storage_gb"),
        usage_record(sub_id, "s2", NOW, 7, dimension="storage_gb"),
    )

    response = client.get(f"/api/v1/subscriptions/{sub_id}/usage", headers=metered.headers)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["current_period_start"].startswith("2026-03-02T01:30")
    assert body["current_period_end"].startswith("2026-04-02T01:30")
    dims = {d["dimension"]: d for d in body["dimensions"]}
    assert dims["api_calls"]["quantity"] == "150.5"
    assert dims["api_calls"]["included_quantity"] == "100"
    assert dims["api_calls"]["amount_fen"] == 101  # 50.5 calls at 2 fen
    assert (dims["active_users"]["quantity"], dims["active_users"]["amount_fen"]) == ("2", 1000)
    assert (dims["storage_gb"]["quantity"], dims["storage_gb"]["amount_fen"]) == ("7", 700)
    assert body["free_trial"] is False


def test_usage_in_a_trial_is_shown_but_costs_nothing(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = billing_vendor(client)
    trial = subscription(session, clock, metered_plan(caller, trial_days=14))
    post(client, caller.headers, usage_record(trial.id, "k", NOW, 500))

    body = client.get(f"/api/v1/subscriptions/{trial.id}/usage", headers=caller.headers).get_json()

    assert body["free_trial"] is True
    assert [(d["quantity"], d["amount_fen"]) for d in body["dimensions"][:1]] == [("500", 0)]


def test_a_pending_subscription_has_no_period_and_no_usage(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    caller = billing_vendor(client)
    pending = subscription(session, clock, metered_plan(caller), active=False)

    body = client.get(
        f"/api/v1/subscriptions/{pending.id}/usage", headers=caller.headers
    ).get_json()

    assert body["current_period_start"] is None
    assert {d["quantity"] for d in body["dimensions"]} == {"0"}


@pytest.mark.parametrize("whose", ["other vendor", "nobody", "too large"])
def test_another_vendors_period_usage_is_not_found(
    client: FlaskClient, session: Session, clock: FrozenClock, metered: Metering, whose: str
) -> None:
    other = subscription(session, clock, metered_plan(billing_vendor(client)))
    sub_id = {"other vendor": other.id, "nobody": 2_000_000_000, "too large": 2**40}[whose]

    response = client.get(f"/api/v1/subscriptions/{sub_id}/usage", headers=metered.headers)

    problem(response, 404)


def test_period_usage_needs_a_usage_or_subscription_scope(
    client: FlaskClient, metered: Metering
) -> None:
    headers = with_scopes(client, metered.caller, ("catalog:read",))
    reader = with_scopes(client, metered.caller, ("subscriptions:read",))
    path = f"/api/v1/subscriptions/{metered.subscription.id}/usage"

    problem(client.get(path, headers=headers), 403)
    assert client.get(path, headers=reader).status_code == 200


# --- reconciliation ---


def _listed(client: FlaskClient, headers: dict[str, str], **query: Any) -> Any:
    response = client.get("/api/v1/usage/records", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_records_list_shows_each_outcome(
    client: FlaskClient, session: Session, metered: Metering
) -> None:
    sub_id = metered.subscription.id
    post(client, metered.headers, usage_record(sub_id, "a", NOW, 2), usage_record(sub_id, "b", NOW))
    post(
        client,
        metered.headers,
        usage_record(sub_id, "a", NOW, 2),
        usage_record(sub_id, "c", NOW, dimension="nope"),
    )

    accepted = _listed(client, metered.headers)
    duplicates = _listed(client, metered.headers, status="duplicate")
    rejected = _listed(client, metered.headers, status="rejected")

    assert [(r["idempotency_key"], r["quantity"]) for r in accepted["data"]] == [
        ("a", "2"),
        ("b", "1"),
    ]
    assert [(r["idempotency_key"], r["duplicates"]) for r in duplicates["data"]] == [("a", 1)]
    [refused] = rejected["data"]
    assert (refused["code"], refused["idempotency_key"]) == ("unknown_dimension", "c")
    assert refused["record"]["dimension"] == "nope" and refused["status"] == "rejected"


def test_the_records_list_filters_by_subscription_and_time_and_pages(
    client: FlaskClient, session: Session, clock: FrozenClock, metered: Metering
) -> None:
    sub_id = metered.subscription.id
    second = subscription(session, clock, metered.subscription.plan)
    post(client, metered.headers, usage_record(sub_id, "a", NOW), usage_record(second.id, "b", NOW))
    clock.advance(timedelta(minutes=40))
    headers = fresh_headers(client, metered.caller)
    post(client, headers, usage_record(sub_id, "c", NOW))

    only_first = _listed(client, headers, subscription_id=sub_id)
    later = _listed(client, headers, **{"from": (NOW + minutes(30)).isoformat()})
    earlier = _listed(client, headers, to=(NOW + minutes(30)).isoformat())
    first_page = _listed(client, headers, limit=2)
    next_page = _listed(client, headers, limit=2, cursor=first_page["next_cursor"])

    assert [r["idempotency_key"] for r in only_first["data"]] == ["a", "c"]
    assert [r["idempotency_key"] for r in later["data"]] == ["c"]
    assert [r["idempotency_key"] for r in earlier["data"]] == ["a", "b"]
    assert [r["idempotency_key"] for r in first_page["data"] + next_page["data"]] == ["a", "b", "c"]
    assert next_page["next_cursor"] is None


def test_the_records_list_keeps_other_vendors_and_modes_out(
    client: FlaskClient, session: Session, clock: FrozenClock, metered: Metering
) -> None:
    other = metering(session, client, clock)
    post(client, other.headers, usage_record(other.subscription.id, "theirs", NOW))
    post(client, other.headers, usage_record(other.subscription.id, "theirs-bad", NOW, -1))
    post(client, metered.headers, usage_record(metered.subscription.id, "mine", NOW))

    mine = _listed(client, metered.headers)
    rejected = _listed(client, metered.headers, status="rejected")
    sandbox = _listed(client, sandbox_headers(client, metered.caller))

    assert [r["idempotency_key"] for r in mine["data"]] == ["mine"]
    assert rejected["data"] == [] and sandbox["data"] == []


@pytest.mark.parametrize(
    "query",
    [{"status": "lost"}, {"subscription_id": "x"}, {"from": "yesterday"}, {"limit": 0}],
)
def test_bad_record_list_parameters_answer_422(
    client: FlaskClient, metered: Metering, query: dict[str, Any]
) -> None:
    response = client.get("/api/v1/usage/records", query_string=query, headers=metered.headers)

    problem(response, 422)


def test_the_records_list_needs_the_usage_write_scope(
    client: FlaskClient, metered: Metering
) -> None:
    headers = with_scopes(client, metered.caller, BILLING_SCOPES[1:])

    problem(client.get("/api/v1/usage/records", headers=headers), 403)
