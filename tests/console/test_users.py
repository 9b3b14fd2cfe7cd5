"""The operator finds users, sees their organizations, deactivates and reactivates them."""

from __future__ import annotations

from flask import g
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.orgs.models import OrgKind, Role
from tests.console.conftest import Operator, audit, make_firm, reload, sign_in, table
from tests.factories import make_member, make_org, make_user


def test_the_user_list_shows_each_users_organizations(console: FlaskClient) -> None:
    firm = make_firm("Minjiang Tea")
    vendor = make_org(OrgKind.VENDOR, "Haixi Cloud")
    lin = make_member(firm, make_user("lin@minjiang.example", display_name="Lin Hua"))
    make_member(vendor, lin, Role.ADMIN)
    response = console.get("/console/users")
    assert response.status_code == 200
    rows = table(response, "users")
    assert "lin@minjiang.example" in rows and "Lin Hua" in rows
    assert "Minjiang Tea" in rows and "Haixi Cloud" in rows and "Admin" in rows
    assert "owner@ops.example" in rows


def test_users_are_found_by_email_or_by_name(console: FlaskClient) -> None:
    make_user("lin@minjiang.example", display_name="Lin Hua")
    make_user("chen@haixi.example", display_name="Chen Wei")
    rows = table(console.get("/console/users?q=MINJIANG"), "users")
    assert "lin@minjiang.example" in rows and "chen@haixi.example" not in rows
    rows = table(console.get("/console/users?q=chen w"), "users")
    assert "chen@haixi.example" in rows and "lin@minjiang.example" not in rows


def test_a_search_that_matches_nobody_says_so(console: FlaskClient) -> None:
    response = console.get("/console/users?q=nobody-at-all")
    assert response.status_code == 200
    assert "No user matches." in response.get_data(as_text=True)


def test_a_search_longer_than_an_email_can_be_is_a_field_error(console: FlaskClient) -> None:
    response = console.get("/console/users?q=" + "x" * 255)
    assert response.status_code == 422
    assert "is-invalid" in response.get_data(as_text=True)


def test_the_user_detail_shows_organizations_and_audit_entries(
    console: FlaskClient, operator: Operator
) -> None:
    firm = make_firm("Minjiang Tea")
    lin = make_member(firm, make_user("lin@minjiang.example", display_name="Lin Hua"))
    console.post(f"/console/users/{lin.id}/deactivate", data={"reason": "Left the firm"})
    response = console.get(f"/console/users/{lin.id}")
    assert response.status_code == 200
    assert "Minjiang Tea" in table(response, "memberships")
    entries = table(response, "audit-entries")
    assert "user.deactivated" in entries and "owner@ops.example" in entries


def test_an_unknown_user_is_not_found(console: FlaskClient) -> None:
    assert console.get("/console/users/999999").status_code == 404


def test_deactivating_a_user_is_audited_with_the_reason(
    console: FlaskClient, session: Session, operator: Operator
) -> None:
    lin = make_user("lin@minjiang.example")
    response = console.post(f"/console/users/{lin.id}/deactivate", data={"reason": "Spam"})
    assert response.status_code == 302
    assert reload(session, lin).is_active is False
    [entry] = audit(session, "user.deactivated")
    assert (entry.target_type, entry.target_id) == ("user", str(lin.id))
    assert entry.actor_user_id == operator.owner.id
    assert entry.before == {"is_active": True}
    assert entry.after == {"is_active": False, "reason": "Spam"}


def test_a_deactivated_user_is_signed_out(console: FlaskClient, operator: Operator) -> None:
    firm = make_firm("Minjiang Tea")
    lin = make_member(firm, make_user("lin@minjiang.example"))
    console.post(f"/console/users/{lin.id}/deactivate", data={"reason": "Spam"})
    sign_in(console, lin, firm)
    response = console.get("/org/members")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_deactivating_without_a_reason_names_the_field_and_changes_nothing(
    console: FlaskClient, session: Session
) -> None:
    lin = make_user("lin@minjiang.example")
    response = console.post(f"/console/users/{lin.id}/deactivate", data={"reason": ""})
    assert response.status_code == 422
    assert "is-invalid" in response.get_data(as_text=True)
    assert reload(session, lin).is_active is True
    assert audit(session, "user.deactivated") == []


def test_the_operator_cannot_deactivate_themselves(
    console: FlaskClient, session: Session, operator: Operator
) -> None:
    response = console.post(
        f"/console/users/{operator.owner.id}/deactivate", data={"reason": "Testing"}
    )
    assert response.status_code == 403
    assert "your own account" in response.get_data(as_text=True)
    assert reload(session, operator.owner).is_active is True
    assert audit(session, "user.deactivated") == []


def test_an_operator_admin_cannot_deactivate_an_owner_of_the_operator(
    client: FlaskClient, session: Session, operator: Operator
) -> None:
    sign_in(client, operator.admin, operator.org)
    response = client.post(
        f"/console/users/{operator.owner.id}/deactivate", data={"reason": "Testing"}
    )
    assert response.status_code == 403
    assert reload(session, operator.owner).is_active is True
    assert audit(session, "user.deactivated") == []


def test_deactivating_a_deactivated_user_is_a_conflict(console: FlaskClient) -> None:
    lin = make_user("lin@minjiang.example", is_active=False)
    response = console.post(f"/console/users/{lin.id}/deactivate", data={"reason": "Spam"})
    assert response.status_code == 409


def test_deactivating_an_unknown_user_is_not_found(console: FlaskClient) -> None:
    response = console.post("/console/users/999999/deactivate", data={"reason": "Spam"})
    assert response.status_code == 404


def test_reactivating_a_user_is_audited(console: FlaskClient, session: Session) -> None:
    lin = make_user("lin@minjiang.example", is_active=False)
    response = console.post(f"/console/users/{lin.id}/reactivate")
    assert response.status_code == 302
    assert reload(session, lin).is_active is True
    [entry] = audit(session, "user.reactivated")
    assert entry.before == {"is_active": False} and entry.after == {"is_active": True}


def test_reactivating_an_active_user_is_a_conflict(console: FlaskClient, session: Session) -> None:
    lin = make_user("lin@minjiang.example")
    assert console.post(f"/console/users/{lin.id}/reactivate").status_code == 409
    assert audit(session, "user.reactivated") == []


def test_reactivation_does_not_revive_the_sessions_deactivation_ended(
    console: FlaskClient, session: Session, operator: Operator
) -> None:
    firm = make_firm("Minjiang Tea")
    lin = make_member(firm, make_user("lin@minjiang.example"))
    stale = lin.get_id()
    console.post(f"/console/users/{lin.id}/deactivate", data={"reason": "Lost laptop"})
    console.post(f"/console/users/{lin.id}/reactivate")
    sign_in(console, reload(session, lin), firm)
    assert console.get("/org/members").status_code == 200
    with console.session_transaction() as browser:
        browser["_user_id"] = stale
    g.pop("_login_user", None)
    response = console.get("/org/members")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
