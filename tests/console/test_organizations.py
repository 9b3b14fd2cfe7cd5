"""The operator lists, searches, inspects, suspends and reactivates organizations."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.firms.models import ParkMembership, ParkMembershipStatus, SmeProfile
from marketplace.orgs.models import OrgKind, OrgStatus, Role
from tests.console.conftest import Operator, audit, make_firm, reload, sign_in, table
from tests.factories import make_member, make_org, make_user


def test_the_list_shows_every_organization_with_its_kind_and_status(
    console: FlaskClient,
) -> None:
    make_firm("Minjiang Tea")
    make_org(OrgKind.VENDOR, "Haixi Cloud")
    make_org(OrgKind.PARK, "Fuzhou Software Park", status=OrgStatus.SUSPENDED)
    response = console.get("/console/orgs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    names = ("Minjiang Tea", "Haixi Cloud", "Fuzhou Software Park", "Yunshi Operations")
    assert all(name in page for name in names)
    assert "Suspended" in page and "table-responsive" in page


def test_search_matches_a_name_in_any_case(console: FlaskClient) -> None:
    make_org(OrgKind.VENDOR, "Haixi Cloud")
    make_org(OrgKind.VENDOR, "Xiamen Data")
    rows = table(console.get("/console/orgs?q=hAIXI"), "organizations")
    assert "Haixi Cloud" in rows and "Xiamen Data" not in rows


def test_search_matches_part_of_a_firms_credit_code(console: FlaskClient, session: Session) -> None:
    firm = make_firm("Minjiang Tea")
    make_firm("Wuyi Rock")
    code = _code_of(session, firm.id)
    rows = table(console.get(f"/console/orgs?q={code[8:16].lower()}"), "organizations")
    assert "Minjiang Tea" in rows and "Wuyi Rock" not in rows


def _code_of(session: Session, org_id: int) -> str:
    profile = session.get(SmeProfile, org_id)
    assert profile is not None
    return profile.uscc


def test_a_search_with_percent_signs_matches_them_literally(console: FlaskClient) -> None:
    make_org(OrgKind.VENDOR, "Haixi Cloud")
    page = console.get("/console/orgs?q=%25").get_data(as_text=True)
    assert "Haixi Cloud" not in page and "No organization matches." in page


def test_filters_by_kind_and_status(console: FlaskClient) -> None:
    make_org(OrgKind.VENDOR, "Haixi Cloud")
    make_org(OrgKind.VENDOR, "Dormant Vendor", status=OrgStatus.SUSPENDED)
    make_org(OrgKind.PARK, "Xiamen Software Park")
    rows = table(console.get("/console/orgs?kind=vendor"), "organizations")
    assert "Haixi Cloud" in rows and "Dormant Vendor" in rows
    assert "Xiamen Software Park" not in rows and "Yunshi Operations" not in rows
    rows = table(console.get("/console/orgs?kind=vendor&status=suspended"), "organizations")
    assert "Dormant Vendor" in rows and "Haixi Cloud" not in rows


def test_an_unknown_kind_is_a_field_error(console: FlaskClient) -> None:
    response = console.get("/console/orgs?kind=bank")
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_the_list_shows_fifty_a_page_with_links_between_pages(console: FlaskClient) -> None:
    for n in range(55):
        make_org(OrgKind.VENDOR, f"Vendor {n:02d}")
    first = console.get("/console/orgs?kind=vendor").get_data(as_text=True)
    assert "Vendor 49" in first and "Vendor 50" not in first
    assert "page=2" in first and 'rel="prev"' not in first
    second = console.get("/console/orgs?kind=vendor&page=2").get_data(as_text=True)
    assert "Vendor 50" in second and "Vendor 54" in second and "Vendor 49" not in second
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_the_detail_shows_members_profile_parks_and_audit_trail(
    console: FlaskClient, session: Session, operator: Operator
) -> None:
    firm = make_firm("Minjiang Tea")
    make_member(firm, make_user("boss@minjiang.example", display_name="Lin Boss"), Role.OWNER)
    park = make_org(OrgKind.PARK, "Fuzhou Software Park")
    session.add(
        ParkMembership(
            park_id=park.id,
            firm_id=firm.id,
            status=ParkMembershipStatus.APPROVED,
            requested_at=datetime(2026, 2, 3, tzinfo=UTC),
        )
    )
    session.flush()
    console.post(f"/console/orgs/{firm.id}/suspend", data={"reason": "Unpaid invoices"})
    page = console.get(f"/console/orgs/{firm.id}").get_data(as_text=True)
    assert "Lin Boss" in page and "boss@minjiang.example" in page and "Owner" in page
    assert "Minjiang Tea有限公司" in page and _code_of(session, firm.id) in page
    assert "Fuzhou Software Park" in page and "Approved" in page
    assert "organization.suspended" in page and "Unpaid invoices" in page
    park_page = console.get(f"/console/orgs/{park.id}").get_data(as_text=True)
    assert "Minjiang Tea" in park_page


def test_an_unknown_organization_is_not_found(console: FlaskClient) -> None:
    assert console.get("/console/orgs/999999").status_code == 404


def test_suspending_records_the_reason_and_an_audit_entry_with_before_and_after(
    console: FlaskClient, session: Session, operator: Operator
) -> None:
    firm = make_firm("Minjiang Tea")
    response = console.post(
        f"/console/orgs/{firm.id}/suspend", data={"reason": "  Fraudulent registration  "}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/console/orgs/{firm.id}")
    firm = reload(session, firm)
    assert firm.status == OrgStatus.SUSPENDED
    assert firm.suspended_reason == "Fraudulent registration"
    [entry] = audit(session, "organization.suspended")
    assert entry.actor_user_id == operator.owner.id and entry.actor_org_id == operator.org.id
    assert entry.subject_org_id == firm.id
    assert (entry.target_type, entry.target_id) == ("organization", str(firm.id))
    assert entry.before == {"status": "active", "suspended_reason": None}
    assert entry.after == {"status": "suspended", "suspended_reason": "Fraudulent registration"}
    assert entry.created_at == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)


def test_suspending_without_a_reason_names_the_field_and_changes_nothing(
    console: FlaskClient, session: Session
) -> None:
    firm = make_firm("Minjiang Tea")
    for data in ({}, {"reason": "   "}, {"reason": "x" * 501}):
        response = console.post(f"/console/orgs/{firm.id}/suspend", data=data)
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        assert "is-invalid" in page and 'name="reason"' in page
    assert reload(session, firm).status == OrgStatus.ACTIVE
    assert audit(session, "organization.suspended") == []


def test_suspending_an_already_suspended_organization_is_a_conflict(
    console: FlaskClient, session: Session
) -> None:
    vendor = make_org(OrgKind.VENDOR, "Haixi Cloud", status=OrgStatus.SUSPENDED)
    response = console.post(f"/console/orgs/{vendor.id}/suspend", data={"reason": "Again"})
    assert response.status_code == 409
    assert audit(session, "organization.suspended") == []


def test_the_operators_own_organization_cannot_be_suspended(
    console: FlaskClient, session: Session, operator: Operator
) -> None:
    response = console.post(f"/console/orgs/{operator.org.id}/suspend", data={"reason": "Oops"})
    assert response.status_code == 403
    assert reload(session, operator.org).status == OrgStatus.ACTIVE
    assert audit(session, "organization.suspended") == []


def test_suspending_an_unknown_organization_is_not_found(console: FlaskClient) -> None:
    response = console.post("/console/orgs/999999/suspend", data={"reason": "Gone"})
    assert response.status_code == 404


def test_reactivating_clears_the_suspension_and_is_audited(
    console: FlaskClient, session: Session
) -> None:
    vendor = make_org(
        OrgKind.VENDOR, "Haixi Cloud", status=OrgStatus.SUSPENDED, suspended_reason="Late"
    )
    response = console.post(f"/console/orgs/{vendor.id}/reactivate")
    assert response.status_code == 302
    vendor = reload(session, vendor)
    assert vendor.status == OrgStatus.ACTIVE and vendor.suspended_reason is None
    [entry] = audit(session, "organization.reactivated")
    assert entry.before == {"status": "suspended", "suspended_reason": "Late"}
    assert entry.after == {"status": "active", "suspended_reason": None}
    page = console.get(f"/console/orgs/{vendor.id}").get_data(as_text=True)
    assert "The organization is active again." in page


def test_reactivating_an_active_organization_is_a_conflict(
    console: FlaskClient, session: Session
) -> None:
    vendor = make_org(OrgKind.VENDOR, "Haixi Cloud")
    assert console.post(f"/console/orgs/{vendor.id}/reactivate").status_code == 409
    assert audit(session, "organization.reactivated") == []


def test_an_operator_admin_may_suspend_too(
    client: FlaskClient, session: Session, operator: Operator
) -> None:
    sign_in(client, operator.admin, operator.org)
    vendor = make_org(OrgKind.VENDOR, "Haixi Cloud")
    response = client.post(f"/console/orgs/{vendor.id}/suspend", data={"reason": "Spam"})
    assert response.status_code == 302
    assert reload(session, vendor).status == OrgStatus.SUSPENDED
