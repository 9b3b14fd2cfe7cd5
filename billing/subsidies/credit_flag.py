"""The operator flags a firm as seriously dishonest (严重失信); programs may exclude it.

The flag comes from the national credit list (严重失信主体名单); a note says where the
operator saw it. Clearing the flag may say why. Both are audited.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock
from marketplace.console.services import operator_membership
from marketplace.errors import NotFound
from marketplace.firms.models import SmeProfile
from marketplace.text_input import checked_text

FLAG_FIELDS = ("seriously_dishonest", "dishonest_note")


def firm_credit(session: Session, actor: Actor, firm_id: int) -> SmeProfile:
    """Return a firm's profile for the operator to read its 严重失信 flag."""
    operator_membership(session, actor)
    profile = session.get(SmeProfile, firm_id)
    if profile is None:
        raise NotFound(_("No such registered firm."))
    return profile


def flag_dishonest(
    session: Session, clock: Clock, actor: Actor, firm_id: int, flagged: bool, note: str
) -> SmeProfile:
    """Flag a firm as seriously dishonest (严重失信), or clear the flag; a flag needs a note."""
    operator_membership(session, actor, acting=True)
    profile = session.get(SmeProfile, firm_id, with_for_update=True)
    if profile is None:
        raise NotFound(_("No such registered firm."))
    text = checked_text(note, "note", required=flagged, missing=_("Say where the firm is listed."))
    before = snapshot(profile, FLAG_FIELDS)
    profile.seriously_dishonest = flagged
    profile.dishonest_note = text
    record(
        session,
        clock,
        actor,
        "sme_profile.dishonest_flagged" if flagged else "sme_profile.dishonest_cleared",
        ("sme_profile", firm_id),
        before=before,
        after=snapshot(profile, FLAG_FIELDS),
        subject_org_id=firm_id,
    )
    session.commit()
    return profile
