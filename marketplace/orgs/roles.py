"""Who may grant, change and remove which role inside an organization.

Pure rules on role names ("owner", "admin", "member", "billing"); the services apply them.
"""

from __future__ import annotations

from datetime import datetime

OWNER = "owner"
ADMIN = "admin"
ALL_ROLES = ("owner", "admin", "member", "billing")
MANAGER_ROLES = (OWNER, ADMIN)


def can_manage_members(actor_role: str) -> bool:
    """Tell whether someone in actor_role may invite, change and remove members."""
    return actor_role in MANAGER_ROLES


def can_grant(actor_role: str, role: str) -> bool:
    """Tell whether actor_role may give someone role (only owners make owners)."""
    if role == OWNER:
        return actor_role == OWNER
    return can_manage_members(actor_role)


def can_change(actor_role: str, target_role: str) -> bool:
    """Tell whether actor_role may change or remove a member who holds target_role."""
    if target_role == OWNER:
        return actor_role == OWNER
    return can_manage_members(actor_role)


def grantable_roles(actor_role: str) -> tuple[str, ...]:
    """Return the roles actor_role may hand out, in display order."""
    return tuple(role for role in ALL_ROLES if can_grant(actor_role, role))


def keeps_an_owner(target_role: str, new_role: str | None, owner_count: int) -> bool:
    """Tell whether an organization still has an owner after target_role becomes new_role.

    new_role None means the member leaves or is removed.
    """
    losing_an_owner = target_role == OWNER and new_role != OWNER
    return not losing_an_owner or owner_count > 1


def invitation_state(*, now: datetime, expires_at: datetime, accepted: bool, revoked: bool) -> str:
    """Name where an invitation stands: "accepted", "revoked", "expired" or "pending"."""
    if accepted:
        return "accepted"
    if revoked:
        return "revoked"
    if now >= expires_at:
        return "expired"
    return "pending"
