"""The firm profile and its edit page: what it shows, who may change it, reclassification."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.errors import Forbidden, NotFound
from marketplace.firms.services import FirmDetails, update_firm
from marketplace.orgs.models import OrgKind
from tests.factories import make_member, make_org, make_user
from tests.firms.conftest import (
    audit,
    counts,
    firm_with_owner,
    profile_of,
    register,
    sign_in,
    software_firm,
    unverified_code,
    valid_code,
)


def _edit_form(profile_uscc: str, **overrides: str) -> dict[str, str]:
    return software_firm(uscc=profile_uscc, **overrides)


def test_the_profile_shows_the_registration_in_english(client: FlaskClient) -> None:
    profile, owner = firm_with_owner(
        industry_code="construction", staff="", revenue_wan="12,500.5", assets_wan="6000"
    )
    sign_in(client, owner, profile.organization)
    page = client.get("/firm").get_data(as_text=True)
    assert "福州云帆软件有限公司" in page
    assert "Construction" in page and "Fuzhou" in page
    assert "12,500.5 万元" in page and "6,000 万元" in page
    assert 'data-testid="size-class">Medium<' in page


def test_the_profile_names_industry_and_region_in_chinese(client: FlaskClient) -> None:
    profile, owner = firm_with_owner(region_code="350200")
    sign_in(client, owner, profile.organization, lang="zh_CN")
    page = client.get("/firm").get_data(as_text=True)
    assert "软件和信息技术服务业" in page and "厦门市" in page


def test_a_member_sees_the_profile_without_an_edit_link(client: FlaskClient) -> None:
    profile, _owner = firm_with_owner()
    member = make_member(profile.organization, role="member")
    sign_in(client, member, profile.organization)
    page = client.get("/firm").get_data(as_text=True)
    assert "Small" in page and "/firm/edit" not in page


def test_an_sme_that_has_not_registered_has_no_profile(client: FlaskClient) -> None:
    org = make_org(OrgKind.SME)
    sign_in(client, make_member(org), org)
    assert client.get("/firm").status_code == 404


def test_a_park_has_no_firm_profile(client: FlaskClient) -> None:
    park = make_org(OrgKind.PARK)
    sign_in(client, make_member(park), park)
    assert client.get("/firm").status_code == 404
    assert client.get("/firm/edit").status_code == 404


def test_another_firms_id_in_the_session_shows_only_the_users_own_firm(
    client: FlaskClient, session: Session
) -> None:
    mine, me = firm_with_owner(legal_name="我的公司")
    theirs, _other = firm_with_owner(legal_name="别人的公司")
    sign_in(client, me, theirs.organization)
    page = client.get("/firm").get_data(as_text=True)
    assert "我的公司" in page and "别人的公司" not in page and theirs.uscc not in page
    client.post("/firm/edit", data=_edit_form(mine.uscc, legal_name="改名"))
    assert profile_of(session, theirs.organization_id).legal_name == "别人的公司"
    assert profile_of(session, mine.organization_id).legal_name == "改名"


def test_the_edit_form_is_filled_with_the_current_details(client: FlaskClient) -> None:
    profile, owner = firm_with_owner(revenue_wan="612.3456")
    sign_in(client, owner, profile.organization)
    page = client.get("/firm/edit").get_data(as_text=True)
    assert profile.uscc in page and 'value="612.3456"' in page and 'value="80"' in page


def test_editing_reclassifies_the_firm_and_audits_before_and_after(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    profile, owner = firm_with_owner()
    sign_in(client, owner, profile.organization)
    clock.advance(timedelta(days=1))
    response = client.post(
        "/firm/edit", data=_edit_form(profile.uscc, staff="5", legal_name="新名字有限公司")
    )
    assert response.status_code == 302
    changed = profile_of(session, profile.organization_id)
    assert changed.size_class == "micro" and changed.staff_count == 5
    assert changed.classified_at == clock.now()
    assert changed.organization.name == "新名字有限公司"
    [entry] = audit(session, "firm.updated")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["size_class"], entry.after["size_class"]) == ("small", "micro")
    assert entry.subject_org_id == profile.organization_id


def test_an_admin_may_edit(client: FlaskClient, session: Session) -> None:
    profile, _owner = firm_with_owner()
    admin = make_member(profile.organization, role="admin")
    sign_in(client, admin, profile.organization)
    assert (
        client.post(
            "/firm/edit", data=_edit_form(profile.uscc, staff="150", revenue_wan="5000")
        ).status_code
        == 302
    )
    assert profile_of(session, profile.organization_id).size_class == "medium"


@pytest.mark.parametrize("role", ["member", "billing"])
def test_members_and_billing_may_not_edit(client: FlaskClient, session: Session, role: str) -> None:
    profile, _owner = firm_with_owner()
    user = make_member(profile.organization, role=role)
    sign_in(client, user, profile.organization)
    assert client.get("/firm/edit").status_code == 403
    assert client.post("/firm/edit", data=_edit_form(profile.uscc, staff="5")).status_code == 403
    assert profile_of(session, profile.organization_id).staff_count == 80


def test_the_service_refuses_an_editor_who_is_only_a_member(
    request_context: None, session: Session, clock: FrozenClock
) -> None:
    profile, _owner = firm_with_owner()
    member = make_member(profile.organization, role="member")
    details = FirmDetails(**_edit_form(profile.uscc))
    with pytest.raises(Forbidden):
        update_firm(session, clock, Actor(member.id), profile.organization_id, details)
    with pytest.raises(NotFound):
        update_firm(session, clock, Actor(make_user().id), profile.organization_id, details)


def test_a_bad_edit_names_the_fields_and_changes_nothing(
    client: FlaskClient, session: Session
) -> None:
    profile, owner = firm_with_owner()
    sign_in(client, owner, profile.organization)
    before = counts(session)
    code = valid_code()
    response = client.post(
        "/firm/edit",
        data=_edit_form(code[:4] + "A" + code[5:], staff="", revenue_wan="-5"),
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Position 5:" in page
    assert "The amount cannot be negative." in page
    assert "Required for the firm&#39;s industry." in page
    assert counts(session) == before
    assert profile_of(session, profile.organization_id).uscc == profile.uscc


def test_a_changed_code_is_checked_again(client: FlaskClient, session: Session) -> None:
    profile, owner = firm_with_owner()
    sign_in(client, owner, profile.organization)
    code = unverified_code()
    client.post("/firm/edit", data=_edit_form(code))
    changed = profile_of(session, profile.organization_id)
    assert (changed.uscc, changed.uscc_status) == (code, "unverified")


def test_an_edit_may_not_take_another_firms_code(client: FlaskClient, session: Session) -> None:
    other = register(make_user())
    profile, owner = firm_with_owner()
    sign_in(client, owner, profile.organization)
    page = client.post("/firm/edit", data=_edit_form(other.uscc)).get_data(as_text=True)
    assert "A firm with this credit code is already registered." in page
    assert profile_of(session, profile.organization_id).uscc == profile.uscc


def test_a_suspended_firm_may_read_its_profile_but_not_change_it(
    client: FlaskClient, session: Session
) -> None:
    profile, owner = firm_with_owner()
    profile.organization.status = "suspended"
    session.flush()
    sign_in(client, owner, profile.organization)
    page = client.get("/firm").get_data(as_text=True)
    assert profile.legal_name in page and "/firm/edit" not in page
    assert client.post("/firm/edit", data=_edit_form(profile.uscc, staff="5")).status_code == 403
    assert profile_of(session, profile.organization_id).staff_count == 80
