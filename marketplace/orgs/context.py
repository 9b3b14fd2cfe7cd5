"""The acting organization: which of the user's organizations this request acts for."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, request, session
from flask_login import current_user

from marketplace.audit.services import Actor
from marketplace.errors import Forbidden, NotFound, Unauthorized
from marketplace.extensions import db
from marketplace.orgs.models import Membership, Organization

SESSION_KEY = "org_id"
F = TypeVar("F", bound=Callable[..., Any])


def memberships_of(user_id: int) -> list[Membership]:
    """Return the user's memberships, organizations loaded, oldest first."""
    stmt = (
        sa.select(Membership)
        .join(Membership.organization)
        .where(Membership.user_id == user_id)
        .order_by(Membership.id)
    )
    return list(db.session.scalars(stmt))


def load_acting_membership() -> None:
    """Put the user's membership in the chosen organization on g (before each request)."""
    g.membership = None
    g.memberships = []
    if not current_user.is_authenticated:
        return
    g.memberships = memberships_of(current_user.id)
    chosen = session.get(SESSION_KEY)
    by_org = {m.organization_id: m for m in g.memberships}
    g.membership = by_org.get(chosen) or (g.memberships[0] if g.memberships else None)


def acting_membership() -> Membership:
    """Return the acting membership, or refuse when the user has no organization."""
    membership: Membership | None = g.get("membership")
    if membership is None:
        raise Forbidden("You do not belong to an organization yet.")
    return membership


def acting_org() -> Organization:
    """Return the organization this request acts for."""
    return acting_membership().organization


def choose_acting_org(org_id: int) -> None:
    """Make org_id the organization the user's next requests act for."""
    session[SESSION_KEY] = org_id


def forget_acting_org() -> None:
    """Drop the choice of organization (the first membership acts until another is chosen)."""
    session.pop(SESSION_KEY, None)


def current_actor() -> Actor:
    """Return who acts in this request, for the audit log."""
    membership: Membership | None = g.get("membership")
    return Actor(
        user_id=current_user.id if current_user.is_authenticated else None,
        org_id=membership.organization_id if membership else None,
        ip_address=request.remote_addr,
    )


def require_org(
    *kinds: str, roles: tuple[str, ...] = (), allow_suspended: bool = False
) -> Callable[[F], F]:
    """Let a view run only for a signed-in member of an active org of one of kinds, in roles.

    allow_suspended lets a page that only reads run for a suspended organization too, so
    its members can still see their data; every change stays refused.
    """

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                raise Unauthorized()
            membership = acting_membership()
            org = membership.organization
            if kinds and org.kind not in kinds:
                raise NotFound()
            if not org.is_active and not allow_suspended:
                raise Forbidden("This organization is suspended.")
            if roles and membership.role not in roles:
                raise Forbidden("Your role in this organization does not allow this.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
