"""The operator reads the audit log: who, what, when in Beijing time, and what changed."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor, Change, changes, record
from marketplace.clock import FrozenClock
from marketplace.orgs.models import OrgKind
from tests.console.conftest import Operator, table
from tests.factories import make_org


def _suspend(console: FlaskClient, org_id: int, reason: str = "Spam") -> None:
    assert (
        console.post(f"/console/orgs/{org_id}/suspend", data={"reason": reason}).status_code == 302
    )


def test_the_log_shows_who_what_when_in_beijing_time_and_the_changed_keys(
    console: FlaskClient, operator: Operator
) -> None:
    vendor = make_org(OrgKind.VENDOR, "Haixi Cloud")
    _suspend(console, vendor.id, "Selling pirated software")
    response = console.get("/console/audit")
    assert response.status_code == 200
    rows = table(response, "audit-entries")
    assert "owner@ops.example" in rows and "Yunshi Operations" in rows
    assert "organization.suspended" in rows and "Haixi Cloud" in rows
    # The clock stands at 01:30 UTC, which is 09:30 in Asia/Shanghai.
    assert "2026-03-02 09:30:00" in rows
    assert "Selling pirated software" in rows and "suspended" in rows


def test_the_newest_entry_comes_first(
    console: FlaskClient, clock: FrozenClock, session: Session
) -> None:
    first = make_org(OrgKind.VENDOR, "First Vendor")
    second = make_org(OrgKind.VENDOR, "Second Vendor")
    _suspend(console, first.id)
    clock.advance(timedelta(minutes=5))
    _suspend(console, second.id)
    rows = table(console.get("/console/audit"), "audit-entries")
    assert rows.index("Second Vendor") < rows.index("First Vendor")
    assert rows.index("09:35:00") < rows.index("09:30:00")


def test_the_log_filters_by_action(console: FlaskClient) -> None:
    vendor = make_org(OrgKind.VENDOR, "Haixi Cloud")
    _suspend(console, vendor.id)
    console.post(f"/console/orgs/{vendor.id}/reactivate")
    rows = table(console.get("/console/audit?action=organization.reactivated"), "audit-entries")
    assert "organization.reactivated" in rows and "organization.suspended" not in rows


def test_the_log_filters_by_organization(console: FlaskClient) -> None:
    haixi = make_org(OrgKind.VENDOR, "Haixi Cloud")
    xiamen = make_org(OrgKind.VENDOR, "Xiamen Data")
    _suspend(console, haixi.id)
    _suspend(console, xiamen.id)
    response = console.get(f"/console/audit?organization={haixi.id}")
    rows = table(response, "audit-entries")
    assert "Haixi Cloud" in rows and "Xiamen Data" not in rows


def test_an_unknown_action_or_organization_is_a_field_error(console: FlaskClient) -> None:
    for query in ("action=nothing.ever", "organization=999999", "organization=abc"):
        response = console.get(f"/console/audit?{query}")
        assert response.status_code == 422, query
        assert "is-invalid" in response.get_data(as_text=True)


def test_the_log_pages_back_to_older_entries(
    console: FlaskClient, session: Session, operator: Operator, clock: FrozenClock
) -> None:
    actor = Actor(operator.owner.id, operator.org.id)
    for n in range(55):
        record(session, clock, actor, "test.entry", ("thing", n), after={"n": n})
    session.commit()
    first = console.get("/console/audit?action=test.entry")
    rows = table(first, "audit-entries")
    assert rows.count("test.entry") == 50 and "thing #54" in rows and "thing #4<" not in rows
    page = first.get_data(as_text=True)
    link = page[page.index("before=") :].split('"')[0].replace("&amp;", "&")
    older = table(console.get(f"/console/audit?action=test.entry&{link}"), "audit-entries")
    assert older.count("test.entry") == 5 and "thing #4" in older and "thing #5<" not in older


def test_the_diff_keeps_only_the_keys_that_changed() -> None:
    before = {"status": "active", "name": "Haixi", "reason": None}
    after = {"status": "suspended", "name": "Haixi", "note": "late"}
    assert changes(before, after) == [
        Change("note", None, "late"),
        Change("status", "active", "suspended"),
    ]
    assert changes(None, {"a": 1}) == [Change("a", None, 1)]
    assert changes({"a": 1}, {"a": 1}) == []
