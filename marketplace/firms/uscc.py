"""Check a 统一社会信用代码 (Unified Social Credit Code, GB 32100-2015) without any framework."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18

UsccStatus = Literal["valid", "unverified"]
LegalForm = Literal["enterprise", "sole_proprietor", "cooperative", "other"]

_DIGITS = "0123456789"
_REGION_POSITIONS = range(3, 9)
_ORG_CHECK_POSITION = 17
# Weight of position i (1-based) is 3^(i-1) mod 31, as GB 32100 defines it.
_USCC_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_BODY_CHARS = _DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_MARKET_REGULATOR_FORMS: dict[str, LegalForm] = {
    "1": "enterprise",
    "2": "sole_proprietor",
    "3": "cooperative",
}


class UsccFormatError(ValueError):
    """A code that must be rejected: wrong length, a bad character, or a failed position 17."""

    def __init__(self, position: int | None, reason: str, code: str = "format") -> None:
        self.position = position
        self.reason = reason
        self.code = code
        super().__init__(reason if position is None else f"position {position}: {reason}")


@dataclass(frozen=True)
class UsccCheck:
    """The outcome of checking a code that was not rejected."""

    code: str
    status: UsccStatus
    authority: str
    entity_type: str
    region_code: str
    org_code: str
    legal_form: LegalForm


def check_uscc(raw: str) -> UsccCheck:
    """Check a credit code: raise UsccFormatError to reject it, else say whether it verified."""
    code = _normalize(raw)
    _require_charset(code)
    _require_length(code)
    _require_region_digits(code)
    _require_org_check(code)
    status: UsccStatus = "valid" if code[17] == uscc_check_char(code[:17]) else "unverified"
    return UsccCheck(
        code=code,
        status=status,
        authority=code[0],
        entity_type=code[1],
        region_code=code[2:8],
        org_code=code[8:17],
        legal_form=_legal_form(code[0], code[1]),
    )


def uscc_check_char(first17: str) -> str:
    """Return the position-18 check character for the first 17 characters of a code."""
    if len(first17) != 17 or any(ch not in CHARSET for ch in first17):
        raise ValueError(f"expected 17 characters from {CHARSET}, got {first17!r}")
    total = sum(CHARSET.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def org_code_check_char(eight: str) -> str:
    """Return the GB 11714 check character for an 8-character organization code body."""
    if len(eight) != 8 or any(ch not in _ORG_BODY_CHARS for ch in eight):
        raise ValueError(f"expected 8 characters from 0-9 and A-Z, got {eight!r}")
    total = sum(_ORG_BODY_CHARS.index(ch) * w for ch, w in zip(eight, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def make_uscc(authority: str, entity_type: str, region: str, org8: str) -> str:
    """Build a code that passes every check from its parts (for demo data and tests)."""
    for name, part, size in (
        ("authority", authority, 1),
        ("entity_type", entity_type, 1),
        ("region", region, 6),
        ("org8", org8, 8),
    ):
        if len(part) != size:
            raise ValueError(f"{name} must be {size} characters, got {part!r}")
    first17 = authority + entity_type + region + org8 + org_code_check_char(org8)
    return check_uscc(first17 + uscc_check_char(first17)).code


def _normalize(raw: str) -> str:
    # Only ASCII is upper-cased: str.upper() can turn one character into two (e.g. 'ß' -> 'SS'),
    # which would shift every later position the error messages name.
    return "".join(ch.upper() if ch.isascii() else ch for ch in raw.strip())


def _require_charset(code: str) -> None:
    for position, ch in enumerate(code, start=1):
        if ch not in CHARSET:
            raise UsccFormatError(
                position,
                f"expected a digit or a letter other than I, O, S, V, Z, got {ch!r}",
                "charset",
            )


def _require_length(code: str) -> None:
    if len(code) != LENGTH:
        raise UsccFormatError(None, f"must be {LENGTH} characters, got {len(code)}", "length")


def _require_region_digits(code: str) -> None:
    for position in _REGION_POSITIONS:
        ch = code[position - 1]
        if ch not in _DIGITS:
            raise UsccFormatError(position, f"expected a digit, got {ch!r}", "region_digits")


def _require_org_check(code: str) -> None:
    expected = org_code_check_char(code[8:16])
    if code[16] != expected:
        raise UsccFormatError(
            _ORG_CHECK_POSITION,
            f"organization code check character should be {expected!r}, got {code[16]!r}",
            "org_check",
        )


def _legal_form(authority: str, entity_type: str) -> LegalForm:
    if authority != "9":
        return "other"
    return _MARKET_REGULATOR_FORMS.get(entity_type, "other")
