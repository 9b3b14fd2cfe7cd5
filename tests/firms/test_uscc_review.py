"""The operator's review of credit codes that failed only their check character."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.firms.services import confirm_uscc, reject_uscc, unverified_codes
from marketplace.orgs.models import OrgKind
from tests.factories import make_member, make_org
from tests.firms.conftest import (
    audit,
    firm_with_owner,
    profile_of,
    sign_in,
    software_firm,
    unverified_code,
    valid_code,
)

pytestmark = pytest.mark.usefixtures("request_context")


@pytest.fixture
def operator() -> Actor:
    """An owner of the operator organization, as the console would pass them."""
    org = make_org(OrgKind.OPERATOR)
    return Actor(make_member(org).id, org.id, "127.0.0.1")


def test_the_queue_holds_only_unverified_codes(session: Session) -> None:
    waiting, _ = firm_with_owner(uscc=unverified_code())
    firm_with_owner()
    queue = unverified_codes(session)
    assert [p.organization_id for p in queue] == [waiting.organization_id]
    assert queue[0].organization.name == waiting.legal_name


def test_confirming_a_code_records_who_and_when(
    session: Session, clock: FrozenClock, operator: Actor
) -> None:
    profile, _ = firm_with_owner(uscc=unverified_code())
    confirm_uscc(session, clock, operator, profile.organization_id, "  早期试点地区代码  ")
    confirmed = profile_of(session, profile.organization_id)
    assert confirmed.uscc_status == "confirmed"
    assert confirmed.uscc_review_note == "早期试点地区代码"
    assert (confirmed.uscc_reviewed_by_id, confirmed.uscc_reviewed_at) == (
        operator.user_id,
        clock.now(),
    )
    assert unverified_codes(session) == []
    [entry] = audit(session, "uscc.confirmed")
    assert entry.before is not None and entry.after is not None
    assert (entry.before["uscc_status"], entry.after["uscc_status"]) == ("unverified", "confirmed")
    assert entry.subject_org_id == profile.organization_id
    assert entry.actor_org_id == operator.org_id


def test_a_note_is_optional_when_confirming(
    session: Session, clock: FrozenClock, operator: Actor
) -> None:
    profile, _ = firm_with_owner(uscc=unverified_code())
    confirm_uscc(session, clock, operator, profile.organization_id, None)
    assert profile_of(session, profile.organization_id).uscc_review_note is None


@pytest.mark.parametrize("note", [None, "", "   "])
def test_rejecting_needs_a_note(
    session: Session, clock: FrozenClock, operator: Actor, note: str | None
) -> None:
    profile, _ = firm_with_owner(uscc=unverified_code())
    with pytest.raises(ValidationFailed) as caught:
        reject_uscc(session, clock, operator, profile.organization_id, note)
    assert set(caught.value.errors) == {"note"}
    assert profile_of(session, profile.organization_id).uscc_status == "unverified"


def test_a_note_over_500_characters_is_refused(
    session: Session, clock: FrozenClock, operator: Actor
) -> None:
    profile, _ = firm_with_owner(uscc=unverified_code())
    with pytest.raises(ValidationFailed):
        reject_uscc(session, clock, operator, profile.organization_id, "x" * 501)


def test_rejecting_a_code_records_the_note(
    session: Session, clock: FrozenClock, operator: Actor
) -> None:
    profile, _ = firm_with_owner(uscc=unverified_code())
    reject_uscc(session, clock, operator, profile.organization_id, "与营业执照不符")
    rejected = profile_of(session, profile.organization_id)
    assert (rejected.uscc_status, rejected.uscc_review_note) == ("rejected", "与营业执照不符")
    [entry] = audit(session, "uscc.rejected")
    assert entry.after is not None and entry.after["uscc_status"] == "rejected"


def test_only_a_code_awaiting_review_can_be_decided(
    session: Session, clock: FrozenClock, operator: Actor
) -> None:
    profile, _ = firm_with_owner()
    with pytest.raises(Conflict):
        confirm_uscc(session, clock, operator, profile.organization_id, None)
    with pytest.raises(NotFound):
        reject_uscc(session, clock, operator, 999_999, "no such firm")


def test_a_rejected_code_must_be_corrected_on_the_edit_page(
    client: FlaskClient, session: Session, clock: FrozenClock, operator: Actor
) -> None:
    code = unverified_code()
    profile, owner = firm_with_owner(uscc=code)
    reject_uscc(session, clock, operator, profile.organization_id, "与营业执照不符")
    sign_in(client, owner, profile.organization)
    assert "与营业执照不符" in client.get("/firm").get_data(as_text=True)
    assert 'data-testid="uscc-rejected"' in client.get("/firm/edit").get_data(as_text=True)
    page = client.post("/firm/edit", data=software_firm(uscc=code)).get_data(as_text=True)
    assert "An operator rejected this code" in page
    assert profile_of(session, profile.organization_id).uscc_status == "rejected"
    corrected = valid_code()
    assert client.post("/firm/edit", data=software_firm(uscc=corrected)).status_code == 302
    fixed = profile_of(session, profile.organization_id)
    assert (fixed.uscc, fixed.uscc_status, fixed.uscc_review_note) == (corrected, "valid", None)
