"""Decide which firms a subsidy program admits, naming every rule a firm does not meet.

Pure: no database, no framework, no clock; the day to judge on is passed in.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

SME_SIZE_CLASSES = frozenset({"micro", "small", "medium"})


class Unmet(StrEnum):
    """An eligibility rule a firm does not meet; a stable code the pages translate."""

    SIZE = "size"
    INDUSTRY = "industry"
    LEGAL_FORM = "legal_form"
    TOO_YOUNG = "too_young"
    DISHONEST = "dishonest"
    NOT_FIRST_TIME = "not_first_time"
    NOT_PARK_MEMBER = "not_park_member"


@dataclass(frozen=True)
class Eligibility:
    """Which firms qualify; empty industry and legal-form sets admit any."""

    size_classes: frozenset[str] = SME_SIZE_CLASSES
    industry_codes: frozenset[str] = frozenset()
    legal_forms: frozenset[str] = frozenset()
    min_months_registered: int = 0
    exclude_dishonest: bool = True
    first_time_buyers_only: bool = False
    park_members_only: bool = True


@dataclass(frozen=True)
class FirmFacts:
    """What eligibility looks at in a firm's profile."""

    firm_id: int
    size_class: str
    industry_code: str
    legal_form: str
    registered_on: date | None
    dishonest: bool
    had_paid_cloud_invoice_before: bool
    park_member: bool


def add_months(start: date, months: int) -> date:
    """Return the same day months later, or the month's last day when it is shorter."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last_day))


def months_registered(registered_on: date, on: date) -> int:
    """Count the whole calendar months from registered_on to on; 0 before it.

    A month is complete on the same day of a later month, or on that month's last day
    when it is shorter: registered on 31 January, a firm is one month old on 28 February.
    """
    if on < registered_on:
        return 0
    months = (on.year - registered_on.year) * 12 + on.month - registered_on.month
    return months - 1 if add_months(registered_on, months) > on else months


def _old_enough(eligibility: Eligibility, firm: FirmFacts, on: date) -> bool:
    """Say whether the firm has been registered for the minimum number of months."""
    if eligibility.min_months_registered <= 0:
        return True
    if firm.registered_on is None:
        return False
    return months_registered(firm.registered_on, on) >= eligibility.min_months_registered


def _in_industry(eligibility: Eligibility, firm: FirmFacts) -> bool:
    """Say whether the firm's industry code starts with one of the program's codes."""
    codes = eligibility.industry_codes
    return not codes or any(firm.industry_code.startswith(code) for code in codes)


def unmet_rules(eligibility: Eligibility, firm: FirmFacts, on: date) -> tuple[Unmet, ...]:
    """Name every eligibility rule the firm does not meet on a day; empty when eligible."""
    failed = {
        Unmet.SIZE: firm.size_class not in eligibility.size_classes,
        Unmet.INDUSTRY: not _in_industry(eligibility, firm),
        Unmet.LEGAL_FORM: bool(eligibility.legal_forms)
        and firm.legal_form not in eligibility.legal_forms,
        Unmet.TOO_YOUNG: not _old_enough(eligibility, firm, on),
        Unmet.DISHONEST: eligibility.exclude_dishonest and firm.dishonest,
        Unmet.NOT_FIRST_TIME: eligibility.first_time_buyers_only
        and firm.had_paid_cloud_invoice_before,
        Unmet.NOT_PARK_MEMBER: eligibility.park_members_only and not firm.park_member,
    }
    return tuple(rule for rule in Unmet if failed[rule])
