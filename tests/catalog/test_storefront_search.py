"""Pure helpers of storefront search and the calculator's number reading."""

from __future__ import annotations

from decimal import Decimal

import pytest

from catalog.search import (
    clean_query,
    like_pattern,
    page_count,
    page_number,
    parse_quantity,
    parse_whole_number,
)


def test_a_query_loses_extra_and_full_width_spaces_and_is_cut_to_a_hundred_characters() -> None:
    assert clean_query("  财务\u3000 云  ") == "财务 云"
    assert clean_query(None) == ""
    assert len(clean_query("字" * 500)) == 100


def test_like_patterns_take_wildcards_and_the_escape_character_literally() -> None:
    assert like_pattern("财务") == "%财务%"
    assert like_pattern("100%_a\\b") == "%100\\%\\_a\\\\b%"


@pytest.mark.parametrize(("raw", "page"), [(None, 1), ("3", 3), ("0", 1), ("-2", 1), ("x", 1)])
def test_a_page_number_is_a_positive_integer_or_the_first_page(raw: str | None, page: int) -> None:
    assert page_number(raw) == page


def test_page_count_is_at_least_one() -> None:
    assert [page_count(n, 24) for n in (0, 1, 24, 25)] == [1, 1, 1, 2]


@pytest.mark.parametrize(
    ("raw", "value"),
    [("5", 5), ("1,000", 1000), (" 12 ", 12), ("-1", None), ("2.5", None), ("５", None)],
)
def test_whole_numbers_are_read_as_people_write_them(raw: str, value: int | None) -> None:
    assert parse_whole_number(raw) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1,100.5", Decimal("1100.5")),
        ("-3", Decimal(-3)),
        ("abc", None),
        ("NaN", None),
        ("inf", None),
    ],
)
def test_quantities_are_finite_decimals(raw: str, value: Decimal | None) -> None:
    assert parse_quantity(raw) == value
