"""Firms ask to join parks; parks approve or reject; each side sees only its own rows."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, Forbidden
from marketplace.firms.models import ParkMembership, SmeProfile
from marketplace.firms.services import approve_park_request, request_to_join_park
from marketplace.orgs.models import OrgKind
from tests.factories import make_member, make_org
from tests.firms.conftest import audit, counts, firm_with_owner, make_park, sign_in


def _membership(session: Session, park_id: int, firm_id: int) -> ParkMembership:
    session.expire_all()
    stmt = sa.select(ParkMembership).where(
        ParkMembership.park_id == park_id, ParkMembership.firm_id == firm_id
    )
    return session.scalars(stmt).one()


def _ask(client: FlaskClient, park_id: int, message: str = "") -> int:
    return client.post(f"/firm/parks/{park_id}/join", data={"message": message}).status_code


def test_a_firm_sees_the_active_parks_only(client: FlaskClient) -> None:
    profile, owner = firm_with_owner()
    make_park("福州软件园")
    make_park("厦门软件园")
    make_park("已停用园区", status="suspended")
    make_org(OrgKind.VENDOR, "某服务商")
    sign_in(client, owner, profile.organization)
    page = client.get("/firm/parks").get_data(as_text=True)
    assert "福州软件园" in page and "厦门软件园" in page
    assert "已停用园区" not in page and "某服务商" not in page


def test_asking_to_join_a_park_leaves_a_pending_request(
    client: FlaskClient, session: Session
) -> None:
    profile, owner = firm_with_owner()
    park, _park_owner = make_park("福州软件园")
    sign_in(client, owner, profile.organization)
    assert "福州软件园" in client.get(f"/firm/parks/{park.id}/join").get_data(as_text=True)
    assert _ask(client, park.id, "我们是园区内的软件企业。") == 302
    membership = _membership(session, park.id, profile.organization_id)
    assert membership.status == "requested"
    assert membership.message == "我们是园区内的软件企业。"
    assert membership.requested_by_id == owner.id
    assert "Pending" in client.get("/firm/parks").get_data(as_text=True)
    [entry] = audit(session, "park_membership.requested")
    assert entry.subject_org_id == profile.organization_id and entry.actor_user_id == owner.id


def test_a_message_over_500_characters_is_refused_and_saves_nothing(
    client: FlaskClient, session: Session
) -> None:
    profile, owner = firm_with_owner()
    park, _ = make_park()
    sign_in(client, owner, profile.organization)
    before = counts(session)
    response = client.post(f"/firm/parks/{park.id}/join", data={"message": "长" * 501})
    assert response.status_code == 422
    assert "Use at most 500 characters." in response.get_data(as_text=True)
    assert counts(session) == before


def test_asking_twice_is_a_conflict(client: FlaskClient) -> None:
    profile, owner = firm_with_owner()
    park, _ = make_park()
    sign_in(client, owner, profile.organization)
    _ask(client, park.id)
    assert _ask(client, park.id) == 409


@pytest.mark.parametrize("kind", ["missing", "suspended", "vendor"])
def test_only_an_active_park_can_be_asked(client: FlaskClient, kind: str) -> None:
    profile, owner = firm_with_owner()
    if kind == "missing":
        target_id = 999_999
    elif kind == "suspended":
        target_id = make_park(status="suspended")[0].id
    else:
        target_id = make_org(OrgKind.VENDOR).id
    sign_in(client, owner, profile.organization)
    assert client.get(f"/firm/parks/{target_id}/join").status_code == 404
    assert _ask(client, target_id) == 404


def test_a_firm_member_may_look_but_not_ask(client: FlaskClient, session: Session) -> None:
    profile, _owner = firm_with_owner()
    park, _ = make_park("福州软件园")
    member = make_member(profile.organization, role="member")
    sign_in(client, member, profile.organization)
    page = client.get("/firm/parks").get_data(as_text=True)
    assert "福州软件园" in page and "Ask to join" not in page
    assert _ask(client, park.id) == 403
    assert counts(session)["park_memberships"] == 0


def test_an_unregistered_firm_cannot_ask(
    request_context: None, session: Session, clock: FrozenClock
) -> None:
    firm = make_org(OrgKind.SME)
    owner = make_member(firm)
    park, _ = make_park()
    with pytest.raises(Conflict):
        request_to_join_park(session, clock, Actor(owner.id, firm.id), firm.id, park.id, "")


def test_withdrawing_and_asking_again_reopens_the_same_request(
    client: FlaskClient, session: Session
) -> None:
    profile, owner = firm_with_owner()
    park, _ = make_park()
    sign_in(client, owner, profile.organization)
    _ask(client, park.id, "first")
    first_id = _membership(session, park.id, profile.organization_id).id
    assert client.post(f"/firm/parks/{park.id}/withdraw").status_code == 302
    assert _membership(session, park.id, profile.organization_id).status == "withdrawn"
    assert "Withdrawn" in client.get("/firm/parks").get_data(as_text=True)
    assert _ask(client, park.id, "second") == 302
    again = _membership(session, park.id, profile.organization_id)
    assert (again.id, again.status, again.message) == (first_id, "requested", "second")
    assert len(audit(session, "park_membership.withdrawn")) == 1
    assert len(audit(session, "park_membership.requested")) == 2


def test_only_a_pending_request_can_be_withdrawn(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    profile, owner = firm_with_owner()
    park, park_owner = make_park()
    sign_in(client, owner, profile.organization)
    assert client.post(f"/firm/parks/{park.id}/withdraw").status_code == 404
    _ask(client, park.id)
    membership = _membership(session, park.id, profile.organization_id)
    approve_park_request(session, clock, Actor(park_owner.id), park.id, membership.id)
    assert client.post(f"/firm/parks/{park.id}/withdraw").status_code == 409
    assert _membership(session, park.id, profile.organization_id).status == "approved"


def test_the_park_sees_its_requests_pending_first_with_the_firms_details(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    park, park_owner = make_park()
    decided, decided_owner = firm_with_owner(legal_name="已处理公司")
    pending, pending_owner = firm_with_owner(
        legal_name="待处理公司", region_code="350200", staff="8", revenue_wan="2000"
    )
    for profile, owner in ((decided, decided_owner), (pending, pending_owner)):
        request_to_join_park(session, clock, Actor(owner.id), profile.organization_id, park.id, "")
    first = _membership(session, park.id, decided.organization_id)
    approve_park_request(session, clock, Actor(park_owner.id), park.id, first.id)
    sign_in(client, park_owner, park)
    page = client.get("/park/requests").get_data(as_text=True)
    requests_table, members_table = page.split('data-testid="members"')
    assert "待处理公司" in requests_table and pending.uscc in requests_table
    assert "Micro" in requests_table and "Xiamen" in requests_table
    assert "Software and information technology services" in requests_table
    assert "已处理公司" in members_table


def test_approving_makes_the_firm_a_member(client: FlaskClient, session: Session) -> None:
    park, park_owner = make_park()
    profile, owner = firm_with_owner()
    sign_in(client, owner, profile.organization)
    _ask(client, park.id)
    membership = _membership(session, park.id, profile.organization_id)
    sign_in(client, park_owner, park)
    response = client.post(f"/park/requests/{membership.id}/approve")
    assert response.status_code == 302
    approved = _membership(session, park.id, profile.organization_id)
    assert (approved.status, approved.decided_by_id) == ("approved", park_owner.id)
    [entry] = audit(session, "park_membership.approved")
    assert entry.subject_org_id == profile.organization_id and entry.actor_org_id == park.id
    assert entry.before == {"status": "requested", "message": None, "decision_reason": None}
    assert client.post(f"/park/requests/{membership.id}/approve").status_code == 409


def test_rejecting_needs_a_reason(client: FlaskClient, session: Session) -> None:
    park, park_owner = make_park()
    profile, owner = firm_with_owner()
    sign_in(client, owner, profile.organization)
    _ask(client, park.id)
    membership = _membership(session, park.id, profile.organization_id)
    sign_in(client, park_owner, park)
    assert "Reject the request of" in client.get(f"/park/requests/{membership.id}/reject").get_data(
        as_text=True
    )
    page = client.post(f"/park/requests/{membership.id}/reject", data={"reason": "  "}).get_data(
        as_text=True
    )
    assert "Give a reason." in page
    assert _membership(session, park.id, profile.organization_id).status == "requested"
    assert audit(session, "park_membership.rejected") == []


def test_a_rejected_firm_sees_the_reason_and_may_ask_again(
    client: FlaskClient, session: Session
) -> None:
    park, park_owner = make_park()
    profile, owner = firm_with_owner()
    sign_in(client, owner, profile.organization)
    _ask(client, park.id)
    membership = _membership(session, park.id, profile.organization_id)
    sign_in(client, park_owner, park)
    reason = "企业注册地不在园区内"
    assert (
        client.post(f"/park/requests/{membership.id}/reject", data={"reason": reason}).status_code
        == 302
    )
    rejected = _membership(session, park.id, profile.organization_id)
    assert (rejected.status, rejected.decision_reason) == ("rejected", reason)
    [entry] = audit(session, "park_membership.rejected")
    assert entry.subject_org_id == profile.organization_id
    sign_in(client, owner, profile.organization)
    assert reason in client.get("/firm/parks").get_data(as_text=True)
    assert _ask(client, park.id, "已迁入园区") == 302
    reopened = _membership(session, park.id, profile.organization_id)
    assert (reopened.id, reopened.status, reopened.decision_reason) == (
        membership.id,
        "requested",
        None,
    )


def test_a_park_sees_and_decides_only_its_own_requests(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    mine, my_owner = make_park("我的园区")
    theirs, _their_owner = make_park("别的园区")
    profile, owner = firm_with_owner(legal_name="只申请别的园区的公司")
    request_to_join_park(session, clock, Actor(owner.id), profile.organization_id, theirs.id, "")
    other_request = _membership(session, theirs.id, profile.organization_id)
    sign_in(client, my_owner, mine)
    assert "只申请别的园区的公司" not in client.get("/park/requests").get_data(as_text=True)
    assert client.post(f"/park/requests/{other_request.id}/approve").status_code == 404
    assert client.get(f"/park/requests/{other_request.id}/reject").status_code == 404
    assert (
        client.post(f"/park/requests/{other_request.id}/reject", data={"reason": "x"}).status_code
        == 404
    )
    assert _membership(session, theirs.id, profile.organization_id).status == "requested"


def test_a_park_member_may_look_but_not_decide(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    park, _park_owner = make_park()
    profile, owner = firm_with_owner(legal_name="申请公司")
    request_to_join_park(session, clock, Actor(owner.id), profile.organization_id, park.id, "")
    membership = _membership(session, park.id, profile.organization_id)
    viewer = make_member(park, role="member")
    sign_in(client, viewer, park)
    page = client.get("/park/requests").get_data(as_text=True)
    assert "申请公司" in page and "/approve" not in page
    assert client.post(f"/park/requests/{membership.id}/approve").status_code == 403
    with pytest.raises(Forbidden):
        approve_park_request(session, clock, Actor(viewer.id), park.id, membership.id)


def test_a_firm_cannot_use_the_park_pages(client: FlaskClient) -> None:
    profile, owner = firm_with_owner()
    sign_in(client, owner, profile.organization)
    assert client.get("/park/requests").status_code == 404


def test_a_park_cannot_use_the_firm_pages(client: FlaskClient) -> None:
    park, park_owner = make_park()
    other_park, _ = make_park()
    sign_in(client, park_owner, park)
    assert client.get("/firm/parks").status_code == 404
    assert _ask(client, other_park.id) == 404


def test_the_park_view_survives_a_firm_without_a_profile(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    park, park_owner = make_park()
    firm = make_org(OrgKind.SME, "手工创建的企业")
    session.add(
        ParkMembership(
            park_id=park.id, firm_id=firm.id, status="requested", requested_at=clock.now()
        )
    )
    session.flush()
    assert session.get(SmeProfile, firm.id) is None
    sign_in(client, park_owner, park)
    assert "手工创建的企业" in client.get("/park/requests").get_data(as_text=True)


def test_a_firm_cannot_withdraw_another_firms_request(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    park, _ = make_park()
    theirs, their_owner = firm_with_owner()
    request_to_join_park(session, clock, Actor(their_owner.id), theirs.organization_id, park.id, "")
    mine, my_owner = firm_with_owner()
    sign_in(client, my_owner, mine.organization)
    assert client.post(f"/firm/parks/{park.id}/withdraw").status_code == 404
    assert _membership(session, park.id, theirs.organization_id).status == "requested"
