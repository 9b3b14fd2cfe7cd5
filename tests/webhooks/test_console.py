"""The vendor console's webhook pages: add, rotate, disable, test, read the log, redeliver."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from marketplace.clock import FrozenClock
from marketplace.webhooks import sealing
from marketplace.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from marketplace.webhooks.relay import relay_outbox
from tests.sessions import sign_in
from tests.sso.conftest import Vendor, make_vendor
from tests.webhooks.conftest import Receiver, endpoint_for, subscription_event

pytestmark = pytest.mark.usefixtures("inline_jobs")
SECRET = re.compile(r'data-testid="signing-secret">(whsec_[A-Za-z0-9_-]+)<')
GOOD = {"url": "http://127.0.0.1:9/hooks", "event_types": ["subscription.created"]}


def secret_of(response: TestResponse) -> str:
    """Return the signing secret a page shows."""
    found = SECRET.search(response.get_data(as_text=True))
    assert found, response.get_data(as_text=True)
    return found.group(1)


def rows(session: Session) -> list[tuple[Any, ...]]:
    """Return every endpoint's url, types, status and sealed secret, read afresh."""
    session.expire_all()
    stmt = sa.select(
        WebhookEndpoint.url,
        WebhookEndpoint.event_types,
        WebhookEndpoint.status,
        WebhookEndpoint.secret_sealed,
    ).order_by(WebhookEndpoint.id)
    return [tuple(row) for row in session.execute(stmt)]


def count(session: Session, model: type[Any]) -> int:
    """Return how many rows of a model there are."""
    return int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_a_manager_adds_an_endpoint_and_sees_its_secret_once(
    client: FlaskClient, session: Session, vendor: Vendor, role: str
) -> None:
    sign_in(client, vendor.users[role], vendor.org)

    response = client.post("/vendor/webhooks", data={**GOOD, "description": "orders"})

    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    secret = secret_of(response)
    [endpoint] = session.scalars(sa.select(WebhookEndpoint)).all()
    assert (endpoint.url, endpoint.event_types, endpoint.sandbox) == (
        GOOD["url"],
        GOOD["event_types"],
        False,
    )
    assert sealing.unseal(endpoint.secret_sealed, "test-secret-key") == secret
    listing = client.get("/vendor/webhooks").get_data(as_text=True)
    page = client.get(f"/vendor/webhooks/{endpoint.id}").get_data(as_text=True)
    assert GOOD["url"] in listing and secret not in listing and secret not in page


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({**GOOD, "url": ""}, "url", "This field is required."),
        ({**GOOD, "url": "http://example.com/hooks"}, "url", "Use an https URL"),
        ({**GOOD, "url": "https://u:p@example.com/"}, "url", "Enter a valid http(s) URL"),
        ({"url": GOOD["url"]}, "event_types", "Choose at least one event type."),
        ({**GOOD, "event_types": ["subscription.exploded"]}, "event_types", "not a valid choice"),
        ({**GOOD, "description": "d" * 201}, "description", "200"),
    ],
)
def test_a_bad_endpoint_shows_the_field_error_and_saves_nothing(
    client: FlaskClient,
    session: Session,
    vendor: Vendor,
    form: dict[str, Any],
    field: str,
    message: str,
) -> None:
    sign_in(client, vendor.users["owner"], vendor.org)

    response = client.post("/vendor/webhooks", data=form)

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and "invalid-feedback" in html
    assert f'name="{field}"' in html
    assert rows(session) == []


def test_a_rotation_shows_the_new_secret_once_and_keeps_the_old_for_the_overlap(
    client: FlaskClient, session: Session, clock: FrozenClock, vendor: Vendor
) -> None:
    issued = endpoint_for(session, clock, vendor, GOOD["url"])
    sign_in(client, vendor.users["admin"], vendor.org)

    response = client.post(f"/vendor/webhooks/{issued.endpoint.id}/rotate")

    new = secret_of(response)
    session.refresh(issued.endpoint)
    endpoint = issued.endpoint
    assert new != issued.secret and response.headers["Cache-Control"] == "no-store"
    assert sealing.unseal(endpoint.secret_sealed, "test-secret-key") == new
    assert endpoint.previous_secret_sealed is not None
    assert sealing.unseal(endpoint.previous_secret_sealed, "test-secret-key") == issued.secret
    assert new not in client.get(f"/vendor/webhooks/{endpoint.id}").get_data(as_text=True)


def test_an_endpoint_is_disabled_and_enabled_again(
    client: FlaskClient, session: Session, clock: FrozenClock, vendor: Vendor
) -> None:
    endpoint = endpoint_for(session, clock, vendor, GOOD["url"]).endpoint
    sign_in(client, vendor.users["owner"], vendor.org)

    disabled = client.post(f"/vendor/webhooks/{endpoint.id}/disable")
    status_then = rows(session)[0][2]
    enabled = client.post(f"/vendor/webhooks/{endpoint.id}/enable")

    assert disabled.status_code == enabled.status_code == 302
    assert status_then == "disabled" and rows(session)[0][2] == "enabled"


def test_a_test_event_is_sent_and_the_log_shows_its_attempt(
    client: FlaskClient, session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    receiver.start()
    endpoint = endpoint_for(session, clock, vendor, receiver.url).endpoint
    sign_in(client, vendor.users["owner"], vendor.org)

    response = client.post(f"/vendor/webhooks/{endpoint.id}/test", follow_redirects=True)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "A test event is on its way." in html
    assert "webhook.test" in html and "200" in html
    assert [b["type"] for b in receiver.bodies()] == ["webhook.test"]


def test_the_log_shows_each_attempt_and_a_delivery_is_redelivered(
    client: FlaskClient, session: Session, clock: FrozenClock, vendor: Vendor, receiver: Receiver
) -> None:
    endpoint = endpoint_for(session, clock, vendor, receiver.url).endpoint
    event = subscription_event(session, clock, vendor)
    relay_outbox()  # the receiver is down
    [delivery] = session.scalars(sa.select(WebhookDelivery)).all()
    receiver.start()
    sign_in(client, vendor.users["admin"], vendor.org)

    before = client.get(f"/vendor/webhooks/{endpoint.id}").get_data(as_text=True)
    response = client.post(
        f"/vendor/webhooks/deliveries/{delivery.id}/redeliver", follow_redirects=True
    )

    assert "subscription.created" in before and "connection_error" in before.replace(" ", "_")
    assert "The event will be sent again." in response.get_data(as_text=True)
    assert [b["id"] for b in receiver.bodies()] == [event.id]
    assert count(session, WebhookAttempt) == 2


@pytest.mark.parametrize("role", ["member", "billing"])
def test_members_without_a_managing_role_can_neither_see_nor_change_endpoints(
    client: FlaskClient, session: Session, clock: FrozenClock, vendor: Vendor, role: str
) -> None:
    endpoint = endpoint_for(session, clock, vendor, GOOD["url"]).endpoint
    subscription_event(session, clock, vendor)
    before = rows(session)
    sign_in(client, vendor.users[role], vendor.org)
    base = f"/vendor/webhooks/{endpoint.id}"

    answers = [
        client.get("/vendor/webhooks"),
        client.get(base),
        client.post("/vendor/webhooks", data=GOOD),
        client.post(f"{base}/rotate"),
        client.post(f"{base}/disable"),
        client.post(f"{base}/test"),
        client.post(f"{base}/delete"),
    ]

    assert [a.status_code for a in answers] == [403] * len(answers)
    assert rows(session) == before and count(session, WebhookDelivery) == 0


def test_another_vendors_endpoint_and_delivery_answer_404(
    client: FlaskClient, session: Session, clock: FrozenClock, vendor: Vendor
) -> None:
    other = make_vendor("other vendor")
    theirs = endpoint_for(session, clock, other, GOOD["url"]).endpoint
    subscription_event(session, clock, other)
    relay_outbox()
    [their_delivery] = session.scalars(sa.select(WebhookDelivery)).all()
    before = rows(session)
    sign_in(client, vendor.users["owner"], vendor.org)
    base = f"/vendor/webhooks/{theirs.id}"

    answers = [
        client.get(base),
        client.post(f"{base}/rotate"),
        client.post(f"{base}/disable"),
        client.post(f"{base}/enable"),
        client.post(f"{base}/test"),
        client.post(f"{base}/delete"),
        client.post(f"/vendor/webhooks/deliveries/{their_delivery.id}/redeliver"),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert rows(session) == before
    assert count(session, WebhookAttempt) == 1


def test_an_endpoint_is_deleted_with_its_log(
    client: FlaskClient, session: Session, clock: FrozenClock, vendor: Vendor
) -> None:
    endpoint = endpoint_for(session, clock, vendor, GOOD["url"]).endpoint
    subscription_event(session, clock, vendor)
    relay_outbox()
    sign_in(client, vendor.users["owner"], vendor.org)

    response = client.post(f"/vendor/webhooks/{endpoint.id}/delete")

    assert response.status_code == 302
    assert rows(session) == [] and count(session, WebhookDelivery) == 0
