"""Only the operator sees the console; only its owners and admins change anything."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.audit.models import AuditEntry
from marketplace.firms.models import UsccStatus
from marketplace.orgs.models import Invitation, Organization, OrgKind, OrgStatus, Role
from tests.console.conftest import (
    Operator,
    make_firm,
    sign_in,
    sign_out,
    unverified,
    valid_code,
)
from tests.factories import make_member, make_org, make_user

ROUTES = (
    ("GET", "/console/orgs"),
    ("GET", "/console/orgs/{org}"),
    ("POST", "/console/orgs/{org}/suspend"),
    ("POST", "/console/orgs/{suspended}/reactivate"),
    ("GET", "/console/users"),
    ("GET", "/console/users/{user}"),
    ("POST", "/console/users/{user}/deactivate"),
    ("POST", "/console/users/{inactive}/reactivate"),
    ("GET", "/console/uscc-reviews"),
    ("GET", "/console/uscc-reviews/{org}"),
    ("POST", "/console/uscc-reviews/{org}/confirm"),
    ("POST", "/console/uscc-reviews/{org}/reject"),
    ("GET", "/console/parks/new"),
    ("POST", "/console/parks/new"),
    ("GET", "/console/audit"),
)
CHANGES = [route for route in ROUTES if route[0] == "POST"]
PAGES = [route for route in ROUTES if route[0] == "GET"]
# Valid input for every form, so a refusal can only come from who asks.
FORM = {
    "reason": "Because",
    "confirm-note": "Checked",
    "reject-note": "Mistyped",
    "name": "Quanzhou Park",
    "admin_email": "admin@qzpark.example",
}


@dataclass
class Targets:
    """Rows every console route can be pointed at."""

    org: Organization
    suspended: Organization
    user_id: int
    inactive_id: int

    def path(self, template: str) -> str:
        """Fill a route's placeholders with these rows' ids."""
        return template.format(
            org=self.org.id,
            suspended=self.suspended.id,
            user=self.user_id,
            inactive=self.inactive_id,
        )


@pytest.fixture
def targets(session: Session) -> Targets:
    """Add a firm with an unverified code, a suspended vendor, an active and an inactive user."""
    firm = make_firm("Minjiang Tea", uscc=unverified(valid_code(1)), status=UsccStatus.UNVERIFIED)
    suspended = make_org(OrgKind.VENDOR, "Dormant Vendor", status=OrgStatus.SUSPENDED)
    return Targets(
        firm, suspended, make_user().id, make_user("gone@example.com", is_active=False).id
    )


def _footprint(session: Session) -> tuple[int, int, list[tuple[int, str]]]:
    """Count what a change would leave behind: audit entries, invitations, statuses."""
    session.expire_all()
    entries = session.scalar(sa.select(sa.func.count(AuditEntry.id))) or 0
    invitations = session.scalar(sa.select(sa.func.count(Invitation.id))) or 0
    statuses = session.execute(sa.select(Organization.id, Organization.status).order_by("id"))
    return entries, invitations, [(i, s) for i, s in statuses]


def test_the_route_list_covers_every_console_route(app: Flask) -> None:
    rules = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("console.")
        for method in rule.methods or ()
        if method in {"GET", "POST"}
    }
    normalized = {
        (m, p.replace("{suspended}", "{org}").replace("{inactive}", "{user}")) for m, p in ROUTES
    }
    expected = {
        (m, p.replace("{org}", "<int:org_id>").replace("{user}", "<int:user_id>"))
        for m, p in normalized
    }
    assert rules == expected


@pytest.mark.parametrize("kind", [OrgKind.SME, OrgKind.VENDOR, OrgKind.PARK])
@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_members_of_other_organizations_are_told_the_console_does_not_exist(
    client: FlaskClient,
    session: Session,
    operator: Operator,
    targets: Targets,
    kind: str,
    method: str,
    route: str,
) -> None:
    org = make_org(kind)
    role = Role.OWNER if kind == OrgKind.SME else Role.ADMIN
    sign_in(client, make_member(org, role=role), org)
    before = _footprint(session)
    response = client.open(targets.path(route), method=method, data=FORM)
    assert response.status_code == 404
    assert _footprint(session) == before


def test_an_operator_acting_for_another_organization_does_not_see_the_console(
    client: FlaskClient, operator: Operator
) -> None:
    firm = make_firm("Minjiang Tea")
    make_member(firm, operator.owner, Role.OWNER)
    sign_in(client, operator.owner, firm)
    assert client.get("/console/orgs").status_code == 404


@pytest.mark.parametrize(("method", "route"), ROUTES)
def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in(
    client: FlaskClient, session: Session, targets: Targets, method: str, route: str
) -> None:
    sign_out(client)
    before = _footprint(session)
    response = client.open(targets.path(route), method=method, data=FORM)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert _footprint(session) == before


@pytest.mark.parametrize(("method", "route"), PAGES)
def test_a_member_of_the_operator_may_look(
    client: FlaskClient, operator: Operator, targets: Targets, method: str, route: str
) -> None:
    sign_in(client, operator.member, operator.org)
    assert client.open(targets.path(route), method=method).status_code == 200


@pytest.mark.parametrize(("method", "route"), CHANGES)
def test_a_member_of_the_operator_may_not_change_anything(
    client: FlaskClient,
    session: Session,
    operator: Operator,
    targets: Targets,
    method: str,
    route: str,
) -> None:
    sign_in(client, operator.member, operator.org)
    before = _footprint(session)
    response = client.open(targets.path(route), method=method, data=FORM)
    assert response.status_code == 403
    assert _footprint(session) == before


def test_a_member_of_the_operator_sees_no_forms_that_change_things(
    client: FlaskClient, operator: Operator, targets: Targets
) -> None:
    sign_in(client, operator.member, operator.org)
    for path in (f"/console/orgs/{targets.org.id}", f"/console/uscc-reviews/{targets.org.id}"):
        assert 'method="post" action="/console' not in client.get(path).get_data(as_text=True)


def test_once_a_firm_is_suspended_its_members_cannot_change_anything(
    client: FlaskClient, session: Session, operator: Operator
) -> None:
    firm = make_firm("Minjiang Tea")
    lin = make_member(firm, make_user("lin@minjiang.example"), Role.OWNER)
    invite = {"email": "first@minjiang.example", "role": "member"}
    sign_in(client, lin, firm)
    assert client.post("/org/invitations", data=invite).status_code == 302

    sign_in(client, operator.owner, operator.org)
    response = client.post(f"/console/orgs/{firm.id}/suspend", data={"reason": "Fraud"})
    assert response.status_code == 302

    sign_in(client, lin, firm)
    refused = client.post(
        "/org/invitations", data={"email": "second@minjiang.example", "role": "member"}
    )
    assert refused.status_code == 403
    emails = session.scalars(
        sa.select(Invitation.email).where(Invitation.organization_id == firm.id)
    )
    assert list(emails) == ["first@minjiang.example"]


def test_a_change_without_the_csrf_token_is_refused_and_with_it_accepted(
    app: Flask,
    console: FlaskClient,
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    vendor = make_org(OrgKind.VENDOR, "Haixi Cloud")
    path = f"/console/orgs/{vendor.id}/suspend"
    before = _footprint(session)
    assert console.post(path, data={"reason": "Spam"}).status_code == 400
    assert _footprint(session) == before
    page = console.get(f"/console/orgs/{vendor.id}").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = console.post(path, data={"reason": "Spam", "csrf_token": token})
    assert response.status_code == 302
    assert _footprint(session) != before
