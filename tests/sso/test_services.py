"""The API client services on their own: every field checked, every error at once."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.errors import Forbidden, NotFound, ValidationFailed
from marketplace.extensions import db
from sso.credentials import digest, new_client_secret, secret_matches
from sso.scopes import scope_list, scope_string
from sso.services import create_api_client
from tests.sso.conftest import Vendor, client_rows, make_vendor


def _create(vendor: Vendor, clock: FrozenClock, role: str = "owner", **fields: object) -> None:
    membership = vendor.membership(role)
    values: dict[str, object] = {"name": "Sync", "scopes": ["catalog:read"], "sandbox": False}
    values.update(fields)
    create_api_client(
        db.session(),
        clock,
        membership,
        actor=Actor(membership.user_id, vendor.org.id),
        **values,  # type: ignore[arg-type]
    )


def test_a_bad_name_and_no_scopes_are_reported_together(
    session: Session, clock: FrozenClock
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _create(make_vendor(), clock, name="  x  ", scopes=[])

    assert set(refused.value.errors) == {"name", "scopes"}
    assert client_rows(session) == []


def test_an_unknown_scope_is_refused_listing_the_allowed_ones(
    session: Session, clock: FrozenClock
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _create(make_vendor(), clock, scopes=["catalog:read", "billing:everything"])

    assert "usage:write" in refused.value.errors["scopes"][0]


def test_the_name_is_trimmed_and_scopes_kept_in_their_standard_order(
    session: Session, clock: FrozenClock
) -> None:
    _create(make_vendor(), clock, name="  ERP   bridge ", scopes=["usage:write", "catalog:read"])

    [row] = client_rows(session)
    assert "ERP bridge" in row and "catalog:read usage:write" in row


def test_a_plain_member_may_not_create_a_client(session: Session, clock: FrozenClock) -> None:
    with pytest.raises(Forbidden):
        _create(make_vendor(), clock, role="member")


def test_a_firm_may_not_create_a_client(session: Session, clock: FrozenClock) -> None:
    with pytest.raises(NotFound):
        _create(make_vendor(kind="sme"), clock)


def test_a_secret_matches_only_its_own_digest() -> None:
    secret = new_client_secret()

    assert secret_matches(secret, digest(secret))
    assert not secret_matches(secret + "x", digest(secret))
    assert len(digest(secret)) == 64


def test_scope_strings_are_read_without_repeats_and_stored_in_standard_order() -> None:
    assert scope_list(" usage:write  catalog:read usage:write ") == ["usage:write", "catalog:read"]
    assert scope_list(None) == []
    assert scope_string(["usage:write", "catalog:read"]) == "catalog:read usage:write"
