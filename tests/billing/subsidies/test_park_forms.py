"""The park's program forms turn typed yuan and percentages into rules JSON, and back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale

from billing.subsidies.park_forms import ProgramForm, RuleChoices, apply_form_errors
from billing.subsidies.program_rules import check_rules
from billing.subsidies.rules_form_data import (
    cap_from_form,
    details_from_form,
    form_from_details,
    form_from_rules,
    form_path,
    moment_from_form,
    program_from_form,
    revision_from_form,
    rules_from_form,
    starting_rules,
)
from marketplace.clock import MARKET_TIME_ZONE
from marketplace.errors import ValidationFailed

FULL_RULES: dict[str, Any] = {
    "priority": 20,
    "stackable": True,
    "invoices_from": "2026-01-01",
    "invoices_until": "2026-12-31",
    "rate_steps": [
        {"starts_on": "2026-01-01", "default_rate": "0.5", "layer_rates": {"iaas": "0.4"}},
        {
            "starts_on": "2026-07-01",
            "default_rate": "0.3333",
            "layer_rates": {"paas": "0.25", "saas": "0"},
        },
    ],
    "caps": {
        "per_invoice_fen": 50_000,
        "per_firm_fen": 2_000_050,
        "first_claim_fen": None,
        "later_claim_fen": 10_000,
    },
    "qualifying": {
        "category_ids": [3, 1],
        "listing_ids": [7],
        "vendor_ids": [],
        "min_amount_fen": 1_000,
    },
    "eligibility": {
        "size_classes": ["micro", "small"],
        "industry_codes": ["software_it"],
        "legal_forms": ["enterprise", "sole_proprietor"],
        "min_months_registered": 12,
        "exclude_dishonest": True,
        "first_time_buyers_only": True,
        "park_members_only": False,
    },
    "vendor_quotas_fen": {"12": 100_000, "40": 5},
}


@pytest.fixture(autouse=True)
def english(app: Flask) -> Iterator[None]:
    """Read the messages in English, inside a request as the pages are."""
    with app.test_request_context(), force_locale("en"):
        yield


def typed(**changes: Any) -> dict[str, Any]:
    """Return the form data of FULL_RULES with some fields replaced."""
    return form_from_rules(check_rules(FULL_RULES)) | changes


def step(starts_on: str = "", rate: str = "", **layers: str) -> dict[str, str]:
    """Return one typed rate-step row."""
    return {"starts_on": starts_on, "default_rate": rate, "iaas": "", "paas": "", "saas": ""} | (
        layers
    )


def errors_of(data: dict[str, Any]) -> dict[str, list[str]]:
    """Return the errors rules_from_form names for some form data."""
    with pytest.raises(ValidationFailed) as refused:
        rules_from_form(data)
    return refused.value.errors


# Both ways ----------------------------------------------------------------------------------


def test_stored_rules_survive_a_trip_through_the_form() -> None:
    stored = check_rules(FULL_RULES)

    assert rules_from_form(form_from_rules(stored)) == stored


def test_the_form_shows_yuan_and_percentages() -> None:
    data = form_from_rules(check_rules(FULL_RULES))

    assert data["rate_steps"][0] == step("2026-01-01", "50", iaas="40")
    assert data["rate_steps"][1] == step("2026-07-01", "33.33", paas="25", saas="0")
    assert (data["cap_per_invoice"], data["cap_per_firm"], data["cap_first_claim"]) == (
        "500.00",
        "20000.50",
        "",
    )
    assert data["min_amount"] == "10.00"
    assert data["vendor_quotas"] == [
        {"vendor_id": "12", "amount": "1000.00"},
        {"vendor_id": "40", "amount": "0.05"},
    ]
    assert (data["priority"], data["min_months_registered"]) == ("20", "12")


def test_typed_text_becomes_fen_and_rates() -> None:
    data = typed(
        rate_steps=[step(), step("2026-02-01", "45.5%", saas="100"), step()],
        cap_per_invoice="¥1,200.5",
        cap_per_firm="",
        min_amount="",
        vendor_quotas=[{"vendor_id": "", "amount": ""}, {"vendor_id": "9", "amount": "30"}],
    )

    rules = rules_from_form(data)

    assert rules["rate_steps"] == [
        {"starts_on": "2026-02-01", "default_rate": "0.455", "layer_rates": {"saas": "1"}}
    ]
    assert rules["caps"]["per_invoice_fen"] == 120_050
    assert rules["caps"]["per_firm_fen"] is None
    assert rules["qualifying"]["min_amount_fen"] == 0
    assert rules["vendor_quotas_fen"] == {"9": 3_000}


def test_blank_priority_and_months_take_their_defaults() -> None:
    rules = rules_from_form(typed(priority="", min_months_registered=" "))

    assert (rules["priority"], rules["eligibility"]["min_months_registered"]) == (100, 0)


def test_unticked_boxes_are_false() -> None:
    data = typed(stackable=False, exclude_dishonest=False, park_members_only=False)

    rules = rules_from_form(data)

    assert rules["stackable"] is False
    assert rules["eligibility"]["exclude_dishonest"] is False


def test_a_new_program_starts_from_this_year_for_sme_enterprises() -> None:
    data = form_from_rules(starting_rules(date(2026, 3, 2)))

    assert (data["invoices_from"], data["invoices_until"]) == ("2026-03-02", "2026-12-31")
    assert data["size_classes"] == ["micro", "small", "medium"]
    assert data["legal_forms"] == ["enterprise"]
    assert data["exclude_dishonest"] and data["park_members_only"]
    assert data["rate_steps"] == []


def test_details_round_trip() -> None:
    data = form_from_details("上云券", "text", "automatic", 123_456)

    details = details_from_form(data)

    assert data["budget"] == "1234.56"
    assert (details.name, details.enrollment, details.budget_fen) == (
        "上云券",
        "automatic",
        123_456,
    )


# Bad input, each named ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"invoices_from": "2026-13-01"}, "invoices_from"),
        ({"invoices_until": ""}, "invoices_until"),
        ({"invoices_until": "2025-12-31"}, "invoices_until"),
        ({"priority": "-1"}, "priority"),
        ({"priority": "20000"}, "priority"),
        ({"cap_per_invoice": "12.345"}, "cap_per_invoice"),
        ({"cap_per_firm": "-5"}, "cap_per_firm"),
        ({"cap_first_claim": "lots"}, "cap_first_claim"),
        ({"cap_later_claim": "20000000000"}, "cap_later_claim"),
        ({"min_amount": "1e"}, "min_amount"),
        ({"cap_per_firm": "1e999999"}, "cap_per_firm"),
        ({"min_amount": "1E+11"}, "min_amount"),
        ({"size_classes": []}, "size_classes"),
        ({"legal_forms": ["company"]}, "legal_forms"),
        ({"min_months_registered": "a year"}, "min_months_registered"),
        ({"min_months_registered": "5000"}, "min_months_registered"),
        ({"rate_steps": [step("2026-01-01", "150")]}, "rate_steps.0.default_rate"),
        ({"rate_steps": [step("2026-01-01", "50", iaas="x")]}, "rate_steps.0.iaas"),
        ({"rate_steps": [step(), step("", "50")]}, "rate_steps.1.starts_on"),
        ({"rate_steps": [step("2026-01-01")]}, "rate_steps.0.default_rate"),
        ({"rate_steps": [step(), step(), step()]}, "rate_steps.0.starts_on"),
        (
            {"rate_steps": [step(), step("2026-06-01", "50"), step("2026-01-01", "60")]},
            "rate_steps.1.starts_on",
        ),
        ({"vendor_quotas": [{"vendor_id": "", "amount": "10"}]}, "vendor_quotas.0.vendor_id"),
        ({"vendor_quotas": [{"vendor_id": "4", "amount": ""}]}, "vendor_quotas.0.amount"),
        ({"vendor_quotas": [{"vendor_id": "4", "amount": "1.001"}]}, "vendor_quotas.0.amount"),
        (
            {
                "vendor_quotas": [
                    {"vendor_id": "4", "amount": "10"},
                    {"vendor_id": "4", "amount": "20"},
                ]
            },
            "vendor_quotas.1.vendor_id",
        ),
        (
            {
                "vendor_quotas": [
                    {"vendor_id": "", "amount": ""},
                    {"vendor_id": "4", "amount": "20000000000"},
                ]
            },
            "vendor_quotas.1.amount",
        ),
    ],
)
def test_each_bad_input_is_named_by_its_form_field(changes: dict[str, Any], field: str) -> None:
    errors = errors_of(typed(**changes))

    assert list(errors) == [field]
    assert all(errors[field])


def test_every_unreadable_field_is_reported_at_once() -> None:
    errors = errors_of(
        typed(cap_per_invoice="x", priority="y", rate_steps=[step("2026-01-01", "200")])
    )

    assert set(errors) == {"cap_per_invoice", "priority", "rate_steps.0.default_rate"}


@pytest.mark.parametrize("budget", ["", "abc", "-1", "1.234", "1e999999", "10000000000.01"])
def test_a_budget_that_is_not_yuan_is_refused(budget: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        details_from_form({"name": "x", "enrollment": "automatic", "budget": budget})

    assert list(refused.value.errors) == ["budget"]


def test_a_new_programs_details_and_rules_are_checked_together() -> None:
    data = typed(budget="lots", cap_per_firm="x", name="n", enrollment="automatic")

    with pytest.raises(ValidationFailed) as refused:
        program_from_form(data)

    assert set(refused.value.errors) == {"budget", "cap_per_firm"}


def test_the_moment_of_a_version_is_read_in_the_market_time_zone() -> None:
    assert moment_from_form("") is None
    assert moment_from_form("2026-07-01T08:00") == datetime(
        2026, 7, 1, 8, 0, tzinfo=MARKET_TIME_ZONE
    )
    with pytest.raises(ValidationFailed) as refused:
        revision_from_form(typed(takes_effect_at="next week", cap_per_invoice="x"))
    assert set(refused.value.errors) == {"takes_effect_at", "cap_per_invoice"}


def test_the_park_cap_is_typed_in_yuan_or_left_blank() -> None:
    assert cap_from_form("") is None
    assert cap_from_form("20000") == 2_000_000
    with pytest.raises(ValidationFailed) as refused:
        cap_from_form("1/2")
    assert list(refused.value.errors) == ["firm_year_cap"]


# Mapping errors to the form -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("rate_steps.2.default_rate", "rate_steps.2.default_rate"),
        ("rate_steps.0.layer_rates.paas.value", "rate_steps.0.paas"),
        ("rate_steps", "rate_steps.0.starts_on"),
        ("caps.per_firm_fen", "cap_per_firm"),
        ("qualifying.listing_ids.0", "listing_ids"),
        ("eligibility.size_classes", "size_classes"),
        ("vendor_quotas_fen", "vendor_quotas.0.vendor_id"),
        ("budget_fen", "budget"),
        ("firm_year_cap_fen", "firm_year_cap"),
        ("name", "name"),
        ("rules", ""),
        ("something.deep", ""),
    ],
)
def test_rules_paths_map_to_form_fields(path: str, field: str) -> None:
    assert form_path(path) == field


def test_errors_land_beside_their_fields() -> None:
    form = ProgramForm(formdata=None, data=typed())
    error = ValidationFailed(
        {
            "rate_steps.1.iaas": ["bad iaas"],
            "caps.per_invoice_fen": ["bad cap"],
            "vendor_quotas.3.amount": ["bad quota"],
            "budget_fen": ["bad budget"],
            "rules": ["bad whole"],
        }
    )

    apply_form_errors(form, error)

    assert form.rate_steps[1].iaas.errors == ["bad iaas"]
    assert form.cap_per_invoice.errors == ["bad cap"]
    assert form.vendor_quotas[3].amount.errors == ["bad quota"]
    assert form.budget.errors == ["bad budget"]
    assert form.form_errors == ["bad whole"]


def test_choices_keep_what_stored_rules_name_and_nothing_else() -> None:
    offered = RuleChoices([(1, "IaaS")], [(7, "App")], [(12, "Vendor")], [("retail", "Retail")])

    kept = offered.keeping(check_rules(FULL_RULES))

    assert kept.categories == [(1, "IaaS"), (3, "#3")]
    assert kept.listings == [(7, "App")]
    assert kept.vendors == [(12, "Vendor"), (40, "#40")]
    assert kept.industries == [("retail", "Retail"), ("software_it", "#software_it")]
    assert offered.keeping(None) is offered
