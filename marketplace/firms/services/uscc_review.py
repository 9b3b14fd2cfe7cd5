"""The operator's queue of credit codes that failed the check character, and its decisions."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock
from marketplace.errors import Conflict, NotFound, ValidationFailed
from marketplace.firms.models import SmeProfile, UsccStatus

NOTE_MAX = 500
REVIEW_FIELDS = ("uscc", "uscc_status", "uscc_review_note")


def unverified_codes(session: Session) -> list[SmeProfile]:
    """Return the profiles whose code awaits an operator, oldest registration first."""
    stmt = (
        sa.select(SmeProfile)
        .options(joinedload(SmeProfile.organization))
        .where(SmeProfile.uscc_status == UsccStatus.UNVERIFIED)
        .order_by(SmeProfile.created_at, SmeProfile.organization_id)
    )
    return list(session.scalars(stmt))


def confirm_uscc(
    session: Session, clock: Clock, actor: Actor, organization_id: int, note: str | None
) -> SmeProfile:
    """Accept an unverified code as genuine (an early pilot-area code, say)."""
    return _review(session, clock, actor, organization_id, note, UsccStatus.CONFIRMED)


def reject_uscc(
    session: Session, clock: Clock, actor: Actor, organization_id: int, note: str | None
) -> SmeProfile:
    """Refuse an unverified code; the note tells the firm what to correct."""
    if not (note or "").strip():
        raise ValidationFailed({"note": _("Say why the code is rejected.")})
    return _review(session, clock, actor, organization_id, note, UsccStatus.REJECTED)


def _review(
    session: Session,
    clock: Clock,
    actor: Actor,
    organization_id: int,
    note: str | None,
    status: UsccStatus,
) -> SmeProfile:
    text = (note or "").strip()
    if len(text) > NOTE_MAX:
        raise ValidationFailed({"note": _("Use at most %(count)d characters.", count=NOTE_MAX)})
    profile = session.get(SmeProfile, organization_id)
    if profile is None:
        raise NotFound(_("No such firm."))
    if profile.uscc_status != UsccStatus.UNVERIFIED:
        raise Conflict(_("This credit code is not awaiting confirmation."))
    before = snapshot(profile, REVIEW_FIELDS)
    profile.uscc_status = status
    profile.uscc_review_note = text or None
    profile.uscc_reviewed_by_id = actor.user_id
    profile.uscc_reviewed_at = clock.now()
    record(
        session,
        clock,
        actor,
        f"uscc.{status.value}",
        ("sme_profile", organization_id),
        before=before,
        after=snapshot(profile, REVIEW_FIELDS),
        subject_org_id=organization_id,
    )
    session.commit()
    return profile
