"""The price calculator on a listing page: seats and expected usage in, a quote in yuan out."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from catalog.models import Listing
from tests.catalog.storefront_data import TEAM_PRICE, publish_listing


@pytest.fixture
def english(client: FlaskClient) -> FlaskClient:
    """A visitor who reads the interface in English."""
    client.post("/lang", data={"lang": "en"})
    return client


@pytest.fixture
def team_app(session: Session) -> Listing:
    """A listing whose plan has a flat fee, 3-20 seats, graduated API calls and SMS packages."""
    return publish_listing(slug="team", price=TEAM_PRICE)


def _calculate(client: FlaskClient, listing: Listing, **values: str) -> str:
    plan = listing.plans[0].code
    query = {"plan": plan, **values}
    response = client.get(f"/services/{listing.vendor_id}/{listing.slug}", query_string=query)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _total(page: str) -> str | None:
    found = re.search(r'data-testid="quote-total">([^<]+)<', page)
    return found.group(1) if found else None


def test_the_calculator_prices_seats_graduated_usage_and_packages(
    english: FlaskClient, team_app: Listing
) -> None:
    page = _calculate(
        english, team_app, **{"seats": "5", "usage-api_calls": "1600", "usage-sms": "2500"}
    )

    # ¥99 flat; 5 seats at ¥30; 1,500 billable calls: 1,000 at ¥0.10 and 500 at ¥0.05;
    # 2,500 texts are three packages of 1,000 at ¥45.
    for line in ("¥99.00", "¥150.00", "¥125.00", "¥135.00"):
        assert f'<td class="text-end">{line}</td>' in page
    assert _total(page) == "¥509.00"


def test_usage_within_the_included_quantity_costs_nothing(
    english: FlaskClient, team_app: Listing
) -> None:
    page = _calculate(english, team_app, **{"usage-api_calls": "100", "usage-sms": "1"})

    # Blank seats mean the fewest the plan sells: 3 at ¥30; one text is a whole package.
    assert _total(page) == "¥234.00"


def test_the_calculator_accepts_thousands_separators_and_decimals(
    english: FlaskClient, team_app: Listing
) -> None:
    page = _calculate(english, team_app, **{"seats": "3", "usage-api_calls": "1,100.5"})

    # 1,000.5 billable calls: 1,000 at ¥0.10 and 0.5 at ¥0.05 (0.025 fen rounds to 3 fen).
    assert _total(page) == "¥289.03"


def test_without_a_plan_chosen_the_page_shows_no_quote(
    client: FlaskClient, team_app: Listing
) -> None:
    page = client.get(f"/services/{team_app.vendor_id}/team").get_data(as_text=True)

    assert 'data-testid="calculator"' in page
    assert _total(page) is None


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"seats": "2"}, "seats", "Seats: this plan sells at least 3."),
        ({"seats": "21"}, "seats", "Seats: this plan sells at most 20."),
        ({"seats": "abc"}, "seats", "Seats: enter a whole number, such as 5."),
        ({"seats": "-1"}, "seats", "Seats: enter a whole number, such as 5."),
        ({"seats": "2.5"}, "seats", "Seats: enter a whole number, such as 5."),
        ({"usage-api_calls": "-5"}, "usage-api_calls", "call: must not be negative."),
        ({"usage-api_calls": "lots"}, "usage-api_calls", "call: enter a number."),
        ({"usage-sms": "NaN"}, "usage-sms", "call: enter a number."),
        ({"usage-sms": "Infinity"}, "usage-sms", "call: enter a number."),
    ],
)
def test_bad_inputs_name_the_field_and_show_no_quote(
    english: FlaskClient, team_app: Listing, values: dict[str, str], field: str, message: str
) -> None:
    page = _calculate(english, team_app, **values)

    assert f'<div class="invalid-feedback" data-testid="error-{field}">{message}</div>' in page
    assert _total(page) is None


def test_an_unknown_plan_is_refused_naming_the_plan_field(
    english: FlaskClient, team_app: Listing
) -> None:
    response = english.get(
        f"/services/{team_app.vendor_id}/team", query_string={"plan": "no-such-plan"}
    )
    page = response.get_data(as_text=True)

    assert "Plan: choose one of the plans listed." in page
    assert _total(page) is None


def test_the_calculator_reads_chinese_by_default(client: FlaskClient, team_app: Listing) -> None:
    page = _calculate(client, team_app, seats="5")

    assert _total(page) == "¥249.00"
