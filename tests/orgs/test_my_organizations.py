"""The "My organizations" page and switching the acting organization."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.orgs.models import OrgKind, OrgStatus
from tests.factories import make_member, make_org
from tests.orgs.conftest import acting_org_id, login_next, make_person, sign_in


def test_my_organizations_lists_each_membership_with_kind_role_and_the_acting_one(
    client: FlaskClient, session: Session
) -> None:
    user = make_person()
    firm = make_org(OrgKind.SME, "福州闽江软件有限公司")
    vendor = make_org(OrgKind.VENDOR, "厦门云帆科技")
    make_member(firm, user, "admin")
    make_member(vendor, user, "billing")
    sign_in(client, user, vendor)

    response = client.get("/orgs")

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "福州闽江软件有限公司" in page and "厦门云帆科技" in page
    assert "SME firm" in page and "Vendor" in page
    assert "Admin" in page and "Billing" in page
    assert page.count('data-testid="acting-badge"') == 1
    acting_part = page.split('data-testid="acting-badge"')[0].rsplit("<li", 1)[1]
    assert "厦门云帆科技" in acting_part


def test_my_organizations_offers_firm_registration_and_vendor_application(
    client: FlaskClient, session: Session
) -> None:
    sign_in(client, make_person())

    page = client.get("/orgs").get_data(as_text=True)

    assert "You do not belong to an organization yet." in page
    assert "/vendors/new" in page
    assert "Register your firm" in page


def test_my_organizations_marks_a_suspended_organization(
    client: FlaskClient, session: Session
) -> None:
    user = make_member(make_org(OrgKind.SME, "停业公司", status=OrgStatus.SUSPENDED))
    sign_in(client, user)

    page = client.get("/orgs").get_data(as_text=True)

    assert "停业公司" in page and "Suspended" in page


def test_my_organizations_needs_a_signed_in_user(client: FlaskClient, session: Session) -> None:
    response = client.get("/orgs")

    assert login_next(response) == "/orgs"


def test_switching_to_an_organization_of_the_user_makes_it_acting_and_goes_back(
    client: FlaskClient, session: Session
) -> None:
    user = make_person()
    first, second = make_org(OrgKind.SME), make_org(OrgKind.VENDOR)
    make_member(first, user)
    make_member(second, user, "member")
    sign_in(client, user, first)

    response = client.post("/orgs/switch", data={"org_id": second.id, "next": "/org/members"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/org/members"
    assert acting_org_id(client) == second.id
    assert second.name in client.get("/org/members").get_data(as_text=True)


def test_switching_goes_back_to_the_referring_page_of_this_site(
    client: FlaskClient, session: Session
) -> None:
    user = make_person()
    first, second = make_org(), make_org()
    make_member(first, user)
    make_member(second, user)
    sign_in(client, user, first)

    response = client.post(
        "/orgs/switch",
        data={"org_id": second.id},
        headers={"Referer": "http://localhost/org/members"},
    )

    assert response.headers["Location"] == "/org/members"


def test_switching_never_redirects_off_the_site(client: FlaskClient, session: Session) -> None:
    user = make_person()
    org = make_org()
    make_member(org, user)
    sign_in(client, user)

    response = client.post(
        "/orgs/switch",
        data={"org_id": org.id, "next": "https://evil.example/"},
        headers={"Referer": "https://evil.example/page"},
    )

    assert response.headers["Location"] == "/orgs"


def test_switching_to_an_organization_the_user_is_not_in_answers_404(
    client: FlaskClient, session: Session
) -> None:
    user = make_person()
    mine, theirs = make_org(), make_org()
    make_member(mine, user)
    make_member(theirs)
    sign_in(client, user, mine)

    response = client.post("/orgs/switch", data={"org_id": theirs.id})

    assert response.status_code == 404
    assert acting_org_id(client) == mine.id


def test_switching_to_an_organization_that_does_not_exist_answers_404(
    client: FlaskClient, session: Session
) -> None:
    user = make_member(make_org())
    sign_in(client, user)

    assert client.post("/orgs/switch", data={"org_id": 987654321}).status_code == 404


def test_switching_without_an_organization_id_names_the_field(
    client: FlaskClient, session: Session
) -> None:
    sign_in(client, make_member(make_org()))

    for data in ({}, {"org_id": "abc"}):
        response = client.post("/orgs/switch", data=data)
        assert response.status_code == 422
        assert "org_id" in response.get_data(as_text=True)


def test_a_stale_acting_org_in_the_session_falls_back_to_a_membership(
    client: FlaskClient, session: Session
) -> None:
    user = make_person()
    mine, theirs = make_org(OrgKind.SME, "我的公司"), make_org(OrgKind.SME, "别人的公司")
    make_member(mine, user)
    sign_in(client, user, theirs)

    page = client.get("/org/members").get_data(as_text=True)

    assert "我的公司" in page and "别人的公司" not in page
