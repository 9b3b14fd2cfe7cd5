"""Tests for the 统一社会信用代码 check (GB 32100 position 18, GB 11714 position 17)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.firms.uscc import (
    CHARSET,
    UsccFormatError,
    check_uscc,
    make_uscc,
    org_code_check_char,
    uscc_check_char,
)

DIGITS = "0123456789"
# The set each position may hold once the check characters are ignored; position 17 can only
# ever be what GB 11714 computes, which is a digit or X.
ALLOWED_AT = {position: CHARSET for position in range(1, 19)}
ALLOWED_AT.update({position: DIGITS for position in range(3, 9)})
ALLOWED_AT[17] = DIGITS + "X"

VALID_EXAMPLES = ["91310110666007217T", "91310115591693856A"]
UNVERIFIED_EXAMPLE = "91310110666007217X"

charset_chars = st.sampled_from(CHARSET)
regions = st.text(alphabet=DIGITS, min_size=6, max_size=6)
org_bodies = st.text(alphabet=CHARSET, min_size=8, max_size=8)


@st.composite
def valid_codes(draw: st.DrawFn) -> str:
    """Draw a fully valid code from random valid parts."""
    return make_uscc(draw(charset_chars), draw(charset_chars), draw(regions), draw(org_bodies))


def replace_at(code: str, position: int, ch: str) -> str:
    """Return the code with the 1-based position replaced by ch."""
    return code[: position - 1] + ch + code[position:]


def format_error(raw: str) -> UsccFormatError:
    """Check raw and return the format error it must raise."""
    with pytest.raises(UsccFormatError) as caught:
        check_uscc(raw)
    return caught.value


@pytest.mark.parametrize("code", VALID_EXAMPLES)
def test_the_reference_examples_are_valid(code: str) -> None:
    assert check_uscc(code).status == "valid"


def test_the_reference_invalid_example_is_accepted_as_unverified() -> None:
    assert check_uscc(UNVERIFIED_EXAMPLE).status == "unverified"


def test_the_reference_example_checks_to_t_at_position_18() -> None:
    assert uscc_check_char("91310110666007217") == "T"


@pytest.mark.parametrize(("body", "check"), [("66600721", "7"), ("59169385", "6")])
def test_the_reference_examples_satisfy_the_organization_code_check(body: str, check: str) -> None:
    assert org_code_check_char(body) == check


def test_the_gb_11714_textbook_example_checks_to_x() -> None:
    assert org_code_check_char("D2143569") == "X"


def test_an_organization_code_check_of_eleven_becomes_zero() -> None:
    assert org_code_check_char("00000000") == "0"


def test_an_organization_code_check_of_ten_becomes_x() -> None:
    # 6 x weight 2 = 12, 12 mod 11 = 1, 11 - 1 = 10.
    assert org_code_check_char("00000006") == "X"


def test_a_valid_code_is_split_into_its_parts() -> None:
    result = check_uscc("91310110666007217T")

    assert result.code == "91310110666007217T"
    assert result.authority == "9"
    assert result.entity_type == "1"
    assert result.region_code == "310110"
    assert result.org_code == "666007217"


@pytest.mark.parametrize(
    ("authority", "entity_type", "legal_form"),
    [
        ("9", "1", "enterprise"),
        ("9", "2", "sole_proprietor"),
        ("9", "3", "cooperative"),
        ("9", "9", "other"),
        ("1", "1", "other"),
        ("5", "2", "other"),
        ("Y", "1", "other"),
    ],
)
def test_the_legal_form_follows_the_market_regulator_entity_types(
    authority: str, entity_type: str, legal_form: str
) -> None:
    code = make_uscc(authority, entity_type, "350100", "MA2Y3B4C")

    assert check_uscc(code).legal_form == legal_form


def test_a_lowercase_code_is_upper_cased() -> None:
    result = check_uscc("91310115591693856a")

    assert result.code == "91310115591693856A"
    assert result.status == "valid"


def test_surrounding_whitespace_is_stripped() -> None:
    result = check_uscc(" \t91310110666007217T\n\u3000")

    assert result.code == "91310110666007217T"
    assert result.status == "valid"


def test_an_inner_space_is_rejected_naming_its_position() -> None:
    error = format_error("9131 0110666007217T")

    assert error.position == 5
    assert error.code == "charset"
    assert str(error).startswith("position 5: ")


@pytest.mark.parametrize("raw", ["", "   ", "9131011066600721T", "91310110666007217TT"])
def test_a_code_of_the_wrong_length_is_rejected_without_a_position(raw: str) -> None:
    error = format_error(raw)

    assert error.position is None
    assert error.code == "length"
    assert str(error) == f"must be 18 characters, got {len(raw.strip())}"


def test_a_letter_in_the_region_is_rejected_as_expecting_a_digit() -> None:
    error = format_error("9131A110666007217T")

    assert str(error) == "position 5: expected a digit, got 'A'"
    assert error.code == "region_digits"


@pytest.mark.parametrize("letter", "IOSVZ")
def test_letters_outside_the_charset_are_rejected(letter: str) -> None:
    error = format_error(replace_at("91310110666007217T", 10, letter))

    assert error.position == 10
    assert error.code == "charset"


def test_a_wrong_organization_code_check_is_rejected_at_position_17() -> None:
    error = format_error("91310110666007218T")

    assert error.position == 17
    assert error.code == "org_check"
    assert str(error) == "position 17: organization code check character should be '7', got '8'"


def test_a_letter_other_than_x_at_position_17_is_rejected_at_position_17() -> None:
    error = format_error("9131011066600721AT")

    assert error.position == 17
    assert error.code == "org_check"


def test_an_x_at_position_17_is_accepted_when_the_organization_check_gives_ten() -> None:
    code = make_uscc("9", "1", "350200", "D2143569")

    assert code[16] == "X"
    assert check_uscc(code).status == "valid"


def test_a_format_error_is_a_value_error() -> None:
    assert issubclass(UsccFormatError, ValueError)


def test_make_uscc_refuses_parts_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="region must be 6 characters"):
        make_uscc("9", "1", "35010", "MA2Y3B4C")


def test_make_uscc_refuses_a_letter_in_the_region() -> None:
    with pytest.raises(UsccFormatError) as caught:
        make_uscc("9", "1", "35A100", "MA2Y3B4C")

    assert caught.value.position == 5


@pytest.mark.parametrize("first17", ["", "9131011066600721", "9131011066600721I"])
def test_the_position_18_helper_refuses_bad_input(first17: str) -> None:
    with pytest.raises(ValueError, match="expected 17 characters"):
        uscc_check_char(first17)


@pytest.mark.parametrize("eight", ["", "6660072", "66600721a", "6660072a"])
def test_the_organization_code_helper_refuses_bad_input(eight: str) -> None:
    with pytest.raises(ValueError, match="expected 8 characters"):
        org_code_check_char(eight)


@pytest.mark.parametrize("wrong", [ch for ch in CHARSET if ch != "T"])
def test_every_other_last_character_of_the_reference_example_is_unverified(wrong: str) -> None:
    assert check_uscc(replace_at("91310110666007217T", 18, wrong)).status == "unverified"


@given(valid_codes())
def test_every_code_built_from_valid_parts_is_valid(code: str) -> None:
    assert check_uscc(code).status == "valid"


@given(valid_codes())
def test_a_built_code_survives_lowercasing_and_padding(code: str) -> None:
    assert check_uscc(f"  {code.lower()} ").code == code


@given(valid_codes(), charset_chars)
def test_a_code_with_a_wrong_check_character_is_accepted_as_unverified(
    code: str, replacement: str
) -> None:
    if replacement == code[17]:
        replacement = CHARSET[(CHARSET.index(replacement) + 1) % len(CHARSET)]

    assert check_uscc(replace_at(code, 18, replacement)).status == "unverified"


def outside(position: int) -> st.SearchStrategy[str]:
    """Draw a character that, once normalized, is not allowed at a position."""
    allowed = ALLOWED_AT[position]
    candidates = st.one_of(
        st.sampled_from(string.printable),
        st.characters(codec="utf-8"),
    )
    # Only ASCII is upper-cased by the check. Whitespace at position 1 would be stripped,
    # shifting the code instead of spoiling it.
    return candidates.filter(
        lambda ch: (
            (ch.upper() if ch.isascii() else ch) not in allowed
            and not (position == 1 and ch.isspace())
        )
    )


@given(valid_codes(), st.data())
def test_a_character_not_allowed_at_a_position_is_rejected_naming_that_position(
    code: str, data: st.DataObject
) -> None:
    position = data.draw(st.integers(min_value=1, max_value=17), label="position")
    replacement = data.draw(outside(position), label="replacement")

    error = format_error(replace_at(code, position, replacement))

    assert error.position == position
    assert str(error).startswith(f"position {position}: ")


@given(valid_codes(), st.integers(min_value=1, max_value=18))
def test_a_character_outside_the_charset_is_rejected_at_any_position(
    code: str, position: int
) -> None:
    for ch in "IOSVZ-.":
        assert format_error(replace_at(code, position, ch)).position == position
