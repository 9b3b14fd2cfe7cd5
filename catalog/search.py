"""Pure helpers of storefront search: clean a visitor's query, build a LIKE pattern."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

MAX_QUERY_LENGTH = 100
LIKE_ESCAPE = "\\"


def clean_query(raw: str | None) -> str:
    """Collapse whitespace (full-width spaces too) and cut an overlong query."""
    return " ".join((raw or "").replace("\u3000", " ").split())[:MAX_QUERY_LENGTH]


def like_pattern(query: str) -> str:
    """Return a LIKE pattern matching the query anywhere, its % and _ taken literally."""
    escaped = (
        query.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


def page_count(total: int, page_size: int) -> int:
    """Return how many pages total items fill (at least one, for an empty result)."""
    return max(1, math.ceil(total / page_size))


def page_number(raw: str | None) -> int:
    """Read a page number from the query string; anything but a positive integer is page 1."""
    try:
        number = int(raw or "1")
    except ValueError:
        return 1
    return max(number, 1)


def parse_whole_number(raw: str) -> int | None:
    """Return a non-negative whole number written by a person, or None if it is not one."""
    cleaned = raw.replace(",", "").replace("，", "").strip()
    return int(cleaned) if cleaned.isascii() and cleaned.isdigit() else None


def parse_quantity(raw: str) -> Decimal | None:
    """Return a finite decimal quantity written by a person, or None if it is not a number."""
    cleaned = raw.replace(",", "").replace("，", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
