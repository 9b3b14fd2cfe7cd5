"""Pure conversion between the park's subsidy forms and rules JSON.

An admin types yuan and percentages; the rules hold fen and rates from 0 to 1. The
conversion reads the typed text, checks the result with the rules schema, and names
every problem by the form field it came from ("rate_steps.1.iaas", "cap_per_firm"), so
a refused form shows each message beside the box that caused it. Nothing here touches
the database or a request; the forms themselves are in billing.subsidies.park_forms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar

from flask_babel import gettext as _

from billing.subsidies.program_rules import FEN_MAX
from billing.subsidies.programs import checked_rules
from billing.subsidies.rules import Layer
from marketplace.clock import MARKET_TIME_ZONE
from marketplace.errors import ValidationFailed
from marketplace.money import FEN_PER_YUAN, parse_decimal

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
LAYERS = tuple(layer.value for layer in Layer)
DEFAULT_PRIORITY = 100
MAX_YUAN = Decimal(FEN_MAX) / FEN_PER_YUAN

# Where a path of the rules JSON is typed on the form.
RULE_FIELDS = {
    "priority": "priority",
    "stackable": "stackable",
    "invoices_from": "invoices_from",
    "invoices_until": "invoices_until",
    "caps.per_invoice_fen": "cap_per_invoice",
    "caps.per_firm_fen": "cap_per_firm",
    "caps.first_claim_fen": "cap_first_claim",
    "caps.later_claim_fen": "cap_later_claim",
    "qualifying.category_ids": "category_ids",
    "qualifying.listing_ids": "listing_ids",
    "qualifying.vendor_ids": "vendor_ids",
    "qualifying.min_amount_fen": "min_amount",
    "eligibility.size_classes": "size_classes",
    "eligibility.industry_codes": "industry_codes",
    "eligibility.legal_forms": "legal_forms",
    "eligibility.min_months_registered": "min_months_registered",
    "eligibility.exclude_dishonest": "exclude_dishonest",
    "eligibility.first_time_buyers_only": "first_time_buyers_only",
    "eligibility.park_members_only": "park_members_only",
    # The services' own field names.
    "budget_fen": "budget",
    "firm_year_cap_fen": "firm_year_cap",
}


# Reading typed text ---------------------------------------------------------------------------


class _Errors:
    """Field errors gathered while reading a form, keyed by form path."""

    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, path: str, message: str) -> None:
        """Note a problem with one field."""
        self.by_field.setdefault(path, []).append(message)

    def raise_any(self) -> None:
        """Raise ValidationFailed if any problem was noted."""
        if self.by_field:
            raise ValidationFailed(self.by_field)


def _text(value: Any) -> str:
    """Return a typed value as stripped text ('' for None)."""
    return "" if value is None else str(value).strip()


def _places(value: Decimal) -> int:
    """Return how many decimal places a number is written with."""
    exponent = value.as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 99


def parse_yuan(raw: Any) -> int | None:
    """Read an amount typed in yuan (two decimals at most) as fen; None when blank."""
    text = _text(raw).removeprefix("¥").strip()
    if not text:
        return None
    try:
        value = parse_decimal(text)
    except ValueError:
        raise ValueError(_("Enter an amount in yuan, like 1200 or 1200.50.")) from None
    if value < 0 or _places(value) > 2:
        raise ValueError(_("Enter an amount in yuan, like 1200 or 1200.50."))
    if value > MAX_YUAN:  # compared, not multiplied: 1e999999 is a valid Decimal
        raise ValueError(_("Enter an amount from 0 to ¥10,000,000,000."))
    return int(value * FEN_PER_YUAN)


def parse_percent(raw: Any) -> str | None:
    """Read a percentage (0 to 100, two decimals at most) as a rate like "0.35"."""
    text = _text(raw).removesuffix("%").strip()
    if not text:
        return None
    try:
        value = parse_decimal(text)
    except ValueError:
        raise ValueError(_("Enter a percentage from 0 to 100.")) from None
    if not 0 <= value <= 100 or _places(value) > 2:
        raise ValueError(_("Enter a percentage from 0 to 100."))
    return format((value / 100).normalize(), "f")


def parse_day(raw: Any) -> str | None:
    """Read a day typed as YYYY-MM-DD; None when blank."""
    text = _text(raw)
    if not text:
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise ValueError(_("Enter a date as YYYY-MM-DD.")) from None


def parse_whole(raw: Any) -> int | None:
    """Read a whole number of zero or more; None when blank."""
    text = _text(raw)
    if not text:
        return None
    if not text.isascii() or not text.isdigit():
        raise ValueError(_("Enter a whole number of 0 or more."))
    return int(text)


def parse_moment(raw: Any) -> datetime | None:
    """Read a moment typed as YYYY-MM-DDTHH:MM in the market's time zone; None when blank."""
    text = _text(raw)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(_("Enter a date and time, like 2026-07-01 00:00.")) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=MARKET_TIME_ZONE)
    return moment


def _read(errors: _Errors, path: str, parse: Callable[[Any], T | None], raw: Any) -> T | None:
    """Parse one field; on failure note the message under its path and return None."""
    try:
        value = parse(raw)
    except ValueError as error:
        errors.add(path, str(error))
        return None
    return value


# Form -> rules --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """Which form row each rate step and each vendor quota of the rules came from."""

    step_rows: tuple[int, ...] = ()
    quota_rows: Mapping[str, int] | None = None


def rules_from_form(data: Mapping[str, Any]) -> dict[str, Any]:
    """Turn a rules form's data into checked rules JSON; errors are keyed by form field.

    Blank rate-step and quota rows are skipped; blank caps mean no cap.
    """
    errors = _Errors()
    steps, step_rows = _steps(data.get("rate_steps") or [], errors)
    quotas, quota_rows = _quotas(data.get("vendor_quotas") or [], errors)
    rules = {
        "priority": _read(errors, "priority", parse_whole, data.get("priority")),
        "stackable": bool(data.get("stackable")),
        "invoices_from": _read(errors, "invoices_from", parse_day, data.get("invoices_from")),
        "invoices_until": _read(errors, "invoices_until", parse_day, data.get("invoices_until")),
        "rate_steps": steps,
        "caps": _caps(data, errors),
        "qualifying": _qualifying(data, errors),
        "eligibility": _eligibility(data, errors),
        "vendor_quotas_fen": quotas,
    }
    if rules["priority"] is None:
        rules["priority"] = DEFAULT_PRIORITY
    for name in ("invoices_from", "invoices_until"):
        if rules[name] is None and name not in errors.by_field:
            errors.add(name, _("Give a date."))
    errors.raise_any()
    layout = _Layout(tuple(step_rows), quota_rows)
    try:
        return checked_rules(rules)
    except ValidationFailed as error:
        raise ValidationFailed(form_errors(error.errors, layout)) from None


def _steps(rows: Sequence[Mapping[str, Any]], errors: _Errors) -> tuple[list[Any], list[int]]:
    """Read the rate-step rows that are not blank; return them and their row numbers."""
    steps, used = [], []
    for index, row in enumerate(rows):
        if not any(_text(row.get(name)) for name in ("starts_on", "default_rate", *LAYERS)):
            continue
        prefix = f"rate_steps.{index}"
        starts_on = _read(errors, f"{prefix}.starts_on", parse_day, row.get("starts_on"))
        rate = _read(errors, f"{prefix}.default_rate", parse_percent, row.get("default_rate"))
        if starts_on is None and f"{prefix}.starts_on" not in errors.by_field:
            errors.add(f"{prefix}.starts_on", _("Give the day this step starts."))
        if rate is None and f"{prefix}.default_rate" not in errors.by_field:
            errors.add(f"{prefix}.default_rate", _("Give the rate of this step."))
        layers = {
            layer: _read(errors, f"{prefix}.{layer}", parse_percent, row.get(layer))
            for layer in LAYERS
        }
        steps.append(
            {
                "starts_on": starts_on,
                "default_rate": rate,
                "layer_rates": {k: v for k, v in layers.items() if v is not None},
            }
        )
        used.append(index)
    return steps, used


def _quotas(
    rows: Sequence[Mapping[str, Any]], errors: _Errors
) -> tuple[dict[str, Any], dict[str, int]]:
    """Read the vendor sub-quota rows that are not blank; return them and their rows."""
    quotas: dict[str, Any] = {}
    rows_of: dict[str, int] = {}
    for index, row in enumerate(rows):
        vendor, typed = _text(row.get("vendor_id")), _text(row.get("amount"))
        if not vendor and not typed:
            continue
        prefix = f"vendor_quotas.{index}"
        amount = _read(errors, f"{prefix}.amount", parse_yuan, typed)
        if not vendor:
            errors.add(f"{prefix}.vendor_id", _("Choose the vendor."))
        elif vendor in quotas:
            errors.add(f"{prefix}.vendor_id", _("This vendor has a sub-quota already."))
        elif not typed:
            errors.add(f"{prefix}.amount", _("Give the sub-quota."))
        else:
            quotas[vendor] = amount
            rows_of[vendor] = index
    return quotas, rows_of


def _caps(data: Mapping[str, Any], errors: _Errors) -> dict[str, int | None]:
    """Read the caps; a blank cap is none."""
    return {
        "per_invoice_fen": _read(
            errors, "cap_per_invoice", parse_yuan, data.get("cap_per_invoice")
        ),
        "per_firm_fen": _read(errors, "cap_per_firm", parse_yuan, data.get("cap_per_firm")),
        "first_claim_fen": _read(
            errors, "cap_first_claim", parse_yuan, data.get("cap_first_claim")
        ),
        "later_claim_fen": _read(
            errors, "cap_later_claim", parse_yuan, data.get("cap_later_claim")
        ),
    }


def _qualifying(data: Mapping[str, Any], errors: _Errors) -> dict[str, Any]:
    """Read which purchases qualify."""
    minimum = _read(errors, "min_amount", parse_yuan, data.get("min_amount"))
    return {
        "category_ids": list(data.get("category_ids") or []),
        "listing_ids": list(data.get("listing_ids") or []),
        "vendor_ids": list(data.get("vendor_ids") or []),
        "min_amount_fen": minimum or 0,
    }


def _eligibility(data: Mapping[str, Any], errors: _Errors) -> dict[str, Any]:
    """Read which firms qualify."""
    months = _read(errors, "min_months_registered", parse_whole, data.get("min_months_registered"))
    return {
        "size_classes": list(data.get("size_classes") or []),
        "industry_codes": list(data.get("industry_codes") or []),
        "legal_forms": list(data.get("legal_forms") or []),
        "min_months_registered": months or 0,
        "exclude_dishonest": bool(data.get("exclude_dishonest")),
        "first_time_buyers_only": bool(data.get("first_time_buyers_only")),
        "park_members_only": bool(data.get("park_members_only")),
    }


def form_path(path: str, layout: _Layout | None = None) -> str:
    """Return the form field where a rules-JSON path (or a service's field) is typed.

    "rate_steps.0.layer_rates.iaas.value" → "rate_steps.0.iaas"; "" for no single field.
    """
    layout = layout or _Layout()
    parts = path.split(".")
    if parts[0] == "rate_steps":
        return _step_path(parts, layout)
    if parts[0] == "vendor_quotas_fen":
        return _quota_path(parts, layout)
    for size in (2, 1):
        name = RULE_FIELDS.get(".".join(parts[:size]))
        if name is not None:
            return name
    return path if len(parts) == 1 and path != "rules" else ""


def _step_path(parts: Sequence[str], layout: _Layout) -> str:
    """Map an error of the rate steps to the box of its row."""
    rows = layout.step_rows
    if len(parts) < 2 or not parts[1].isdigit():
        return f"rate_steps.{rows[0] if rows else 0}.starts_on"
    index = int(parts[1])
    row = rows[index] if index < len(rows) else index
    name = parts[2] if len(parts) > 2 else "starts_on"
    if name == "layer_rates":
        name = parts[3] if len(parts) > 3 and parts[3] in LAYERS else "default_rate"
    return f"rate_steps.{row}.{name}"


def _quota_path(parts: Sequence[str], layout: _Layout) -> str:
    """Map an error of the vendor sub-quotas to the box of its row."""
    rows = layout.quota_rows or {}
    if len(parts) < 2:
        return "vendor_quotas.0.vendor_id"
    row = rows.get(parts[1], 0)
    name = "vendor_id" if len(parts) > 2 and parts[2] == "key" else "amount"
    return f"vendor_quotas.{row}.{name}"


def form_errors(
    errors: Mapping[str, list[str]], layout: _Layout | None = None
) -> dict[str, list[str]]:
    """Re-key errors named by rules-JSON path (or service field) by form field."""
    mapped: dict[str, list[str]] = {}
    for path, messages in errors.items():
        mapped.setdefault(form_path(path, layout), []).extend(messages)
    return mapped


# Rules -> form --------------------------------------------------------------------------------


def yuan_text(amount_fen: int | None) -> str:
    """Show fen as typed yuan ("1200.50"); blank for None."""
    if amount_fen is None:
        return ""
    yuan, fen = divmod(amount_fen, FEN_PER_YUAN)
    return f"{yuan}.{fen:02d}"


def percent_text(rate: Any) -> str:
    """Show a rate ("0.35") as a typed percentage ("35"); blank for None."""
    if rate is None:
        return ""
    return format((Decimal(str(rate)) * 100).normalize(), "f")


def form_from_rules(rules: Mapping[str, Any]) -> dict[str, Any]:
    """Return the data that fills a rules form from stored rules JSON."""
    caps = rules.get("caps", {})
    qualifying = rules.get("qualifying", {})
    eligibility = rules.get("eligibility", {})
    return {
        "priority": str(rules.get("priority", DEFAULT_PRIORITY)),
        "stackable": bool(rules.get("stackable", False)),
        "invoices_from": rules.get("invoices_from") or "",
        "invoices_until": rules.get("invoices_until") or "",
        "rate_steps": [
            {
                "starts_on": step["starts_on"],
                "default_rate": percent_text(step["default_rate"]),
                **{layer: percent_text(step.get("layer_rates", {}).get(layer)) for layer in LAYERS},
            }
            for step in rules.get("rate_steps", [])
        ],
        "cap_per_invoice": yuan_text(caps.get("per_invoice_fen")),
        "cap_per_firm": yuan_text(caps.get("per_firm_fen")),
        "cap_first_claim": yuan_text(caps.get("first_claim_fen")),
        "cap_later_claim": yuan_text(caps.get("later_claim_fen")),
        "category_ids": list(qualifying.get("category_ids", [])),
        "listing_ids": list(qualifying.get("listing_ids", [])),
        "vendor_ids": list(qualifying.get("vendor_ids", [])),
        "min_amount": yuan_text(qualifying.get("min_amount_fen") or None),
        "size_classes": list(eligibility.get("size_classes", [])),
        "industry_codes": list(eligibility.get("industry_codes", [])),
        "legal_forms": list(eligibility.get("legal_forms", [])),
        "min_months_registered": str(eligibility.get("min_months_registered", 0)),
        "exclude_dishonest": bool(eligibility.get("exclude_dishonest", True)),
        "first_time_buyers_only": bool(eligibility.get("first_time_buyers_only", False)),
        "park_members_only": bool(eligibility.get("park_members_only", True)),
        "vendor_quotas": [
            {"vendor_id": vendor, "amount": yuan_text(amount)}
            for vendor, amount in rules.get("vendor_quotas_fen", {}).items()
        ],
    }


def starting_rules(today: date) -> dict[str, Any]:
    """Return what a new program's form starts from: this year, SMEs, enterprises, no caps."""
    return {
        "priority": DEFAULT_PRIORITY,
        "stackable": False,
        "invoices_from": today.isoformat(),
        "invoices_until": date(today.year, 12, 31).isoformat(),
        "rate_steps": [],
        "eligibility": {
            "size_classes": ["micro", "small", "medium"],
            "legal_forms": ["enterprise"],
            "exclude_dishonest": True,
            "park_members_only": True,
        },
    }


# Details and policy ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DetailsInput:
    """A program's details as the services take them."""

    name: str
    description: str
    enrollment: str
    budget_fen: int


def details_from_form(data: Mapping[str, Any]) -> DetailsInput:
    """Read a details form; the budget is required and typed in yuan."""
    errors = _Errors()
    budget = _read(errors, "budget", parse_yuan, data.get("budget"))
    if budget is None and "budget" not in errors.by_field:
        errors.add("budget", _("Give the budget."))
    errors.raise_any()
    return DetailsInput(
        name=_text(data.get("name")),
        description=_text(data.get("description")),
        enrollment=_text(data.get("enrollment")),
        budget_fen=budget or 0,
    )


def form_from_details(
    name: str, description: str, enrollment: str, budget_fen: int
) -> dict[str, Any]:
    """Return the data that fills a details form."""
    return {
        "name": name,
        "description": description,
        "enrollment": enrollment,
        "budget": yuan_text(budget_fen),
    }


def moment_from_form(raw: Any) -> datetime | None:
    """Read the moment a new version takes effect; None (blank) means now."""
    errors = _Errors()
    moment = _read(errors, "takes_effect_at", parse_moment, raw)
    errors.raise_any()
    return moment


def cap_from_form(raw: Any) -> int | None:
    """Read the park's cap per firm and year in yuan; None (blank) means no cap."""
    errors = _Errors()
    cap = _read(errors, "firm_year_cap", parse_yuan, raw)
    errors.raise_any()
    return cap


def program_from_form(data: Mapping[str, Any]) -> tuple[DetailsInput, dict[str, Any]]:
    """Read a new program's form: its details and its rules, reporting both at once."""
    return _both(lambda: details_from_form(data), lambda: rules_from_form(data))


def revision_from_form(data: Mapping[str, Any]) -> tuple[datetime | None, dict[str, Any]]:
    """Read a rules form: when the new version takes effect, and its rules."""
    return _both(
        lambda: moment_from_form(data.get("takes_effect_at")), lambda: rules_from_form(data)
    )


def _both(first: Callable[[], A], second: Callable[[], B]) -> tuple[A, B]:
    """Run two readers; raise one ValidationFailed with the errors of both."""
    errors: dict[str, list[str]] = {}
    results: list[Any] = []
    for reader in (first, second):
        try:
            results.append(reader())
        except ValidationFailed as error:
            errors |= error.errors
    if errors:
        raise ValidationFailed(errors)
    return results[0], results[1]
