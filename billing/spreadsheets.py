"""What every spreadsheet the marketplace hands out (CSV or XLSX) does to its text cells."""

from __future__ import annotations

# A cell starting with one of these is read as a formula by Excel and its kin.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def guard_text(text: str) -> str:
    """Keep a spreadsheet from reading a text cell as a formula: prefix an apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text
