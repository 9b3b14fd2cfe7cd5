"""Keep the provider's token-signing keys: create, rotate, publish as a JWKS, hand out.

One key is active and signs; after a rotation the previous one stays published as
"retiring" for an overlap, so tokens it signed still verify until they have expired and
relying parties have refetched the JWKS. Private keys are sealed at rest like webhook
signing secrets, under a key derived from SECRET_KEY.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor, record
from marketplace.clock import Clock
from marketplace.webhooks import sealing
from sso.models import SigningKey, SigningKeyStatus

ALGORITHM = "RS256"
RSA_KEY_BITS = 2048
RSA_PUBLIC_EXPONENT = 65537
DEFAULT_OVERLAP = timedelta(days=1)
# The only members a published RSA key carries: nothing private can slip through.
PUBLIC_MEMBERS = ("kty", "kid", "use", "alg", "n", "e")
SYSTEM = Actor(None)  # keys are the provider's own, changed by the operator's CLI


@dataclass(frozen=True)
class KeyForSigning:
    """The active key's id and its private key (PEM), to sign a token with."""

    kid: str
    algorithm: str
    private_key_pem: str


@dataclass(frozen=True)
class Rotation:
    """The key a rotation made active and the keys it left retiring."""

    active: SigningKey
    retiring: list[SigningKey]


def new_kid() -> str:
    """Return a fresh, random, URL-safe key id."""
    return secrets.token_urlsafe(16)


def _base64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(key: rsa.RSAPublicKey, kid: str) -> dict[str, str]:
    """Return the public JWK of an RSA key (RFC 7518 section 6.3.1): no private member."""
    numbers = key.public_numbers()
    return {
        "kty": "RSA",
        "kid": kid,
        "use": "sig",
        "alg": ALGORITHM,
        "n": _base64url_uint(numbers.n),
        "e": _base64url_uint(numbers.e),
    }


def _new_key(clock: Clock) -> SigningKey:
    private = rsa.generate_private_key(public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    kid, now = new_kid(), clock.now()
    return SigningKey(
        kid=kid,
        algorithm=ALGORITHM,
        private_key_sealed=sealing.seal(pem, sealing.current_key()),
        public_jwk=public_jwk(private.public_key(), kid),
        status=SigningKeyStatus.ACTIVE,
        created_at=now,
        activated_at=now,
    )


def _active(session: Session, *, for_update: bool = False) -> SigningKey | None:
    stmt = sa.select(SigningKey).where(SigningKey.status == SigningKeyStatus.ACTIVE)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalars(stmt).one_or_none()


def _retire_expired(session: Session, now: datetime) -> None:
    session.execute(
        sa.update(SigningKey)
        .where(SigningKey.status == SigningKeyStatus.RETIRING, SigningKey.retire_after <= now)
        .values(status=SigningKeyStatus.RETIRED)
        .execution_options(synchronize_session="fetch")
    )


def _add_active(session: Session, clock: Clock) -> SigningKey | None:
    """Add a new active key; return None if another process added one first."""
    key = _new_key(clock)
    try:
        with session.begin_nested():
            session.add(key)
    except IntegrityError:
        return None
    record(session, clock, SYSTEM, "signing_key.created", ("signing_key", key.id))
    return key


def ensure_active_key(session: Session, clock: Clock) -> SigningKey:
    """Return the active key, creating the first one on first use; retire keys past overlap."""
    _retire_expired(session, clock.now())
    key = _active(session) or _add_active(session, clock) or _active(session)
    if key is None:
        raise RuntimeError("no active signing key after creating one")
    session.commit()
    return key


def rotate(session: Session, clock: Clock, overlap: timedelta = DEFAULT_OVERLAP) -> Rotation:
    """Make a new key active; the old one stays published, as retiring, for the overlap."""
    if overlap <= timedelta(0):
        raise ValueError("the overlap must be positive, or tokens of the old key stop verifying")
    now = clock.now()
    _retire_expired(session, now)
    old = _active(session, for_update=True)
    if old is not None:
        old.status = SigningKeyStatus.RETIRING
        old.retire_after = now + overlap
        session.flush()  # free the one active place before the new key takes it
    new = _new_key(clock)
    session.add(new)
    session.flush()
    retiring = _keys(session, SigningKeyStatus.RETIRING)
    record(
        session,
        clock,
        SYSTEM,
        "signing_key.rotated",
        ("signing_key", new.id),
        before={"kid": old.kid if old else None},
        after={"kid": new.kid, "retiring": [k.kid for k in retiring]},
    )
    session.commit()
    return Rotation(new, retiring)


def _keys(session: Session, status: SigningKeyStatus) -> list[SigningKey]:
    stmt = sa.select(SigningKey).where(SigningKey.status == status)
    return list(session.scalars(stmt.order_by(SigningKey.id)))


def published_jwks(session: Session, now: datetime) -> dict[str, list[dict[str, Any]]]:
    """Return the JWKS: the active key and the retiring keys whose overlap has not ended."""
    stmt = (
        sa.select(SigningKey)
        .where(
            sa.or_(
                SigningKey.status == SigningKeyStatus.ACTIVE,
                sa.and_(
                    SigningKey.status == SigningKeyStatus.RETIRING,
                    SigningKey.retire_after > now,
                ),
            )
        )
        .order_by(SigningKey.id.desc())
    )
    keys = session.scalars(stmt)
    return {"keys": [{name: key.public_jwk[name] for name in PUBLIC_MEMBERS} for key in keys]}


def jwks_document(session: Session, clock: Clock) -> dict[str, list[dict[str, Any]]]:
    """Return the JWKS to publish, making the first key if there is none yet."""
    ensure_active_key(session, clock)
    return published_jwks(session, clock.now())


def signing_key(session: Session, clock: Clock) -> KeyForSigning:
    """Return the active key's id and private key, to sign a token with."""
    key = ensure_active_key(session, clock)
    pem = sealing.unseal(key.private_key_sealed, sealing.current_key())
    return KeyForSigning(key.kid, key.algorithm, pem)


def all_keys(session: Session, clock: Clock) -> list[SigningKey]:
    """Return every key, newest first, after retiring those past their overlap."""
    _retire_expired(session, clock.now())
    session.commit()
    return list(session.scalars(sa.select(SigningKey).order_by(SigningKey.id.desc())))
