"""Registering a firm: the credit code, the figures its industry needs, its size class."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.firms.models import SmeProfile
from marketplace.firms.services import FirmDetails, NoStandardInForce, register_firm
from marketplace.firms.services import profiles as profile_services
from marketplace.orgs.models import Membership, Organization
from tests.factories import make_user
from tests.firms.conftest import (
    acting_org_id,
    audit,
    counts,
    register,
    sign_in,
    software_firm,
    unverified_code,
    valid_code,
)


def _post(client: FlaskClient, **overrides: str) -> tuple[int, str]:
    response = client.post("/firm/register", data=software_firm(**overrides))
    return response.status_code, response.get_data(as_text=True)


def test_the_registration_form_lists_industries_and_regions_in_english(
    client: FlaskClient,
) -> None:
    sign_in(client, make_user())
    page = client.get("/firm/register").get_data(as_text=True)
    assert "Software and information technology services" in page
    assert "Xiamen" in page and "Pingtan Comprehensive Pilot Zone" in page
    assert 'data-testid="required-figures"' in page


def test_the_registration_form_lists_industries_and_regions_in_chinese(
    client: FlaskClient,
) -> None:
    sign_in(client, make_user(), lang="zh_CN")
    page = client.get("/firm/register").get_data(as_text=True)
    assert "软件和信息技术服务业" in page
    assert "厦门市" in page and "平潭综合实验区" in page


def test_registering_with_a_valid_code_shows_the_size_class(
    client: FlaskClient, session: Session
) -> None:
    user = make_user()
    sign_in(client, user)
    form = software_firm()
    response = client.post("/firm/register", data=form)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/firm")
    page = client.get("/firm").get_data(as_text=True)
    assert 'data-testid="size-class">Small<' in page
    assert "Classified under 中小企业划型标准规定" in page
    assert form["uscc"] in page and "Valid" in page
    assert "600 万元" in page and "Fuzhou" in page


def test_registration_stores_the_profile_the_owner_and_the_acting_firm(
    client: FlaskClient, session: Session
) -> None:
    user = make_user()
    sign_in(client, user)
    form = software_firm(revenue_wan="612.3456", established_on="2026-03-02")
    client.post("/firm/register", data=form)
    profile = session.scalars(sa.select(SmeProfile).where(SmeProfile.uscc == form["uscc"])).one()
    org = session.get(Organization, profile.organization_id)
    assert org is not None and org.kind == "sme" and org.name == form["legal_name"]
    membership = session.scalars(
        sa.select(Membership).where(Membership.organization_id == org.id)
    ).one()
    assert (membership.user_id, membership.role) == (user.id, "owner")
    assert profile.uscc_status == "valid"
    assert profile.legal_form == "enterprise"
    assert profile.size_class == "small"
    assert profile.size_standard_id == "MIIT-2011-300"
    assert profile.staff_count == 80
    assert profile.revenue_fen == 612_345_600
    assert profile.total_assets_fen is None
    assert profile.classified_at == datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
    assert acting_org_id(client) == org.id
    [entry] = audit(session, "firm.registered")
    assert entry.subject_org_id == org.id and entry.actor_user_id == user.id
    assert entry.after is not None and entry.after["size_class"] == "small"


def test_a_code_failing_only_its_check_character_is_accepted_as_awaiting_confirmation(
    client: FlaskClient, session: Session
) -> None:
    sign_in(client, make_user())
    code = unverified_code()
    assert client.post("/firm/register", data=software_firm(uscc=code)).status_code == 302
    page = client.get("/firm").get_data(as_text=True)
    assert "Awaiting confirmation" in page
    assert "awaits confirmation by the operator" in page
    profile = session.scalars(sa.select(SmeProfile).where(SmeProfile.uscc == code)).one()
    assert profile.uscc_status == "unverified"


def test_a_code_is_read_in_capitals_without_surrounding_spaces(session: Session) -> None:
    code = valid_code()
    profile = register(make_user(), uscc=f"  {code.lower()} ")
    assert profile.uscc == code


@pytest.mark.parametrize(
    ("position", "character"),
    [(5, "A"), (1, "I"), (17, None)],
    ids=["letter-in-region", "forbidden-letter", "organization-check"],
)
def test_a_malformed_code_names_the_position_and_saves_nothing(
    client: FlaskClient, session: Session, position: int, character: str | None
) -> None:
    sign_in(client, make_user())
    code = valid_code()
    if character is None:  # break the organization code check at position 17
        character = "1" if code[16] != "1" else "2"
    bad = code[: position - 1] + character + code[position:]
    before = counts(session)
    status, page = _post(client, uscc=bad)
    assert status == 422
    assert f"Position {position}:" in page
    assert counts(session) == before
    assert acting_org_id(client) is None


def test_a_code_of_the_wrong_length_says_how_long_it_was(client: FlaskClient) -> None:
    sign_in(client, make_user())
    _, page = _post(client, uscc=valid_code()[:17])
    assert "must be 18 characters long; you entered 17" in page


def test_every_field_error_is_reported_at_once(client: FlaskClient, session: Session) -> None:
    sign_in(client, make_user())
    before = counts(session)
    status, page = _post(
        client,
        legal_name="x",
        uscc="",
        region_code="999999",
        staff="-3",
        revenue_wan="lots",
        established_on="2099-01-01",
    )
    assert status == 422
    for message in (
        "The legal name must be 2 to 200 characters long.",
        "Enter the unified social credit code.",
        "Choose a region from the list.",
        "The number of staff cannot be negative.",
        "Enter an amount in 万元",
        "The date of establishment cannot be in the future.",
    ):
        assert message in page
    assert counts(session) == before


def test_the_service_names_each_field_it_refuses(request_context: None, session: Session) -> None:
    details = FirmDetails(**software_firm(legal_name="", industry_code="banking", staff="1.5"))
    with pytest.raises(ValidationFailed) as caught:
        register_firm(
            session, FrozenClock(datetime(2026, 3, 2, tzinfo=UTC)), Actor(make_user().id), details
        )
    assert set(caught.value.errors) == {"legal_name", "industry_code", "staff"}


def test_a_code_already_registered_is_refused_on_the_code_field(
    client: FlaskClient, session: Session
) -> None:
    code = valid_code()
    register(make_user(), uscc=code)
    sign_in(client, make_user())
    before = counts(session)
    _, page = _post(client, uscc=code, legal_name="另一家公司")
    assert "A firm with this credit code is already registered." in page
    assert counts(session) == before


def test_the_unique_constraint_refuses_a_code_registered_meanwhile(
    request_context: None, session: Session, monkeypatch: pytest.MonkeyPatch, clock: FrozenClock
) -> None:
    code = valid_code()
    register(make_user(), uscc=code)
    before = counts(session)
    # As if a second registration read the table before the first one committed.
    monkeypatch.setattr(profile_services, "_uscc_taken", lambda _session, _code: False)
    details = FirmDetails(**software_firm(uscc=code))
    with pytest.raises(ValidationFailed) as caught:
        register_firm(db.session(), clock, Actor(make_user().id), details)
    assert caught.value.errors == {"uscc": ["A firm with this credit code is already registered."]}
    assert counts(session)["profiles"] == before["profiles"]
    assert counts(session)["organizations"] == before["organizations"]


def test_a_figure_the_industry_needs_is_required(client: FlaskClient, session: Session) -> None:
    sign_in(client, make_user())
    before = counts(session)
    # Construction is sized by revenue and total assets, not by staff.
    _, page = _post(client, industry_code="construction", staff="", revenue_wan="500")
    assert page.count("Required for the firm&#39;s industry.") == 1
    assert counts(session) == before


def test_figures_the_industry_does_not_use_may_be_left_out(session: Session) -> None:
    profile = register(
        make_user(), industry_code="construction", staff="", revenue_wan="500", assets_wan="400"
    )
    assert profile.staff_count is None and profile.size_class == "small"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("staff", "eighty", "Enter the number of staff as a whole number"),
        ("staff", "80.5", "Enter the number of staff as a whole number"),
        ("staff", "-1", "The number of staff cannot be negative."),
        ("revenue_wan", "-0.01", "The amount cannot be negative."),
        ("revenue_wan", "六百", "Enter an amount in 万元"),
        ("revenue_wan", "600.12345", "Use at most 4 decimal places."),
        ("revenue_wan", "1e12", "The amount is too large."),
        ("assets_wan", "NaN", "Enter an amount in 万元"),
        ("established_on", "2026-13-01", "Enter the date as YYYY-MM-DD."),
        ("established_on", "2026-03-03", "The date of establishment cannot be in the future."),
    ],
)
def test_a_bad_figure_is_refused_and_saves_nothing(
    client: FlaskClient, session: Session, field: str, value: str, message: str
) -> None:
    sign_in(client, make_user())
    before = counts(session)
    _, page = _post(client, **{field: value})
    assert message in page
    assert counts(session) == before


def test_a_firm_established_today_in_shanghai_is_accepted(session: Session) -> None:
    # The clock stands at 01:30 UTC, already 09:30 on 2 March in Shanghai.
    profile = register(make_user(), established_on="2026-03-02")
    assert profile.established_on is not None


@pytest.mark.parametrize(
    ("staff", "revenue", "size"),
    [
        ("80", "600", "small"),
        ("350", "12000", "large"),
        ("8", "2000", "micro"),
        ("150", "5000", "medium"),
    ],
)
def test_the_size_class_follows_the_software_row(
    session: Session, staff: str, revenue: str, size: str
) -> None:
    assert register(make_user(), staff=staff, revenue_wan=revenue).size_class == size


def test_a_user_who_has_not_confirmed_the_email_is_asked_to_first(
    client: FlaskClient, session: Session
) -> None:
    sign_in(client, make_user(confirmed=False))
    response = client.get("/firm/register")
    assert response.status_code == 403
    assert 'data-testid="confirm-email-first"' in response.get_data(as_text=True)
    before = counts(session)
    assert client.post("/firm/register", data=software_firm()).status_code == 403
    assert counts(session) == before


def test_a_visitor_is_sent_to_sign_in_before_registering(client: FlaskClient) -> None:
    response = client.get("/firm/register")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_registration_needs_a_standard_in_force(request_context: None, session: Session) -> None:
    before_2011 = FrozenClock(datetime(2011, 6, 17, tzinfo=UTC))
    with pytest.raises(NoStandardInForce):
        register_firm(session, before_2011, Actor(make_user().id), FirmDetails(**software_firm()))


def test_a_registration_without_the_csrf_token_is_refused(
    app: Flask, client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    sign_in(client, make_user())
    before = counts(session)
    assert client.post("/firm/register", data=software_firm()).status_code == 400
    assert counts(session) == before
