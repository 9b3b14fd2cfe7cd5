"""Classify firms as large, medium, small or micro under an effective-dated SME size standard."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

Indicator = Literal["staff", "revenue", "assets"]
INDICATORS: tuple[Indicator, ...] = ("staff", "revenue", "assets")
_INDICATOR_BY_NAME: dict[str, Indicator] = {name: name for name in INDICATORS}

_STANDARD_KEYS = frozenset({"id", "name", "valid_from", "valid_to", "industries"})
_INDUSTRY_KEYS = frozenset({"code", "name_zh", "name_en", "scope", "indicators"})
_THRESHOLD_KEYS = frozenset({"indicator", "ceiling", "medium", "small"})


class SizeClass(StrEnum):
    """The size class of a firm; everything but LARGE is an SME."""

    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    MICRO = "micro"


_TIERS_LOW_TO_HIGH = (SizeClass.MICRO, SizeClass.SMALL, SizeClass.MEDIUM, SizeClass.LARGE)


class UnknownIndustry(KeyError):
    """The standard has no row for this industry code."""

    def __init__(self, industry_code: str) -> None:
        super().__init__(industry_code)
        self.industry_code = industry_code

    def __str__(self) -> str:
        return f"unknown industry code {self.industry_code!r}"


class MissingFigure(ValueError):
    """The industry's row needs a figure the firm did not give."""

    def __init__(self, indicator: Indicator, industry_code: str | None = None) -> None:
        self.indicator = indicator
        self.industry_code = industry_code
        where = f" for industry {industry_code!r}" if industry_code else ""
        super().__init__(f"{indicator} is required{where}")


@dataclass(frozen=True)
class Threshold:
    """One indicator of a row: the SME ceiling and the medium and small lower limits."""

    indicator: Indicator
    ceiling: Decimal
    medium: Decimal
    small: Decimal

    def tier_reached(self, value: Decimal) -> SizeClass:
        """Return the tier a figure reaches on this indicator alone."""
        if value >= self.ceiling:
            return SizeClass.LARGE
        if value >= self.medium:
            return SizeClass.MEDIUM
        if value >= self.small:
            return SizeClass.SMALL
        return SizeClass.MICRO


@dataclass(frozen=True)
class IndustryRule:
    """One row of a standard: an industry and the indicators it is sized by."""

    code: str
    name_zh: str
    name_en: str
    indicators: tuple[Threshold, ...]
    scope: str | None = None


@dataclass(frozen=True)
class SizeStandard:
    """A published size standard and the dates [valid_from, valid_to) it is in force."""

    id: str
    name: str
    valid_from: date
    valid_to: date | None
    industries: Mapping[str, IndustryRule] = field(hash=False)

    def in_force_on(self, on: date) -> bool:
        """Return whether this standard applies on the given date."""
        return self.valid_from <= on and (self.valid_to is None or on < self.valid_to)

    def industry(self, industry_code: str) -> IndustryRule:
        """Return the row for an industry code, or raise UnknownIndustry."""
        try:
            return self.industries[industry_code]
        except KeyError:
            raise UnknownIndustry(industry_code) from None


@dataclass(frozen=True)
class FirmFigures:
    """What a firm reports: staff in persons, revenue and total assets in 万元."""

    staff: int | None = None
    revenue_wan: Decimal | None = None
    assets_wan: Decimal | None = None

    def value_of(self, indicator: Indicator) -> int | Decimal | None:
        """Return the reported figure for an indicator, or None if it was not given."""
        values = {"staff": self.staff, "revenue": self.revenue_wan, "assets": self.assets_wan}
        return values[indicator]


def classify(standard: SizeStandard, industry_code: str, figures: FirmFigures) -> SizeClass:
    """Return the lowest tier any of the row's indicators reaches."""
    rule = standard.industry(industry_code)
    _require_sane_figures(figures)
    tiers = [t.tier_reached(_required_figure(figures, t.indicator, rule)) for t in rule.indicators]
    return min(tiers, key=_TIERS_LOW_TO_HIGH.index)


def required_indicators(standard: SizeStandard, industry_code: str) -> tuple[Indicator, ...]:
    """Return the indicators an industry's row needs, in the order the standard lists them."""
    return tuple(t.indicator for t in standard.industry(industry_code).indicators)


def standard_in_force(standards: Iterable[SizeStandard], on: date) -> SizeStandard:
    """Return the one standard in force on a date; raise LookupError if there is none."""
    matches = [s for s in standards if s.in_force_on(on)]
    if not matches:
        raise LookupError(f"no SME size standard is in force on {on.isoformat()}")
    if len(matches) > 1:
        ids = ", ".join(s.id for s in matches)
        raise ValueError(f"size standards {ids} overlap on {on.isoformat()}")
    return matches[0]


def default_standard_path() -> Path:
    """Return the path of the bundled 2011 MIIT standard."""
    return Path(__file__).parent / "data" / "sme_size_standard_2011.json"


def load_standard_file(path: str | os.PathLike[str]) -> SizeStandard:
    """Read and validate a standard from a JSON file."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8") as file:
            return parse_standard(json.load(file, parse_float=Decimal))
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from error


def parse_standard(data: Mapping[str, Any]) -> SizeStandard:
    """Build a standard from its JSON shape, raising ValueError on anything malformed."""
    _require_keys(data, "standard", _STANDARD_KEYS)
    valid_from = _date(data["valid_from"], "valid_from")
    valid_to = None if data["valid_to"] is None else _date(data["valid_to"], "valid_to")
    if valid_to is not None and valid_to <= valid_from:
        raise ValueError("valid_to: must be after valid_from")
    return SizeStandard(
        id=_text(data["id"], "id"),
        name=_text(data["name"], "name"),
        valid_from=valid_from,
        valid_to=valid_to,
        industries=MappingProxyType(_industries(data["industries"])),
    )


def _required_figure(figures: FirmFigures, indicator: Indicator, rule: IndustryRule) -> Decimal:
    value = figures.value_of(indicator)
    if value is None:
        raise MissingFigure(indicator, rule.code)
    return Decimal(value)


def _require_sane_figures(figures: FirmFigures) -> None:
    for indicator in INDICATORS:
        value = figures.value_of(indicator)
        if value is None:
            continue
        # bool is an int and float is inexact; neither is a figure anyone meant to report.
        if isinstance(value, bool | float):
            raise TypeError(f"{indicator} must be an int or a Decimal, got {value!r}")
        if not Decimal(value).is_finite() or value < 0:
            raise ValueError(f"{indicator} must be a finite number not below 0, got {value}")


def _industries(raw: object) -> dict[str, IndustryRule]:
    rows = _nonempty_list(raw, "industries")
    rules: dict[str, IndustryRule] = {}
    for index, row in enumerate(rows):
        rule = _industry(row, f"industries[{index}]")
        if rule.code in rules:
            raise ValueError(f"industries[{index}].code: duplicate industry code {rule.code!r}")
        rules[rule.code] = rule
    return rules


def _industry(raw: object, where: str) -> IndustryRule:
    row = _require_keys(raw, where, _INDUSTRY_KEYS, optional=frozenset({"scope"}))
    scope = row.get("scope")
    return IndustryRule(
        code=_text(row["code"], f"{where}.code"),
        name_zh=_text(row["name_zh"], f"{where}.name_zh"),
        name_en=_text(row["name_en"], f"{where}.name_en"),
        indicators=_thresholds(row["indicators"], f"{where}.indicators"),
        scope=None if scope is None else _text(scope, f"{where}.scope"),
    )


def _thresholds(raw: object, where: str) -> tuple[Threshold, ...]:
    thresholds = tuple(
        _threshold(item, f"{where}[{index}]")
        for index, item in enumerate(_nonempty_list(raw, where))
    )
    names = [t.indicator for t in thresholds]
    if len(set(names)) != len(names):
        raise ValueError(f"{where}: an indicator is listed twice in {names}")
    return thresholds


def _threshold(raw: object, where: str) -> Threshold:
    item = _require_keys(raw, where, _THRESHOLD_KEYS)
    name = item["indicator"]
    if name not in _INDICATOR_BY_NAME:
        raise ValueError(f"{where}.indicator: expected one of {INDICATORS}, got {name!r}")
    threshold = Threshold(
        indicator=_INDICATOR_BY_NAME[name],
        ceiling=_amount(item["ceiling"], f"{where}.ceiling"),
        medium=_amount(item["medium"], f"{where}.medium"),
        small=_amount(item["small"], f"{where}.small"),
    )
    if not 0 < threshold.small < threshold.medium < threshold.ceiling:
        raise ValueError(f"{where}: expected 0 < small < medium < ceiling")
    return threshold


def _require_keys(
    raw: object, where: str, keys: frozenset[str], *, optional: frozenset[str] = frozenset()
) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected an object, got {type(raw).__name__}")
    missing = sorted(keys - optional - raw.keys())
    # Unknown keys are refused so that a misspelt "valid_to" cannot silently mean "no end".
    unknown = sorted(set(raw.keys()) - keys)
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    if unknown:
        raise ValueError(f"{where}: unknown {', '.join(map(str, unknown))}")
    return raw


def _nonempty_list(raw: object, where: str) -> list[Any]:
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where}: expected a non-empty list")
    return raw


def _text(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"{where}: expected a non-empty string, got {raw!r}")
    return raw


def _date(raw: object, where: str) -> date:
    if not isinstance(raw, str):
        raise ValueError(f"{where}: expected an ISO date string, got {raw!r}")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{where}: expected an ISO date (YYYY-MM-DD), got {raw!r}") from None


def _amount(raw: object, where: str) -> Decimal:
    # A float here means the JSON was read without parse_float=Decimal and may already be inexact.
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        raise ValueError(f"{where}: expected an integer or a Decimal, got {raw!r}")
    amount = Decimal(raw)
    if not amount.is_finite():
        raise ValueError(f"{where}: expected a finite number, got {raw!r}")
    return amount
