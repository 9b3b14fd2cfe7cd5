"""Format and parse invoice numbers: YS-<year>-<sequence>, gapless within each year.

The sequence is zero-padded to six digits and simply grows a digit past 999999
("YS-2026-1000000"). Text order matches number order only up to 999999 in a year, so
order invoices by the stored (year, sequence), never by the number's text. Each number
has exactly one spelling: parse refuses extra leading zeros, so format(parse(t)) == t.
"""

from __future__ import annotations

import re

PREFIX = "YS"
SEQUENCE_DIGITS = 6
MIN_YEAR = 1000
MAX_YEAR = 9999

_NUMBER = re.compile(r"YS-(?P<year>[0-9]{4})-(?P<sequence>[0-9]+)")


def _check(year: int, sequence: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise ValueError(f"year must be between {MIN_YEAR} and {MAX_YEAR}")
    if sequence < 1:
        raise ValueError("sequence must be at least 1")


def format_invoice_number(year: int, sequence: int) -> str:
    """Return the invoice number for the sequence-th invoice of a year."""
    _check(year, sequence)
    return f"{PREFIX}-{year:04d}-{sequence:0{SEQUENCE_DIGITS}d}"


def parse_invoice_number(text: str) -> tuple[int, int]:
    """Return (year, sequence) of an invoice number; raise ValueError saying what is wrong."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        raise ValueError(f"an invoice number looks like {PREFIX}-2026-000001")
    digits = match["sequence"]
    if len(digits) < SEQUENCE_DIGITS:
        raise ValueError(f"the sequence must have at least {SEQUENCE_DIGITS} digits")
    if len(digits) > SEQUENCE_DIGITS and digits.startswith("0"):
        raise ValueError("the sequence has more leading zeros than its padding")
    year, sequence = int(match["year"]), int(digits)
    _check(year, sequence)
    return year, sequence
