"""Money as integer fen, shown in yuan with two decimals."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN_PER_YUAN = 100
FEN_PER_WAN = 1_000_000


def format_fen(amount_fen: int, currency: str = "CNY") -> str:
    """Render an amount in fen as ¥1,234.56 (negative amounts keep their sign)."""
    sign = "-" if amount_fen < 0 else ""
    yuan, fen = divmod(abs(amount_fen), FEN_PER_YUAN)
    symbol = "¥" if currency == "CNY" else f"{currency} "
    return f"{sign}{symbol}{yuan:,}.{fen:02d}"


def wan_to_fen(amount_wan: Decimal) -> int:
    """Convert 万元 (ten thousand yuan) to fen, rounding half-up to the fen."""
    return int((amount_wan * FEN_PER_WAN).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def fen_to_wan(amount_fen: int) -> Decimal:
    """Convert fen to 万元 exactly."""
    return Decimal(amount_fen) / FEN_PER_WAN


def parse_decimal(raw: str) -> Decimal:
    """Parse a decimal written by a person (commas and spaces allowed); raise ValueError."""
    cleaned = raw.replace(",", "").replace("，", "").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {raw!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite number: {raw!r}")
    return value
