"""The provider's signing keys: first use, rotation with overlap, the JWKS, the CLI."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from authlib.jose import JsonWebKey, KeySet, jwt
from authlib.jose.errors import BadSignatureError, DecodeError
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.audit.models import AuditEntry
from marketplace.clock import FrozenClock
from marketplace.webhooks import sealing
from sso import signing_keys
from sso.models import SigningKey, SigningKeyStatus

PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi"}
CLAIMS = {"iss": "http://localhost", "sub": "42", "aud": "vendor-app"}


def _keys(session: Session) -> list[SigningKey]:
    session.expire_all()
    return list(session.scalars(sa.select(SigningKey).order_by(SigningKey.id)))


def _statuses(session: Session) -> list[str]:
    return [key.status for key in _keys(session)]


def _published_kids(session: Session, clock: FrozenClock) -> set[str]:
    return {k["kid"] for k in signing_keys.published_jwks(session, clock.now())["keys"]}


def _sign(session: Session, clock: FrozenClock) -> bytes:
    key = signing_keys.signing_key(session, clock)
    header = {"alg": key.algorithm, "kid": key.kid}
    token: bytes = jwt.encode(header, CLAIMS, key.private_key_pem)
    return token


def _verifies(token: bytes, jwks: dict[str, Any]) -> bool:
    """Tell whether the token's signature checks out against the published key set."""
    key_set: KeySet = JsonWebKey.import_key_set(jwks)
    try:
        claims = jwt.decode(token, key_set)
    except (BadSignatureError, DecodeError, ValueError):
        return False
    return dict(claims) == CLAIMS


def test_first_use_creates_one_active_key(session: Session, clock: FrozenClock) -> None:
    assert _keys(session) == []

    key = signing_keys.ensure_active_key(session, clock)
    again = signing_keys.ensure_active_key(session, clock)

    assert again.id == key.id
    [stored] = _keys(session)
    assert (stored.status, stored.algorithm) == (SigningKeyStatus.ACTIVE, "RS256")
    assert stored.created_at == stored.activated_at == clock.now()
    assert stored.retire_after is None
    assert (
        len(
            session.scalars(
                sa.select(AuditEntry).where(AuditEntry.action == "signing_key.created")
            ).all()
        )
        == 1
    )


def test_signing_key_is_a_2048_bit_rsa_key_with_a_url_safe_kid(
    session: Session, clock: FrozenClock
) -> None:
    key = signing_keys.signing_key(session, clock)

    jwk = JsonWebKey.import_key(key.private_key_pem, {"kty": "RSA"})
    assert jwk.get_private_key().key_size == 2048
    assert key.kid.replace("-", "").replace("_", "").isalnum() and len(key.kid) >= 16
    [published] = signing_keys.published_jwks(session, clock.now())["keys"]
    assert published["kid"] == key.kid
    assert published["n"] == jwk.as_dict(is_private=False)["n"]


def test_each_rotation_makes_a_key_with_a_fresh_kid(session: Session, clock: FrozenClock) -> None:
    first = signing_keys.rotate(session, clock).active
    second = signing_keys.rotate(session, clock).active

    assert first.kid != second.kid


def test_rotation_leaves_one_active_and_publishes_old_and_new_until_the_overlap_ends(
    session: Session, clock: FrozenClock
) -> None:
    old = signing_keys.ensure_active_key(session, clock)

    rotation = signing_keys.rotate(session, clock, timedelta(days=2))

    assert [k.kid for k in rotation.retiring] == [old.kid]
    assert _statuses(session) == ["retiring", "active"]
    assert rotation.retiring[0].retire_after == clock.now() + timedelta(days=2)
    assert _published_kids(session, clock) == {old.kid, rotation.active.kid}
    clock.advance(timedelta(days=2) - timedelta(seconds=1))
    assert _published_kids(session, clock) == {old.kid, rotation.active.kid}
    clock.advance(timedelta(seconds=1))
    assert _published_kids(session, clock) == {rotation.active.kid}
    signing_keys.ensure_active_key(session, clock)
    assert _statuses(session) == ["retired", "active"]


def test_a_second_rotation_keeps_a_still_retiring_key_published(
    session: Session, clock: FrozenClock
) -> None:
    first = signing_keys.ensure_active_key(session, clock)
    second = signing_keys.rotate(session, clock, timedelta(days=3)).active
    clock.advance(timedelta(days=1))

    third = signing_keys.rotate(session, clock, timedelta(days=1))

    assert {k.kid for k in third.retiring} == {first.kid, second.kid}
    assert _statuses(session) == ["retiring", "retiring", "active"]
    clock.advance(timedelta(days=1))
    assert _published_kids(session, clock) == {first.kid, third.active.kid}
    clock.advance(timedelta(days=1))
    assert _published_kids(session, clock) == {third.active.kid}


def test_a_token_of_the_old_key_verifies_during_the_overlap_and_not_after(
    session: Session, clock: FrozenClock
) -> None:
    token = _sign(session, clock)
    assert _verifies(token, signing_keys.published_jwks(session, clock.now()))

    signing_keys.rotate(session, clock, timedelta(days=1))

    clock.advance(timedelta(hours=23))
    assert _verifies(token, signing_keys.published_jwks(session, clock.now()))
    assert _verifies(_sign(session, clock), signing_keys.published_jwks(session, clock.now()))
    clock.advance(timedelta(hours=1))
    assert not _verifies(token, signing_keys.published_jwks(session, clock.now()))


def test_a_token_signed_by_another_key_with_a_published_kid_does_not_verify(
    session: Session, clock: FrozenClock
) -> None:
    kid = signing_keys.ensure_active_key(session, clock).kid
    stranger = JsonWebKey.generate_key("RSA", 2048, is_private=True)
    token = jwt.encode({"alg": "RS256", "kid": kid}, CLAIMS, stranger)

    assert not _verifies(token, signing_keys.published_jwks(session, clock.now()))


def test_the_jwks_never_holds_private_members(session: Session, clock: FrozenClock) -> None:
    signing_keys.ensure_active_key(session, clock)
    signing_keys.rotate(session, clock)

    published = signing_keys.published_jwks(session, clock.now())["keys"]

    assert len(published) == 2
    for key in published:
        assert PRIVATE_MEMBERS.isdisjoint(key)
        assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS256", "sig")
        assert key["e"] and key["n"]


def test_the_stored_private_key_is_sealed_not_plaintext(
    app: Flask, session: Session, clock: FrozenClock
) -> None:
    pem = signing_keys.signing_key(session, clock).private_key_pem
    [stored] = _keys(session)

    assert pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert "PRIVATE KEY" not in stored.private_key_sealed
    assert pem not in stored.private_key_sealed
    assert sealing.unseal(stored.private_key_sealed, app.config["SECRET_KEY"]) == pem
    with pytest.raises(ValueError, match="another SECRET_KEY"):
        sealing.unseal(stored.private_key_sealed, "some-other-secret-key")
    assert PRIVATE_MEMBERS.isdisjoint(stored.public_jwk)


def test_rotation_refuses_an_overlap_that_is_not_positive(
    session: Session, clock: FrozenClock
) -> None:
    signing_keys.ensure_active_key(session, clock)

    for overlap in (timedelta(0), timedelta(days=-1)):
        with pytest.raises(ValueError, match="overlap must be positive"):
            signing_keys.rotate(session, clock, overlap)
    assert _statuses(session) == ["active"]


def test_the_database_refuses_a_second_active_key(session: Session, clock: FrozenClock) -> None:
    key = signing_keys.ensure_active_key(session, clock)
    twin = SigningKey(
        kid="another-kid",
        algorithm="RS256",
        private_key_sealed=key.private_key_sealed,
        public_jwk=key.public_jwk,
        status=SigningKeyStatus.ACTIVE,
        created_at=clock.now(),
        activated_at=clock.now(),
    )

    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(twin)


def test_rotate_keys_prints_the_new_and_the_retiring_kids(
    app: Flask, session: Session, clock: FrozenClock
) -> None:
    old = signing_keys.ensure_active_key(session, clock)

    result = app.test_cli_runner().invoke(args=["sso", "rotate-keys", "--overlap-days", "3"])

    assert result.exit_code == 0, result.output
    [retiring, active] = _keys(session)
    assert (retiring.kid, retiring.status) == (old.kid, "retiring")
    assert retiring.retire_after == clock.now() + timedelta(days=3)
    assert f"Active key: {active.kid}" in result.output
    assert f"Retiring key: {old.kid}" in result.output


def test_rotate_keys_on_an_empty_store_makes_the_first_key(
    app: Flask, session: Session, clock: FrozenClock
) -> None:
    result = app.test_cli_runner().invoke(args=["sso", "rotate-keys"])

    assert result.exit_code == 0, result.output
    [active] = _keys(session)
    assert active.status == "active"
    assert "Retiring key" not in result.output


@pytest.mark.parametrize("days", ["0", "-2", "soon"])
def test_rotate_keys_refuses_a_bad_overlap(
    app: Flask, session: Session, clock: FrozenClock, days: str
) -> None:
    signing_keys.ensure_active_key(session, clock)

    result = app.test_cli_runner().invoke(args=["sso", "rotate-keys", "--overlap-days", days])

    assert result.exit_code == 2
    assert "--overlap-days" in result.output
    assert _statuses(session) == ["active"]


def test_keys_lists_kid_status_and_creation_newest_first(
    app: Flask, session: Session, clock: FrozenClock
) -> None:
    old = signing_keys.ensure_active_key(session, clock)
    clock.advance(timedelta(hours=1))
    new = signing_keys.rotate(session, clock).active

    result = app.test_cli_runner().invoke(args=["sso", "keys"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"{new.kid}\tactive\t2026-03-02 10:30",
        f"{old.kid}\tretiring\t2026-03-02 09:30",
    ]


def test_jwks_publishes_the_keys_publicly_cacheable(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    response = client.get("/jwks")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.cache_control.public
    assert response.cache_control.max_age == 300
    [key] = response.get_json()["keys"]
    assert set(key) == {"kid", "kty", "n", "e", "alg", "use"}
    assert key["kid"] == signing_keys.signing_key(session, clock).kid


def test_jwks_shows_a_rotated_out_key_only_during_its_overlap(
    client: FlaskClient, session: Session, clock: FrozenClock
) -> None:
    old = signing_keys.ensure_active_key(session, clock)
    new = signing_keys.rotate(session, clock, timedelta(days=1)).active

    during = {k["kid"] for k in client.get("/jwks").get_json()["keys"]}
    clock.advance(timedelta(days=1))
    after = {k["kid"] for k in client.get("/jwks").get_json()["keys"]}

    assert during == {old.kid, new.kid}
    assert after == {new.kid}


def test_jwks_refuses_writes(client: FlaskClient, session: Session) -> None:
    assert client.post("/jwks").status_code == 405
