"""Read what a person typed into the firm form, collecting every field's error at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _

from marketplace.errors import ValidationFailed
from marketplace.firms.regions import region_by_code
from marketplace.firms.sme_size import (
    FirmFigures,
    Indicator,
    IndustryRule,
    SizeStandard,
    UnknownIndustry,
    required_indicators,
)
from marketplace.firms.uscc import UsccCheck, UsccFormatError, check_uscc
from marketplace.money import parse_decimal

LEGAL_NAME_MIN = 2
LEGAL_NAME_MAX = 200
STAFF_MAX = 10_000_000
# 万元 with four decimals is one yuan; beyond 10^10 万元 no firm exists and fen would overflow.
WAN_PLACES = 4
WAN_MAX = Decimal(10) ** 10
FIGURE_FIELDS: dict[Indicator, str] = {
    "staff": "staff",
    "revenue": "revenue_wan",
    "assets": "assets_wan",
}


@dataclass(frozen=True)
class FirmDetails:
    """The firm form as typed: every value is text, blank when left empty."""

    legal_name: str = ""
    uscc: str = ""
    region_code: str = ""
    industry_code: str = ""
    staff: str = ""
    revenue_wan: str = ""
    assets_wan: str = ""
    established_on: str = ""


@dataclass(frozen=True)
class CleanFirmDetails:
    """The firm form once every field has been checked."""

    legal_name: str
    uscc: UsccCheck
    region_code: str
    industry: IndustryRule
    figures: FirmFigures
    established_on: date | None


class FieldErrors(dict[str, list[str]]):
    """Error messages by form field, gathered before anything is saved."""

    def add(self, field: str, message: str) -> None:
        """Add a message to a field."""
        self.setdefault(field, []).append(message)


def read_firm_details(
    details: FirmDetails, standard: SizeStandard, today: date, errors: FieldErrors
) -> CleanFirmDetails | None:
    """Check every field; return the clean details, or None with the reasons in errors."""
    legal_name = _legal_name(details.legal_name, errors)
    uscc = _uscc(details.uscc, errors)
    region_code = _region(details.region_code, errors)
    industry = _industry(details.industry_code, standard, errors)
    figures = _figures(details, standard, industry, errors)
    established_on = _established_on(details.established_on, today, errors)
    if legal_name is None or uscc is None or region_code is None or industry is None:
        return None
    if figures is None or errors:
        return None
    return CleanFirmDetails(legal_name, uscc, region_code, industry, figures, established_on)


def require_clean(clean: CleanFirmDetails | None, errors: FieldErrors) -> CleanFirmDetails:
    """Return the clean details, or refuse the form with every field's reasons."""
    if clean is None or errors:
        raise ValidationFailed(errors)
    return clean


def uscc_format_message(error: UsccFormatError, typed: str) -> str:
    """Say in the reader's language what is wrong with a code, naming the position."""
    if error.code == "length":
        return str(
            _(
                "The code must be 18 characters long; you entered %(count)d.",
                count=len(typed.strip()),
            )
        )
    messages: dict[str, str] = {
        "charset": _("use a digit or a capital letter other than I, O, S, V and Z"),
        "region_digits": _("positions 3 to 8 are the region code and must be digits"),
        "org_check": _("the organization code check character does not match positions 9 to 16"),
    }
    reason = messages.get(error.code, error.reason)
    if error.position is None:
        return reason
    return str(_("Position %(position)d: %(reason)s.", position=error.position, reason=reason))


def _legal_name(raw: str, errors: FieldErrors) -> str | None:
    name = " ".join(raw.split())
    if not name:
        errors.add("legal_name", _("Enter the firm's legal name."))
        return None
    if not LEGAL_NAME_MIN <= len(name) <= LEGAL_NAME_MAX:
        errors.add(
            "legal_name",
            _(
                "The legal name must be %(low)d to %(high)d characters long.",
                low=LEGAL_NAME_MIN,
                high=LEGAL_NAME_MAX,
            ),
        )
        return None
    return name


def _uscc(raw: str, errors: FieldErrors) -> UsccCheck | None:
    if not raw.strip():
        errors.add("uscc", _("Enter the unified social credit code."))
        return None
    try:
        return check_uscc(raw)
    except UsccFormatError as error:
        errors.add("uscc", uscc_format_message(error, raw))
        return None


def _region(raw: str, errors: FieldErrors) -> str | None:
    code = raw.strip()
    if not code:
        errors.add("region_code", _("Choose the region the firm is registered in."))
        return None
    if region_by_code(code) is None:
        errors.add("region_code", _("Choose a region from the list."))
        return None
    return code


def _industry(raw: str, standard: SizeStandard, errors: FieldErrors) -> IndustryRule | None:
    code = raw.strip()
    if not code:
        errors.add("industry_code", _("Choose the firm's industry."))
        return None
    try:
        return standard.industry(code)
    except UnknownIndustry:
        errors.add("industry_code", _("Choose an industry from the list."))
        return None


def _figures(
    details: FirmDetails,
    standard: SizeStandard,
    industry: IndustryRule | None,
    errors: FieldErrors,
) -> FirmFigures | None:
    staff = _staff(details.staff, errors)
    revenue = _wan(details.revenue_wan, "revenue_wan", errors)
    assets = _wan(details.assets_wan, "assets_wan", errors)
    if industry is None:
        return None
    typed = {"staff": details.staff, "revenue": details.revenue_wan, "assets": details.assets_wan}
    missing = False
    for indicator in required_indicators(standard, industry.code):
        if not typed[indicator].strip():
            errors.add(FIGURE_FIELDS[indicator], _("Required for the firm's industry."))
            missing = True
    if missing:
        return None
    return FirmFigures(staff=staff, revenue_wan=revenue, assets_wan=assets)


def _staff(raw: str, errors: FieldErrors) -> int | None:
    if not raw.strip():
        return None
    try:
        value = parse_decimal(raw)
    except ValueError:
        value = None
    if value is None or value != value.to_integral_value():
        errors.add("staff", _("Enter the number of staff as a whole number, e.g. 80."))
        return None
    if value < 0:
        errors.add("staff", _("The number of staff cannot be negative."))
        return None
    if value > STAFF_MAX:
        errors.add("staff", _("The number of staff is too large."))
        return None
    return int(value)


def _wan(raw: str, field: str, errors: FieldErrors) -> Decimal | None:
    if not raw.strip():
        return None
    try:
        value = parse_decimal(raw)
    except ValueError:
        errors.add(field, _("Enter an amount in 万元 (ten thousand yuan), e.g. 600 or 12.5."))
        return None
    if value < 0:
        errors.add(field, _("The amount cannot be negative."))
        return None
    if value > WAN_MAX:
        errors.add(field, _("The amount is too large."))
        return None
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -WAN_PLACES:
        errors.add(field, _("Use at most %(places)d decimal places.", places=WAN_PLACES))
        return None
    return value


def _established_on(raw: str, today: date, errors: FieldErrors) -> date | None:
    if not raw.strip():
        return None
    try:
        value = date.fromisoformat(raw.strip())
    except ValueError:
        errors.add("established_on", _("Enter the date as YYYY-MM-DD."))
        return None
    if value > today:
        errors.add("established_on", _("The date of establishment cannot be in the future."))
        return None
    return value
