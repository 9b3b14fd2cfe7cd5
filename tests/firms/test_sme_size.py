"""Tests for the SME size classifier and the 2011 MIIT standard it reads as data."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.firms.sme_size import (
    FirmFigures,
    Indicator,
    IndustryRule,
    MissingFigure,
    SizeClass,
    SizeStandard,
    UnknownIndustry,
    classify,
    default_standard_path,
    load_standard_file,
    parse_standard,
    required_indicators,
    standard_in_force,
)

# The table of 工信部联企业〔2011〕300号, typed in from the reference independently of the JSON:
# industry code -> (Chinese name, {indicator: (SME ceiling, medium limit, small limit)}).
REFERENCE_TABLE: dict[str, tuple[str, dict[str, tuple[int, int, int]]]] = {
    "agriculture": ("农、林、牧、渔业", {"revenue": (20000, 500, 50)}),
    "industry": ("工业", {"staff": (1000, 300, 20), "revenue": (40000, 2000, 300)}),
    "construction": ("建筑业", {"revenue": (80000, 6000, 300), "assets": (80000, 5000, 300)}),
    "wholesale": ("批发业", {"staff": (200, 20, 5), "revenue": (40000, 5000, 1000)}),
    "retail": ("零售业", {"staff": (300, 50, 10), "revenue": (20000, 500, 100)}),
    "transport": ("交通运输业", {"staff": (1000, 300, 20), "revenue": (30000, 3000, 200)}),
    "warehousing": ("仓储业", {"staff": (200, 100, 20), "revenue": (30000, 1000, 100)}),
    "postal": ("邮政业", {"staff": (1000, 300, 20), "revenue": (30000, 2000, 100)}),
    "accommodation": ("住宿业", {"staff": (300, 100, 10), "revenue": (10000, 2000, 100)}),
    "catering": ("餐饮业", {"staff": (300, 100, 10), "revenue": (10000, 2000, 100)}),
    "information_transmission": (
        "信息传输业",
        {"staff": (2000, 100, 10), "revenue": (100000, 1000, 100)},
    ),
    "software_it": (
        "软件和信息技术服务业",
        {"staff": (300, 100, 10), "revenue": (10000, 1000, 50)},
    ),
    "real_estate_development": (
        "房地产开发经营",
        {"revenue": (200000, 1000, 100), "assets": (10000, 5000, 2000)},
    ),
    "property_management": ("物业管理", {"staff": (1000, 300, 100), "revenue": (5000, 1000, 500)}),
    "leasing_business_services": (
        "租赁和商务服务业",
        {"staff": (300, 100, 10), "assets": (120000, 8000, 100)},
    ),
    "other": ("其他未列明行业", {"staff": (300, 100, 10)}),
}

STANDARD = load_standard_file(default_standard_path())
RULES = list(STANDARD.industries.values())
SINGLE_INDICATOR_CODES = [rule.code for rule in RULES if len(rule.indicators) == 1]

# The finest step each figure can move by: one person, or one fen (0.000001 万元), which is what
# the firm profile stores; "one below" a limit therefore means the nearest value that is below it.
STEP: dict[str, Decimal] = {
    "staff": Decimal(1),
    "revenue": Decimal("0.000001"),
    "assets": Decimal("0.000001"),
}
TIER_AT = {"ceiling": SizeClass.LARGE, "medium": SizeClass.MEDIUM, "small": SizeClass.SMALL}
TIER_BELOW = {"ceiling": SizeClass.MEDIUM, "medium": SizeClass.SMALL, "small": SizeClass.MICRO}
LOW_TO_HIGH = [SizeClass.MICRO, SizeClass.SMALL, SizeClass.MEDIUM, SizeClass.LARGE]


def figures_from(values: dict[str, Decimal]) -> FirmFigures:
    """Build figures from indicator values, leaving out any indicator not given."""
    staff = values.get("staff")
    return FirmFigures(
        staff=None if staff is None else int(staff),
        revenue_wan=values.get("revenue"),
        assets_wan=values.get("assets"),
    )


def value_of(figures: FirmFigures, indicator: str) -> Decimal:
    """Return a figure the test knows is present, as a Decimal."""
    value = {"staff": figures.staff, "revenue": figures.revenue_wan, "assets": figures.assets_wan}
    found = value[indicator]
    assert found is not None
    return Decimal(found)


def rank(size: SizeClass) -> int:
    """Return how high a class is: micro 0 up to large 3."""
    return LOW_TO_HIGH.index(size)


def raw_standard() -> dict[str, Any]:
    """Return a fresh copy of the bundled standard's JSON."""
    with default_standard_path().open(encoding="utf-8") as file:
        data: dict[str, Any] = json.load(file, parse_float=Decimal)
    return copy.deepcopy(data)


# --- the data matches the published table -----------------------------------------------------


def test_the_bundled_standard_is_the_2011_miit_standard_still_in_force() -> None:
    assert STANDARD.id == "MIIT-2011-300"
    assert STANDARD.valid_from == date(2011, 6, 18)
    assert STANDARD.valid_to is None


def test_the_bundled_standard_has_exactly_the_sixteen_rows_of_the_table() -> None:
    assert list(STANDARD.industries) == list(REFERENCE_TABLE)


@pytest.mark.parametrize("code", list(REFERENCE_TABLE))
def test_each_row_of_the_json_matches_the_published_table(code: str) -> None:
    name_zh, expected = REFERENCE_TABLE[code]
    rule = STANDARD.industries[code]

    actual = {t.indicator: (t.ceiling, t.medium, t.small) for t in rule.indicators}

    assert rule.name_zh == name_zh
    assert actual == {k: tuple(map(Decimal, v)) for k, v in expected.items()}
    assert list(actual) == list(expected)


def test_the_standard_cannot_be_changed_once_loaded() -> None:
    with pytest.raises(TypeError):
        STANDARD.industries["finance"] = STANDARD.industries["other"]  # type: ignore[index]


# --- every limit of every row, isolated -------------------------------------------------------


def boundary_cases() -> Iterator[Any]:
    """Yield one case per row, indicator, limit and side of the limit."""
    for rule in RULES:
        for threshold in rule.indicators:
            for limit in ("ceiling", "medium", "small"):
                for side, offset in (("one_below", -1), ("at", 0), ("one_above", 1)):
                    yield pytest.param(
                        rule,
                        threshold.indicator,
                        limit,
                        offset,
                        id=f"{rule.code}-{threshold.indicator}-{limit}-{side}",
                    )


@pytest.mark.parametrize(("rule", "indicator", "limit", "offset"), list(boundary_cases()))
def test_each_limit_of_each_row_is_reached_at_the_limit_and_not_one_step_below(
    rule: IndustryRule, indicator: Indicator, limit: str, offset: int
) -> None:
    # The row's other indicators sit at their ceiling, so only the tested one can lower the class.
    values: dict[str, Decimal] = {t.indicator: t.ceiling for t in rule.indicators}
    threshold = next(t for t in rule.indicators if t.indicator == indicator)
    values[indicator] = getattr(threshold, limit) + offset * STEP[indicator]

    expected = TIER_BELOW[limit] if offset < 0 else TIER_AT[limit]

    assert classify(STANDARD, rule.code, figures_from(values)) == expected


# --- worked examples --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("staff", "revenue", "expected"),
    [
        (80, "600", SizeClass.SMALL),
        (350, "12000", SizeClass.LARGE),
        (8, "2000", SizeClass.MICRO),
    ],
)
def test_the_worked_software_examples_of_the_reference_hold(
    staff: int, revenue: str, expected: SizeClass
) -> None:
    figures = FirmFigures(staff=staff, revenue_wan=Decimal(revenue))

    assert classify(STANDARD, "software_it", figures) == expected


def test_a_firm_at_the_ceiling_on_one_indicator_only_is_still_an_sme() -> None:
    figures = FirmFigures(staff=1500, revenue_wan=Decimal(30000))

    assert classify(STANDARD, "industry", figures) == SizeClass.MEDIUM


# --- properties -------------------------------------------------------------------------------


def limits_of(indicator: str) -> list[Decimal]:
    """Return every limit any row sets on an indicator."""
    return sorted(
        {
            value
            for rule in RULES
            for t in rule.indicators
            if t.indicator == indicator
            for value in (t.ceiling, t.medium, t.small)
        }
    )


def near_limits(indicator: str) -> st.SearchStrategy[Decimal]:
    """Draw values on and just beside the limits, where classification changes."""
    step = STEP[indicator]
    return st.builds(
        lambda limit, offset: max(limit + offset * step, Decimal(0)),
        st.sampled_from(limits_of(indicator)),
        st.integers(min_value=-1, max_value=1),
    )


staff_counts = st.one_of(st.integers(min_value=0, max_value=5000), near_limits("staff").map(int))
amounts = st.one_of(
    st.decimals(min_value=0, max_value=300000, places=6),
    near_limits("revenue"),
    near_limits("assets"),
)
firm_figures = st.builds(FirmFigures, staff=staff_counts, revenue_wan=amounts, assets_wan=amounts)
industry_codes = st.sampled_from(list(STANDARD.industries))


def lowest_tier_reached(rule: IndustryRule, figures: FirmFigures) -> SizeClass:
    """Classify the simple way: each indicator's tier, then the lowest of them."""
    reached = []
    for t in rule.indicators:
        value = value_of(figures, t.indicator)
        if value >= t.ceiling:
            reached.append(SizeClass.LARGE)
        elif value >= t.medium:
            reached.append(SizeClass.MEDIUM)
        elif value >= t.small:
            reached.append(SizeClass.SMALL)
        else:
            reached.append(SizeClass.MICRO)
    for tier in LOW_TO_HIGH:
        if tier in reached:
            return tier
    raise AssertionError("no indicator reached a tier")


def class_by_both_limits(rule: IndustryRule, figures: FirmFigures) -> SizeClass:
    """Classify as the reference first reads a row: a tier needs every indicator at its limit."""
    values = [(value_of(figures, t.indicator), t) for t in rule.indicators]
    if all(v >= t.ceiling for v, t in values):
        return SizeClass.LARGE
    if all(v >= t.medium for v, t in values):
        return SizeClass.MEDIUM
    if all(v >= t.small for v, t in values):
        return SizeClass.SMALL
    return SizeClass.MICRO


@given(industry_codes, firm_figures)
def test_the_class_is_the_lowest_tier_any_indicator_reaches(
    code: str, figures: FirmFigures
) -> None:
    rule = STANDARD.industries[code]

    assert classify(STANDARD, code, figures) == lowest_tier_reached(rule, figures)


@given(industry_codes, firm_figures)
def test_the_class_agrees_with_the_either_below_or_both_above_reading_of_a_row(
    code: str, figures: FirmFigures
) -> None:
    rule = STANDARD.industries[code]

    assert classify(STANDARD, code, figures) == class_by_both_limits(rule, figures)


@given(
    industry_codes,
    firm_figures,
    st.integers(min_value=0, max_value=3000),
    st.decimals(min_value=0, max_value=300000, places=6),
    st.sampled_from(["staff", "revenue", "assets"]),
)
def test_raising_any_figure_never_lowers_the_class(
    code: str, figures: FirmFigures, more_staff: int, more_wan: Decimal, indicator: str
) -> None:
    if indicator == "staff":
        raised = replace(figures, staff=int(value_of(figures, "staff")) + more_staff)
    elif indicator == "revenue":
        raised = replace(figures, revenue_wan=value_of(figures, "revenue") + more_wan)
    else:
        raised = replace(figures, assets_wan=value_of(figures, "assets") + more_wan)

    before = classify(STANDARD, code, figures)
    after = classify(STANDARD, code, raised)

    assert rank(after) >= rank(before)


@given(st.sampled_from(SINGLE_INDICATOR_CODES), firm_figures, firm_figures)
def test_single_indicator_rows_ignore_the_other_figures(
    code: str, figures: FirmFigures, others: FirmFigures
) -> None:
    (indicator,) = required_indicators(STANDARD, code)
    only_that = figures_from({indicator: value_of(figures, indicator)})
    mixed = figures_from(
        {name: value_of(others, name) for name in ("staff", "revenue", "assets")}
        | {indicator: value_of(figures, indicator)}
    )

    assert classify(STANDARD, code, mixed) == classify(STANDARD, code, only_that)


@given(industry_codes, firm_figures)
def test_figures_a_row_does_not_use_may_be_left_out(code: str, figures: FirmFigures) -> None:
    needed = figures_from(
        {name: value_of(figures, name) for name in required_indicators(STANDARD, code)}
    )

    assert classify(STANDARD, code, needed) == classify(STANDARD, code, figures)


def test_the_single_indicator_rows_are_agriculture_and_other() -> None:
    assert SINGLE_INDICATOR_CODES == ["agriculture", "other"]


# --- which figures a row needs, and bad figures -----------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("software_it", ("staff", "revenue")),
        ("construction", ("revenue", "assets")),
        ("leasing_business_services", ("staff", "assets")),
        ("agriculture", ("revenue",)),
        ("other", ("staff",)),
    ],
)
def test_required_indicators_lists_what_the_row_needs_in_table_order(
    code: str, expected: tuple[str, ...]
) -> None:
    assert required_indicators(STANDARD, code) == expected


def missing_figure_cases() -> Iterator[Any]:
    """Yield every row with each of its indicators in turn left out."""
    for rule in RULES:
        for t in rule.indicators:
            yield pytest.param(rule, t.indicator, id=f"{rule.code}-{t.indicator}")


@pytest.mark.parametrize(("rule", "indicator"), list(missing_figure_cases()))
def test_a_missing_figure_the_row_needs_is_named(rule: IndustryRule, indicator: Indicator) -> None:
    values: dict[str, Decimal] = {
        t.indicator: t.ceiling for t in rule.indicators if t.indicator != indicator
    }

    with pytest.raises(MissingFigure) as caught:
        classify(STANDARD, rule.code, figures_from(values))

    assert caught.value.indicator == indicator
    assert indicator in str(caught.value)


def test_a_missing_figure_is_a_value_error() -> None:
    assert issubclass(MissingFigure, ValueError)


def test_an_unknown_industry_is_a_key_error_naming_the_code() -> None:
    with pytest.raises(KeyError) as caught:
        classify(STANDARD, "finance", FirmFigures(staff=10))

    assert isinstance(caught.value, UnknownIndustry)
    assert str(caught.value) == "unknown industry code 'finance'"


def test_required_indicators_of_an_unknown_industry_raise_unknown_industry() -> None:
    with pytest.raises(UnknownIndustry):
        required_indicators(STANDARD, "finance")


@pytest.mark.parametrize(
    ("figures", "named"),
    [
        (FirmFigures(staff=-1, revenue_wan=Decimal(600)), "staff"),
        (FirmFigures(staff=80, revenue_wan=Decimal("-0.01")), "revenue"),
        (FirmFigures(staff=80, revenue_wan=Decimal(600), assets_wan=Decimal(-5)), "assets"),
        (FirmFigures(staff=80, revenue_wan=Decimal("NaN")), "revenue"),
        (FirmFigures(staff=80, revenue_wan=Decimal("Infinity")), "revenue"),
    ],
)
def test_a_negative_or_non_finite_figure_is_refused(figures: FirmFigures, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        classify(STANDARD, "software_it", figures)


def test_a_float_figure_is_refused() -> None:
    figures = FirmFigures(staff=80, revenue_wan=600.0)  # type: ignore[arg-type]

    with pytest.raises(TypeError, match="revenue"):
        classify(STANDARD, "software_it", figures)


def test_zero_figures_make_a_micro_firm() -> None:
    assert classify(STANDARD, "industry", FirmFigures(0, Decimal(0), Decimal(0))) == "micro"


# --- which standard is in force ---------------------------------------------------------------

REVISED = replace(STANDARD, id="REVISED-2030", valid_from=date(2030, 1, 1), valid_to=None)
OLD = replace(STANDARD, valid_to=date(2030, 1, 1))


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (date(2011, 6, 18), OLD),
        (date(2020, 5, 1), OLD),
        (date(2029, 12, 31), OLD),
        (date(2030, 1, 1), REVISED),
        (date(2099, 1, 1), REVISED),
    ],
)
def test_the_standard_in_force_is_the_one_whose_half_open_range_holds_the_date(
    on: date, expected: SizeStandard
) -> None:
    assert standard_in_force([OLD, REVISED], on) == expected


def test_no_standard_is_in_force_before_the_first_one_starts() -> None:
    with pytest.raises(LookupError, match="2011-06-17"):
        standard_in_force([OLD, REVISED], date(2011, 6, 17))


def test_no_standard_is_in_force_when_there_are_none() -> None:
    with pytest.raises(LookupError):
        standard_in_force([], date(2020, 1, 1))


def test_overlapping_standards_are_refused() -> None:
    with pytest.raises(ValueError, match="overlap"):
        standard_in_force([STANDARD, REVISED], date(2030, 1, 1))


def test_standard_in_force_accepts_any_iterable() -> None:
    assert standard_in_force(iter([OLD, REVISED]), date(2012, 1, 1)) is OLD


def test_the_bundled_standard_is_in_force_today_and_not_the_day_before_it_started() -> None:
    assert STANDARD.in_force_on(date(2025, 1, 1))
    assert not STANDARD.in_force_on(STANDARD.valid_from - timedelta(days=1))


# --- parsing and loading ----------------------------------------------------------------------


def test_parsing_the_raw_json_gives_the_loaded_standard() -> None:
    assert parse_standard(raw_standard()) == STANDARD


def set_item(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    """Return an edit that sets the item at a path of keys and indexes."""

    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def delete_item(path: list[Any]) -> Callable[[dict[str, Any]], None]:
    """Return an edit that deletes the item at a path of keys and indexes."""

    def edit(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


def duplicate_first_industry(data: dict[str, Any]) -> None:
    """Append a copy of the first row."""
    data["industries"].append(copy.deepcopy(data["industries"][0]))


def duplicate_first_indicator(data: dict[str, Any]) -> None:
    """List the first row's first indicator twice."""
    indicators = data["industries"][0]["indicators"]
    indicators.append(copy.deepcopy(indicators[0]))


FIRST_LIMIT = ["industries", 0, "indicators", 0]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (delete_item(["id"]), "standard: missing id"),
        (delete_item(["valid_to"]), "standard: missing valid_to"),
        (set_item(["valid_untill"], "2030-01-01"), "standard: unknown valid_untill"),
        (set_item(["name"], ""), "name: expected a non-empty string"),
        (set_item(["valid_from"], "18/06/2011"), "valid_from: expected an ISO date"),
        (set_item(["valid_from"], 20110618), "valid_from: expected an ISO date string"),
        (set_item(["valid_to"], "2011-06-18"), "valid_to: must be after valid_from"),
        (set_item(["industries"], []), "industries: expected a non-empty list"),
        (set_item(["industries", 0], "agriculture"), r"industries\[0\]: expected an object"),
        (set_item(["industries", 2, "name_en"], None), r"industries\[2\].name_en"),
        (set_item(["industries", 0, "scope"], 7), r"industries\[0\].scope"),
        (duplicate_first_industry, "duplicate industry code 'agriculture'"),
        (set_item(["industries", 0, "indicators"], []), r"industries\[0\].indicators: expected"),
        (duplicate_first_indicator, "listed twice"),
        (set_item([*FIRST_LIMIT, "indicator"], "profit"), "indicator: expected one of"),
        (set_item([*FIRST_LIMIT, "ceiling"], 20000.0), "ceiling: expected an integer or a Decimal"),
        (set_item([*FIRST_LIMIT, "medium"], True), "medium: expected an integer or a Decimal"),
        (set_item([*FIRST_LIMIT, "small"], "50"), "small: expected an integer or a Decimal"),
        (set_item([*FIRST_LIMIT, "small"], Decimal("NaN")), "small: expected a finite number"),
        (set_item([*FIRST_LIMIT, "small"], 500), "expected 0 < small < medium < ceiling"),
        (set_item([*FIRST_LIMIT, "small"], 0), "expected 0 < small < medium < ceiling"),
        (set_item([*FIRST_LIMIT, "medium"], 20000), "expected 0 < small < medium < ceiling"),
        (delete_item([*FIRST_LIMIT, "medium"]), r"indicators\[0\]: missing medium"),
    ],
)
def test_a_malformed_standard_is_refused_with_a_message_naming_the_field(
    edit: Callable[[dict[str, Any]], None], message: str
) -> None:
    data = raw_standard()
    edit(data)

    with pytest.raises(ValueError, match=message):
        parse_standard(data)


def test_a_standard_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValueError, match="standard: expected an object"):
        parse_standard([])  # type: ignore[arg-type]


def test_the_scope_of_a_row_is_optional() -> None:
    data = raw_standard()
    del data["industries"][0]["scope"]

    assert parse_standard(data).industries["agriculture"].scope is None


def test_a_decimal_limit_is_kept_exactly(tmp_path: Path) -> None:
    text = default_standard_path().read_text(encoding="utf-8")
    path = tmp_path / "standard.json"
    path.write_text(text.replace('"small": 50}', '"small": 50.5}', 1), encoding="utf-8")

    limit = load_standard_file(path).industries["agriculture"].indicators[0].small

    assert limit == Decimal("50.5")


def test_a_file_that_is_not_json_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{not json", encoding="utf-8")

    with pytest.raises(ValueError, match=r"broken\.json"):
        load_standard_file(path)


def test_a_file_with_a_bad_row_is_refused_naming_the_file_and_the_field(tmp_path: Path) -> None:
    data = raw_standard()
    data["industries"][3]["indicators"][1]["ceiling"] = 10
    path = tmp_path / "standard.json"
    path.write_text(json.dumps(data, default=str, ensure_ascii=False), encoding="utf-8")

    with pytest.raises(ValueError, match=r"standard.json: industries\[3\].indicators\[1\]"):
        load_standard_file(path)
