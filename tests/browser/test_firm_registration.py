"""A new user signs up, confirms the address and registers a firm, good code or bad."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveServer
from tests.browser.journeys import (
    a_firm,
    fill_firm_form,
    profile_row,
    register_firm,
    sign_up_and_confirm,
    submit_firm_form,
    unique_uscc,
    with_wrong_check_character,
)


def _holdings_of(live_server: LiveServer, email: str, legal_name: str) -> dict[str, int]:
    """Count the memberships of a user and the organizations and profiles under a name."""
    queries = {
        "memberships": "SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id "
        "WHERE u.email = :email",
        "organizations": "SELECT count(*) FROM organizations WHERE name = :name",
        "sme_profiles": "SELECT count(*) FROM sme_profiles WHERE legal_name = :name",
    }
    with live_server.engine.connect() as connection:
        return {
            table: connection.execute(
                sa.text(sql), {"email": email, "name": legal_name}
            ).scalar_one()
            for table, sql in queries.items()
        }


def test_sign_up_confirm_register_a_firm_and_see_its_size_class(
    page: Page, live_server: LiveServer, output_path: str
) -> None:
    sign_up_and_confirm(page, live_server)
    page.get_by_test_id("nav-register-firm").click()
    expect(page).to_have_url(live_server.url + "/firm/register")

    firm = a_firm()
    register_firm(page, live_server, firm)

    expect(page.get_by_test_id("size-class")).to_have_text("小型")
    expect(page.get_by_test_id("uscc")).to_have_text(firm.uscc)
    expect(page.get_by_test_id("uscc-awaiting")).to_have_count(0)
    row = profile_row(live_server, firm.uscc)
    assert row is not None
    assert (row["size_class"], row["uscc_status"]) == ("small", "valid")
    assert (row["staff_count"], row["revenue_fen"]) == (80, 600 * 10_000 * 100)
    # Kept with the run's artifacts, for a person to see how the profile page looks.
    page.screenshot(path=str(Path(output_path) / "firm-profile.png"), full_page=True)


def _with_i_at_position_5(code: str) -> str:
    # I is never part of a credit code (it reads like 1), so the check stops at position 5.
    return code[:4] + "I" + code[5:]


@pytest.mark.parametrize(
    ("spoil", "named_number"),
    [(_with_i_at_position_5, "5"), (lambda code: code[:17], "17")],
    ids=["a-letter-I-at-position-5", "only-17-characters"],
)
def test_a_bad_credit_code_shows_the_field_error_and_saves_nothing(
    page: Page, live_server: LiveServer, spoil: Callable[[str], str], named_number: str
) -> None:
    email, _password = sign_up_and_confirm(page, live_server)
    firm = a_firm(uscc=spoil(unique_uscc()))
    page.goto(live_server.url + "/firm/register")
    fill_firm_form(page, firm)
    submit_firm_form(page)

    expect(page).to_have_url(live_server.url + "/firm/register")
    uscc = page.locator("input[name=uscc]")
    expect(uscc).to_have_class(re.compile(r"\bis-invalid\b"))
    error = page.locator("input[name=uscc] ~ .invalid-feedback")
    expect(error).to_have_count(1)
    expect(error).to_contain_text(re.compile(rf"(?<!\d){named_number}(?!\d)"))
    expect(page.locator(".invalid-feedback")).to_have_count(1)
    expect(uscc).to_have_value(firm.uscc)
    expect(page.locator("input[name=legal_name]")).to_have_value(firm.legal_name)
    expect(page.locator("select[name=region_code]")).to_have_value(firm.region_code)
    expect(page.locator("select[name=industry_code]")).to_have_value(firm.industry_code)
    expect(page.locator("input[name=staff]")).to_have_value(firm.staff)
    expect(page.locator("input[name=revenue_wan]")).to_have_value(firm.revenue_wan)
    assert _holdings_of(live_server, email, firm.legal_name) == {
        "memberships": 0,
        "organizations": 0,
        "sme_profiles": 0,
    }


def test_a_code_with_a_wrong_check_character_is_kept_as_awaiting_confirmation(
    page: Page, live_server: LiveServer
) -> None:
    sign_up_and_confirm(page, live_server)
    firm = a_firm(uscc=with_wrong_check_character(unique_uscc()))

    register_firm(page, live_server, firm)

    expect(page.get_by_test_id("uscc-awaiting")).to_be_visible()
    expect(page.get_by_test_id("uscc-status")).to_be_visible()
    expect(page.get_by_test_id("uscc")).to_have_text(firm.uscc)
    row = profile_row(live_server, firm.uscc)
    assert row is not None
    assert (row["uscc_status"], row["size_class"]) == ("unverified", "small")
