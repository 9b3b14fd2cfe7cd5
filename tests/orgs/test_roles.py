"""The pure rules of roles: who may grant, change and remove which role."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.orgs import roles

ROLE = st.sampled_from(roles.ALL_ROLES)


@pytest.mark.parametrize(
    ("actor", "expected"),
    [("owner", True), ("admin", True), ("member", False), ("billing", False)],
)
def test_only_owners_and_admins_manage_members(actor: str, expected: bool) -> None:
    assert roles.can_manage_members(actor) is expected


def test_owners_grant_every_role_and_admins_every_role_but_owner() -> None:
    assert roles.grantable_roles("owner") == ("owner", "admin", "member", "billing")
    assert roles.grantable_roles("admin") == ("admin", "member", "billing")
    assert roles.grantable_roles("member") == ()
    assert roles.grantable_roles("billing") == ()


def test_admins_cannot_change_owners_but_owners_can() -> None:
    assert not roles.can_change("admin", "owner")
    assert roles.can_change("owner", "owner")
    assert roles.can_change("admin", "admin")


@given(actor=ROLE, target=ROLE, new=ROLE)
def test_a_change_touching_the_owner_role_always_needs_an_owner(
    actor: str, target: str, new: str
) -> None:
    allowed = roles.can_change(actor, target) and roles.can_grant(actor, new)
    if "owner" in (target, new) and allowed:
        assert actor == "owner"
    if actor in ("member", "billing"):
        assert not allowed


@given(target=ROLE, new=st.one_of(st.none(), ROLE), owners=st.integers(min_value=1, max_value=5))
def test_an_organization_never_loses_its_last_owner(
    target: str, new: str | None, owners: int
) -> None:
    remaining = owners - (1 if target == "owner" and new != "owner" else 0)
    assert roles.keeps_an_owner(target, new, owners) is (remaining >= 1)


def test_invitation_state_prefers_accepted_then_revoked_then_expired() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    later, earlier = now + timedelta(days=1), now - timedelta(seconds=1)
    assert roles.invitation_state(now=now, expires_at=later, accepted=False, revoked=False) == (
        "pending"
    )
    assert roles.invitation_state(now=now, expires_at=now, accepted=False, revoked=False) == (
        "expired"
    )
    assert roles.invitation_state(now=now, expires_at=earlier, accepted=False, revoked=True) == (
        "revoked"
    )
    assert roles.invitation_state(now=now, expires_at=earlier, accepted=True, revoked=False) == (
        "accepted"
    )
