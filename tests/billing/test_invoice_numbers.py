"""Invoice numbers: YS-<year>-<sequence>."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing.invoice_numbers import format_invoice_number, parse_invoice_number


class TestFormat:
    def test_pads_the_sequence_to_six_digits(self) -> None:
        assert format_invoice_number(2026, 1) == "YS-2026-000001"
        assert format_invoice_number(2026, 999_999) == "YS-2026-999999"

    def test_grows_past_six_digits(self) -> None:
        assert format_invoice_number(2026, 1_000_000) == "YS-2026-1000000"

    def test_text_order_matches_sequence_order_up_to_999999(self) -> None:
        numbers = [format_invoice_number(2026, s) for s in (1, 9, 10, 99_999, 100_000, 999_999)]
        assert sorted(numbers) == numbers

    @pytest.mark.parametrize(
        ("year", "sequence", "reason"),
        [
            (2026, 0, "sequence must be at least 1"),
            (2026, -5, "sequence must be at least 1"),
            (999, 1, "year must be between 1000 and 9999"),
            (10_000, 1, "year must be between 1000 and 9999"),
        ],
    )
    def test_refuses_bad_parts(self, year: int, sequence: int, reason: str) -> None:
        with pytest.raises(ValueError, match=reason):
            format_invoice_number(year, sequence)


class TestParse:
    def test_reads_year_and_sequence(self) -> None:
        assert parse_invoice_number("YS-2026-000042") == (2026, 42)
        assert parse_invoice_number("YS-2027-1234567") == (2027, 1_234_567)

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("", "looks like YS-2026-000001"),
            ("YS-2026-", "looks like YS-2026-000001"),
            ("ys-2026-000001", "looks like YS-2026-000001"),
            ("INV-2026-000001", "looks like YS-2026-000001"),
            (" YS-2026-000001", "looks like YS-2026-000001"),
            ("YS-2026-000001\n", "looks like YS-2026-000001"),
            ("YS-26-000001", "looks like YS-2026-000001"),
            ("YS-2026-00000a", "looks like YS-2026-000001"),
            ("YS-２０２６-000001", "looks like YS-2026-000001"),  # full-width digits
            ("YS-2026-٠٠٠٠٠١", "looks like YS-2026-000001"),  # Arabic-Indic digits
            ("YS-2026-+00001", "looks like YS-2026-000001"),
            ("YS-2026-1", "at least 6 digits"),
            ("YS-2026-00001", "at least 6 digits"),
            ("YS-2026-0000001", "more leading zeros"),
            ("YS-2026-000000", "sequence must be at least 1"),
            ("YS-0999-000001", "year must be between"),
        ],
    )
    def test_refuses_malformed_numbers_with_a_reason(self, text: str, reason: str) -> None:
        with pytest.raises(ValueError, match=reason):
            parse_invoice_number(text)


years = st.integers(min_value=1000, max_value=9999)
sequences = st.integers(min_value=1, max_value=10**12)


@given(years, sequences)
def test_parse_reads_back_what_format_wrote(year: int, sequence: int) -> None:
    assert parse_invoice_number(format_invoice_number(year, sequence)) == (year, sequence)


@given(st.text(alphabet="YS-0123456789", max_size=20))
def test_every_accepted_text_is_the_one_spelling_of_its_number(text: str) -> None:
    try:
        year, sequence = parse_invoice_number(text)
    except ValueError:
        return
    assert format_invoice_number(year, sequence) == text


@given(years, st.integers(1, 999_999), st.integers(1, 999_999))
def test_text_order_is_sequence_order_within_six_digits(year: int, a: int, b: int) -> None:
    assert (format_invoice_number(year, a) < format_invoice_number(year, b)) == (a < b)
