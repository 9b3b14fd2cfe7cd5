"""The operator's billing page: sandbox firms' test clocks and the close, for operators only."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.models import SandboxFirm, TestClock
from billing.services import test_clocks
from marketplace.clock import FrozenClock
from marketplace.orgs.models import Organization, OrgKind, Role
from tests.catalog.workflow import Party, make_operator, make_vendor
from tests.factories import make_member, make_org, make_user
from tests.sessions import sign_in

START = datetime(2026, 1, 31, 4, 0, tzinfo=UTC)  # 12:00 on 31 January in Beijing
PAGE = "/console/billing/test-clocks"

pytestmark = pytest.mark.usefixtures("inline_jobs")


@pytest.fixture
def operator(session: Session) -> Party:
    """Add the operator with an owner."""
    return make_operator()


@pytest.fixture
def console(client: FlaskClient, operator: Party) -> FlaskClient:
    """A client signed in as the operator's owner."""
    sign_in(client, operator.user, operator.org)
    return client


def sandbox_firm(session: Session, name: str = "Sandbox firm") -> Organization:
    """Add a test firm to a new vendor's sandbox."""
    firm = make_org(OrgKind.SME, name)
    session.add(
        SandboxFirm(organization_id=firm.id, vendor_id=make_vendor().org.id, created_at=START)
    )
    session.flush()
    return firm


def timed_firm(session: Session, at: datetime = START) -> Organization:
    """Add a sandbox firm with a test clock at `at`."""
    firm = sandbox_firm(session, "Timed firm")
    session.add(TestClock(organization_id=firm.id, frozen_at=at, created_at=at))
    session.flush()
    return firm


def test_the_page_lists_sandbox_firms_and_their_clocks(
    console: FlaskClient, session: Session
) -> None:
    timed = timed_firm(session)
    untimed = sandbox_firm(session, "Untimed firm")
    make_org(OrgKind.SME, "Real firm Ltd")

    response = console.get(PAGE)

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'data-testid="sandbox-firm-{timed.id}"' in page
    assert f'data-testid="sandbox-firm-{untimed.id}"' in page
    assert "Real firm Ltd" not in page
    assert "2026-01-31 12:00" in page  # the clock in Beijing time
    assert "Create a test clock" in page and "+1 month" in page


def test_the_console_nav_links_the_billing_page(console: FlaskClient) -> None:
    assert f'href="{PAGE}"' in console.get("/console/orgs").get_data(as_text=True)


def test_the_operator_creates_a_test_clock_at_a_local_time(
    console: FlaskClient, session: Session
) -> None:
    firm = sandbox_firm(session)

    response = console.post(
        f"{PAGE}/{firm.id}", data={f"new{firm.id}-start_at": "2026-01-31T12:00"}
    )

    assert response.status_code == 302
    assert session.get(TestClock, firm.id).frozen_at == START  # type: ignore[union-attr]


def test_a_real_firm_id_gets_no_clock(console: FlaskClient, session: Session) -> None:
    real = make_org(OrgKind.SME)

    response = console.post(f"{PAGE}/{real.id}", data={})

    assert response.status_code == 404
    assert session.get(TestClock, real.id) is None


@pytest.mark.parametrize(
    ("step", "expected"),
    [("day", START + timedelta(days=1)), ("month", datetime(2026, 2, 28, 4, 0, tzinfo=UTC))],
)
def test_the_operator_moves_a_clock_and_sees_the_close_report(
    console: FlaskClient, session: Session, step: str, expected: datetime
) -> None:
    firm = timed_firm(session)

    response = console.post(f"{PAGE}/{firm.id}/advance", data={f"adv{firm.id}-step": step})

    assert response.status_code == 302
    assert session.get(TestClock, firm.id).frozen_at == expected  # type: ignore[union-attr]
    page = console.get(PAGE).get_data(as_text=True)
    assert "The test clock moved forward and its billing ran." in page
    assert f'data-testid="report-{firm.id}"' in page and "Invoices finalized" in page


def test_moving_a_clock_back_is_a_field_error(console: FlaskClient, session: Session) -> None:
    firm = timed_firm(session)

    response = console.post(
        f"{PAGE}/{firm.id}/advance",
        data={f"adv{firm.id}-step": "to", f"adv{firm.id}-to": "2026-01-30T09:00"},
    )

    assert response.status_code == 422
    assert "A test clock only moves forward." in response.get_data(as_text=True)
    assert session.get(TestClock, firm.id).frozen_at == START  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "data",
    [{"step": "to"}, {"step": "to", "to": "tomorrow"}, {"step": "week"}, {}],
)
def test_bad_advance_forms_are_field_errors(
    console: FlaskClient, session: Session, data: dict[str, str]
) -> None:
    firm = timed_firm(session)

    response = console.post(
        f"{PAGE}/{firm.id}/advance", data={f"adv{firm.id}-{k}": v for k, v in data.items()}
    )

    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "alert-danger" in body or "invalid-feedback" in body
    assert session.get(TestClock, firm.id).frozen_at == START  # type: ignore[union-attr]


def test_the_operator_moves_a_clock_to_a_beijing_time(
    console: FlaskClient, session: Session
) -> None:
    firm = timed_firm(session)

    console.post(
        f"{PAGE}/{firm.id}/advance",
        data={f"adv{firm.id}-step": "to", f"adv{firm.id}-to": "2026-04-03T08:30"},
    )

    moved = session.get(TestClock, firm.id)
    assert moved is not None and moved.frozen_at == datetime(2026, 4, 3, 0, 30, tzinfo=UTC)


def test_run_close_now_runs_the_periodic_close(
    console: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    response = console.post("/console/billing/close", data={})

    assert response.status_code == 302
    report = test_clocks.last_close_report(test_clocks.PERIODIC)
    assert report is not None and report["clock_at"] == clock.now().isoformat()
    page = console.get(PAGE).get_data(as_text=True)
    assert 'data-testid="periodic-report"' in page and "The billing close ran." in page


def test_a_member_of_the_operator_only_looks(
    client: FlaskClient, session: Session, operator: Party
) -> None:
    member = make_member(operator.org, make_user(), Role.MEMBER)
    firm = timed_firm(session)
    sign_in(client, member, operator.org)

    page = client.get(PAGE)
    moved = client.post(f"{PAGE}/{firm.id}/advance", data={f"adv{firm.id}-step": "day"})
    closed = client.post("/console/billing/close", data={})

    assert page.status_code == 200 and "+1 day" not in page.get_data(as_text=True)
    assert moved.status_code == closed.status_code == 403
    assert session.get(TestClock, firm.id).frozen_at == START  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", [OrgKind.VENDOR, OrgKind.SME, OrgKind.PARK])
def test_the_page_does_not_exist_outside_the_operator(
    client: FlaskClient, session: Session, kind: str
) -> None:
    org = make_org(kind)
    sign_in(client, make_member(org), org)
    firm = timed_firm(session)

    assert client.get(PAGE).status_code == 404
    assert client.post(f"{PAGE}/{firm.id}/advance", data={}).status_code == 404
    assert client.post("/console/billing/close", data={}).status_code == 404


def test_the_page_is_in_chinese(client: FlaskClient, session: Session, operator: Party) -> None:
    timed_firm(session)
    sign_in(client, operator.user, operator.org, lang="zh_CN")

    page = client.get(PAGE).get_data(as_text=True)

    assert "测试时钟" in page


def test_production_shows_no_test_clock_forms_and_refuses_them(
    console: FlaskClient, session: Session, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    production = dataclasses.replace(app.config["SETTINGS"], env="production")
    monkeypatch.setitem(app.config, "SETTINGS", production)
    firm = timed_firm(session)

    page = console.get(PAGE).get_data(as_text=True)
    moved = console.post(f"{PAGE}/{firm.id}/advance", data={f"adv{firm.id}-step": "day"})

    assert "Test clocks are not available in production." in page and "+1 day" not in page
    assert moved.status_code == 403
    assert session.get(TestClock, firm.id).frozen_at == START  # type: ignore[union-attr]
