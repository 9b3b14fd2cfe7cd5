"""The apps a user allowed and the apps a firm approved for everyone: read, withdraw, approve.

Every query takes the user or the firm it serves: a consent of another user, or a
subscription of another firm, is answered as not found.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, contains_eager, joinedload

from billing.lifecycle import CANCELLED
from billing.models import Subscription
from catalog.models import Listing
from marketplace.audit.services import Actor
from marketplace.clock import Clock
from marketplace.errors import Forbidden, NotFound
from marketplace.orgs.models import Membership, Organization, OrgKind
from marketplace.orgs.roles import MANAGER_ROLES
from sso.provider.consent import approve_for_firm, withdraw_consent, withdraw_firm_approval
from sso.provider.models import AppClient, Consent, FirmApproval

# What a firm's approval lets every member's app receive without being asked.
FIRM_SCOPE = "openid profile email"


# ---- the user's connected apps ----------------------------------------------------------------


def consent_of(session: Session, user_id: int, consent_id: int) -> Consent:
    """Return the user's live consent with that id, its app and listing loaded, or NotFound."""
    consent = session.scalar(
        sa.select(Consent)
        .options(joinedload(Consent.app_client).joinedload(AppClient.listing))
        .where(Consent.id == consent_id, Consent.user_id == user_id, Consent.revoked_at.is_(None))
    )
    if consent is None:
        raise NotFound(_("You have allowed no such app."))
    return consent


def withdraw_connected_app(
    session: Session, clock: Clock, actor: Actor, user_id: int, consent_id: int
) -> Listing:
    """Withdraw the user's consent and end the app's sign-ins; return the app's listing."""
    listing = consent_of(session, user_id, consent_id).app_client.listing
    if not withdraw_consent(session, clock, actor, user_id, consent_id):
        raise NotFound(_("You have allowed no such app."))
    return listing


# ---- a firm's approvals -----------------------------------------------------------------------


@dataclass(frozen=True)
class FirmApp:
    """A firm's subscription to an app that signs users in, and the firm's approval of it."""

    subscription: Subscription
    app_client: AppClient
    approval: FirmApproval | None

    @property
    def approved(self) -> bool:
        """Tell whether the firm's approval stands."""
        return self.approval is not None and self.approval.revoked_at is None


def may_manage_apps(role: str) -> bool:
    """Tell whether someone in role may approve apps for the whole firm."""
    return role in MANAGER_ROLES


def managing_membership(
    session: Session, user_id: int, org_id: int, *, changing: bool
) -> Membership:
    """Return the user's membership in the firm, refusing roles and states that may not manage.

    A firm the user does not belong to is not found, so its existence does not show.
    """
    membership = session.scalar(
        sa.select(Membership)
        .join(Membership.organization)
        .options(contains_eager(Membership.organization))
        .where(
            Membership.user_id == user_id,
            Membership.organization_id == org_id,
            Organization.kind == OrgKind.SME,
        )
    )
    if membership is None:
        raise NotFound(_("No such firm."))
    if not may_manage_apps(membership.role):
        raise Forbidden(_("Only the firm's owners and admins may approve apps."))
    if changing and not membership.organization.is_active:
        raise Forbidden(_("This organization is suspended."))
    return membership


def _firm_apps_query(firm_id: int) -> sa.Select[Subscription, AppClient, FirmApproval]:
    return (
        sa.select(Subscription, AppClient, FirmApproval)
        .join(AppClient, AppClient.listing_id == Subscription.listing_id)
        .outerjoin(
            FirmApproval,
            sa.and_(
                FirmApproval.firm_id == Subscription.organization_id,
                FirmApproval.app_client_id == AppClient.id,
            ),
        )
        .options(
            joinedload(Subscription.listing).joinedload(Listing.versions),
            joinedload(Subscription.listing).joinedload(Listing.vendor),
        )
        .where(Subscription.organization_id == firm_id, Subscription.status != CANCELLED)
        .order_by(Subscription.id)
    )


def firm_apps(session: Session, firm_id: int) -> list[FirmApp]:
    """Return the firm's live subscriptions whose apps sign users in, oldest first."""
    rows = session.execute(_firm_apps_query(firm_id)).unique().all()
    return [FirmApp(subscription, client, approval) for subscription, client, approval in rows]


def firm_app(session: Session, firm_id: int, subscription_id: int) -> FirmApp:
    """Return the firm's subscription with that id and its app, or NotFound."""
    query = _firm_apps_query(firm_id).where(Subscription.id == subscription_id)
    row = session.execute(query).unique().one_or_none()
    if row is None:
        raise NotFound(_("The firm has no such app."))
    subscription, client, approval = row
    return FirmApp(subscription, client, approval)


def approve_firm_app(
    session: Session, clock: Clock, actor: Actor, firm_id: int, subscription_id: int
) -> FirmApp:
    """Approve the app of the firm's subscription for every member of the firm."""
    found = firm_app(session, firm_id, subscription_id)
    approval = approve_for_firm(session, clock, actor, firm_id, found.app_client.id, FIRM_SCOPE)
    return FirmApp(found.subscription, found.app_client, approval)


def withdraw_firm_app(
    session: Session, clock: Clock, actor: Actor, firm_id: int, subscription_id: int
) -> tuple[FirmApp, bool]:
    """Withdraw the firm's approval of the subscription's app; say whether one stood."""
    found = firm_app(session, firm_id, subscription_id)
    withdrawn = withdraw_firm_approval(session, clock, actor, firm_id, found.app_client.id)
    return found, withdrawn
