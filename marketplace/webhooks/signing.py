"""Sign a webhook body and check a signature header (pure).

The header reads `t=<unix seconds>,v1=<hex>[,v1=<hex>…]`, where each v1 is the
HMAC-SHA256, keyed by one of the endpoint's signing secrets, of the bytes
`<t>.<body>`. While a rotated secret is still valid the header carries one v1 per secret,
so a receiver holding either one accepts it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass

SCHEME = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A signature header that cannot be read, is too old, or matches no secret."""


@dataclass(frozen=True)
class ParsedSignature:
    """A signature header's timestamp and its v1 signatures."""

    timestamp: int
    signatures: tuple[str, ...]


def signature_of(secret: str, timestamp: int, body: bytes) -> str:
    """Return the hex HMAC-SHA256 of `<timestamp>.<body>` keyed by secret."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """Return the Yunshi-Signature header value signing body with every secret given."""
    if not secrets:
        raise ValueError("a signature needs at least one secret")
    parts = [f"t={timestamp}"]
    parts.extend(f"{SCHEME}={signature_of(secret, timestamp, body)}" for secret in secrets)
    return ",".join(parts)


def parse_header(header: str) -> ParsedSignature:
    """Read a signature header; unknown schemes are ignored, a missing t or v1 is refused."""
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            raise SignatureError(f"malformed part {part!r}")
        if name == "t":
            if not value.isdigit() or timestamp is not None:
                raise SignatureError("the header needs exactly one numeric t")
            timestamp = int(value)
        elif name == SCHEME:
            signatures.append(value)
    if timestamp is None or not signatures:
        raise SignatureError("the header needs a t and at least one v1")
    return ParsedSignature(timestamp, tuple(signatures))


def verify(
    header: str,
    body: bytes,
    secret: str,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check that one v1 of the header signs body with secret within tolerance of now.

    Return the header's timestamp; raise SignatureError saying why not otherwise.
    """
    parsed = parse_header(header)
    if abs(now - parsed.timestamp) > tolerance:
        raise SignatureError("the timestamp is outside the tolerance")
    expected = signature_of(secret, parsed.timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in parsed.signatures):
        raise SignatureError("no v1 signature matches the secret")
    return parsed.timestamp
