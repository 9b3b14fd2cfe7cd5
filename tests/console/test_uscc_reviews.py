"""The operator confirms or rejects credit codes whose check character failed."""

from __future__ import annotations

from datetime import UTC, datetime

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.firms.models import SmeProfile, UsccStatus
from marketplace.firms.uscc import uscc_check_char
from marketplace.orgs.models import Organization
from tests.console.conftest import Operator, audit, make_firm, table, unverified, valid_code


def _unverified_firm(name: str, n: int, registered: datetime | None = None) -> Organization:
    extra = {"registered": registered} if registered else {}
    return make_firm(name, uscc=unverified(valid_code(n)), status=UsccStatus.UNVERIFIED, **extra)


def _profile(session: Session, org: Organization) -> SmeProfile:
    session.expire_all()
    profile = session.get(SmeProfile, org.id)
    assert profile is not None
    return profile


def test_the_queue_lists_unverified_codes_oldest_first_with_the_expected_check_character(
    console: FlaskClient,
) -> None:
    _unverified_firm("Wuyi Rock", 2, datetime(2026, 2, 20, tzinfo=UTC))
    _unverified_firm("Minjiang Tea", 1, datetime(2026, 2, 10, tzinfo=UTC))
    make_firm("Valid Firm")
    response = console.get("/console/uscc-reviews")
    assert response.status_code == 200
    rows = table(response, "uscc-reviews")
    assert rows.index("Minjiang Tea") < rows.index("Wuyi Rock")
    assert "Valid Firm" not in rows
    code = unverified(valid_code(1))
    assert code in rows
    expected = uscc_check_char(code[:17])
    assert f"position 18 is {code[17]}; expected {expected}." in rows


def test_an_empty_queue_says_so(console: FlaskClient) -> None:
    page = console.get("/console/uscc-reviews").get_data(as_text=True)
    assert "No credit code waits for review." in page


def test_the_review_page_shows_the_code_and_both_decisions(console: FlaskClient) -> None:
    firm = _unverified_firm("Minjiang Tea", 1)
    response = console.get(f"/console/uscc-reviews/{firm.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert unverified(valid_code(1)) in page
    assert 'name="confirm-note"' in page and 'name="reject-note"' in page


def test_the_review_page_of_a_code_not_waiting_is_not_found(console: FlaskClient) -> None:
    firm = make_firm("Valid Firm")
    assert console.get(f"/console/uscc-reviews/{firm.id}").status_code == 404
    assert console.get("/console/uscc-reviews/999999").status_code == 404


def test_confirming_a_code_records_who_confirmed_it_and_audits_it(
    console: FlaskClient, session: Session, operator: Operator
) -> None:
    firm = _unverified_firm("Minjiang Tea", 1)
    response = console.post(
        f"/console/uscc-reviews/{firm.id}/confirm", data={"confirm-note": "Licence checked"}
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/console/uscc-reviews")
    profile = _profile(session, firm)
    assert profile.uscc_status == UsccStatus.CONFIRMED
    assert profile.uscc_reviewed_by_id == operator.owner.id
    assert profile.uscc_review_note == "Licence checked"
    [entry] = audit(session, "uscc.confirmed")
    assert entry.subject_org_id == firm.id and entry.actor_org_id == operator.org.id
    assert entry.before is not None and entry.before["uscc_status"] == "unverified"
    assert entry.after is not None and entry.after["uscc_status"] == "confirmed"
    assert "Minjiang Tea" not in table(console.get("/console/uscc-reviews"), "uscc-reviews")


def test_confirming_needs_no_note(console: FlaskClient, session: Session) -> None:
    firm = _unverified_firm("Minjiang Tea", 1)
    assert console.post(f"/console/uscc-reviews/{firm.id}/confirm").status_code == 302
    assert _profile(session, firm).uscc_status == UsccStatus.CONFIRMED


def test_a_confirmation_note_longer_than_500_characters_is_refused(
    console: FlaskClient, session: Session
) -> None:
    firm = _unverified_firm("Minjiang Tea", 1)
    response = console.post(
        f"/console/uscc-reviews/{firm.id}/confirm", data={"confirm-note": "x" * 501}
    )
    assert response.status_code == 422
    assert "is-invalid" in response.get_data(as_text=True)
    assert _profile(session, firm).uscc_status == UsccStatus.UNVERIFIED


def test_rejecting_a_code_keeps_the_note_for_the_firm(
    console: FlaskClient, session: Session
) -> None:
    firm = _unverified_firm("Minjiang Tea", 1)
    response = console.post(
        f"/console/uscc-reviews/{firm.id}/reject",
        data={"reject-note": "The licence shows a different last character."},
    )
    assert response.status_code == 302
    profile = _profile(session, firm)
    assert profile.uscc_status == UsccStatus.REJECTED
    assert profile.uscc_review_note == "The licence shows a different last character."
    [entry] = audit(session, "uscc.rejected")
    assert entry.after is not None and entry.after["uscc_status"] == "rejected"


def test_rejecting_without_a_note_names_the_field_and_changes_nothing(
    console: FlaskClient, session: Session
) -> None:
    firm = _unverified_firm("Minjiang Tea", 1)
    response = console.post(f"/console/uscc-reviews/{firm.id}/reject", data={"reject-note": " "})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "is-invalid" in page and 'name="reject-note"' in page
    assert _profile(session, firm).uscc_status == UsccStatus.UNVERIFIED
    assert audit(session, "uscc.rejected") == []


def test_deciding_a_code_twice_is_refused(console: FlaskClient, session: Session) -> None:
    firm = _unverified_firm("Minjiang Tea", 1)
    console.post(f"/console/uscc-reviews/{firm.id}/confirm")
    again = console.post(f"/console/uscc-reviews/{firm.id}/reject", data={"reject-note": "No"})
    assert again.status_code == 409
    assert _profile(session, firm).uscc_status == UsccStatus.CONFIRMED


def test_deciding_an_unknown_firm_is_not_found(console: FlaskClient) -> None:
    assert console.post("/console/uscc-reviews/999999/confirm").status_code == 404


def test_the_organization_page_links_an_unverified_code_to_its_review(
    console: FlaskClient,
) -> None:
    firm = _unverified_firm("Minjiang Tea", 1)
    page = console.get(f"/console/orgs/{firm.id}").get_data(as_text=True)
    assert f"/console/uscc-reviews/{firm.id}" in page
