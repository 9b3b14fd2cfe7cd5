"""Consent: a user's remembered decision per app, and a firm admin's approval for the firm."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from marketplace.audit.services import Actor, record
from marketplace.clock import Clock
from sso.provider.grants import RevokedBecause, revoke_grant, revoke_grants
from sso.provider.models import AppClient, Consent, FirmApproval, Grant
from sso.scopes import scope_list


def covers(granted: str, requested: str) -> bool:
    """Tell whether the scopes granted include every scope requested."""
    return set(scope_list(requested)) <= set(scope_list(granted))


def consent_given(
    session: Session, user_id: int, firm_id: int, app_client_id: int, scope: str
) -> bool:
    """Tell whether the user, or the firm's admin for everyone, already allowed these scopes.

    A user who withdrew their own consent is asked again even when the firm approved the
    app: their withdrawal speaks for them until they allow it anew.
    """
    own = session.scalar(
        sa.select(Consent).where(Consent.user_id == user_id, Consent.app_client_id == app_client_id)
    )
    if own is not None:
        if own.revoked_at is not None:
            return False
        if covers(own.scope, scope):
            return True
    firm = session.scalar(
        sa.select(FirmApproval.scope).where(
            FirmApproval.firm_id == firm_id,
            FirmApproval.app_client_id == app_client_id,
            FirmApproval.revoked_at.is_(None),
        )
    )
    return firm is not None and covers(firm, scope)


def remember_consent(
    session: Session, clock: Clock, user_id: int, app_client_id: int, scope: str
) -> Consent:
    """Record that the user allows the app these scopes (the caller commits)."""
    consent = session.scalar(
        sa.select(Consent).where(Consent.user_id == user_id, Consent.app_client_id == app_client_id)
    )
    now = clock.now()
    if consent is None:
        consent = Consent(user_id=user_id, app_client_id=app_client_id, scope=scope, granted_at=now)
        session.add(consent)
    else:
        kept = consent.scope if consent.revoked_at is None else ""
        consent.scope = " ".join(dict.fromkeys(scope_list(kept) + scope_list(scope)))
        consent.granted_at = now
        consent.revoked_at = None
    session.flush()
    return consent


def consents_of(session: Session, user_id: int) -> list[Consent]:
    """Return the user's live consents, newest first, with their apps loaded."""
    return list(
        session.scalars(
            sa.select(Consent)
            .options(joinedload(Consent.app_client).joinedload(AppClient.listing))
            .where(Consent.user_id == user_id, Consent.revoked_at.is_(None))
            .order_by(Consent.granted_at.desc(), Consent.id.desc())
        )
    )


def withdraw_consent(
    session: Session, clock: Clock, actor: Actor, user_id: int, consent_id: int
) -> bool:
    """Withdraw one of the user's consents and end the app's grants for them; False if none."""
    consent = session.scalar(
        sa.select(Consent).where(
            Consent.id == consent_id, Consent.user_id == user_id, Consent.revoked_at.is_(None)
        )
    )
    if consent is None:
        return False
    consent.revoked_at = clock.now()
    revoke_grants(
        session,
        clock,
        RevokedBecause.CONSENT_WITHDRAWN,
        user_id=user_id,
        app_client_id=consent.app_client_id,
    )
    record(session, clock, actor, "sso.consent_withdrawn", ("app_client", consent.app_client_id))
    session.commit()
    return True


def approve_for_firm(
    session: Session, clock: Clock, actor: Actor, firm_id: int, app_client_id: int, scope: str
) -> FirmApproval:
    """Approve an app for every member of a firm, so none is asked to consent."""
    approval = session.scalar(
        sa.select(FirmApproval).where(
            FirmApproval.firm_id == firm_id, FirmApproval.app_client_id == app_client_id
        )
    )
    now = clock.now()
    if approval is None:
        approval = FirmApproval(
            firm_id=firm_id,
            app_client_id=app_client_id,
            scope=scope,
            approved_by_id=actor.user_id,
            approved_at=now,
        )
        session.add(approval)
    else:
        approval.scope, approval.approved_at, approval.revoked_at = scope, now, None
        approval.approved_by_id = actor.user_id
    record(
        session,
        clock,
        actor,
        "sso.firm_approved_app",
        ("app_client", app_client_id),
        subject_org_id=firm_id,
    )
    session.commit()
    return approval


def _end_grants_resting_on(session: Session, clock: Clock, approval: FirmApproval) -> None:
    """Revoke the firm's grants of the app held by members who never allowed it themselves."""
    allowed_themselves = sa.select(Consent.user_id).where(
        Consent.app_client_id == approval.app_client_id, Consent.revoked_at.is_(None)
    )
    grant_ids = session.scalars(
        sa.select(Grant.id).where(
            Grant.firm_id == approval.firm_id,
            Grant.app_client_id == approval.app_client_id,
            Grant.revoked_at.is_(None),
            Grant.user_id.not_in(allowed_themselves),
        )
    )
    for grant_id in list(grant_ids):
        revoke_grant(session, clock, grant_id, RevokedBecause.FIRM_APPROVAL_WITHDRAWN)


def withdraw_firm_approval(
    session: Session, clock: Clock, actor: Actor, firm_id: int, app_client_id: int
) -> bool:
    """Withdraw a firm's approval; members are asked again next time. False if there was none."""
    approval = session.scalar(
        sa.select(FirmApproval).where(
            FirmApproval.firm_id == firm_id,
            FirmApproval.app_client_id == app_client_id,
            FirmApproval.revoked_at.is_(None),
        )
    )
    if approval is None:
        return False
    approval.revoked_at = clock.now()
    _end_grants_resting_on(session, clock, approval)
    record(
        session,
        clock,
        actor,
        "sso.firm_approval_withdrawn",
        ("app_client", app_client_id),
        subject_org_id=firm_id,
    )
    session.commit()
    return True
