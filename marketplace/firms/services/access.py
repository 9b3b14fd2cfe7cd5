"""Who may change a firm's or a park's records: owners and admins of an active organization."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor
from marketplace.errors import Forbidden, NotFound
from marketplace.orgs.models import Membership, Organization
from marketplace.orgs.roles import MANAGER_ROLES


def managed_organization(
    session: Session, actor: Actor, organization_id: int, kind: str
) -> Organization:
    """Return the organization when the actor is its owner or admin; refuse anyone else."""
    stmt = (
        sa.select(Membership)
        .join(Membership.organization)
        .where(
            Membership.user_id == actor.user_id,
            Membership.organization_id == organization_id,
            Organization.kind == kind,
        )
    )
    membership = session.scalar(stmt)
    if membership is None:
        raise NotFound()
    if not membership.organization.is_active:
        raise Forbidden(_("This organization is suspended."))
    if membership.role not in MANAGER_ROLES:
        raise Forbidden(_("Your role in this organization does not allow this."))
    return membership.organization
