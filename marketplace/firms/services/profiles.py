"""Register an SME firm, show its profile and change it, classifying its size each time."""

from __future__ import annotations

from dataclasses import dataclass, replace

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from marketplace.accounts.access import ensure_confirmed
from marketplace.accounts.models import User
from marketplace.audit.services import Actor, record, snapshot
from marketplace.clock import Clock
from marketplace.errors import NotFound, Unauthorized, ValidationFailed
from marketplace.firms.models import SmeProfile, UsccStatus
from marketplace.firms.services.access import managed_organization
from marketplace.firms.services.firm_details import (
    CleanFirmDetails,
    FieldErrors,
    FirmDetails,
    read_firm_details,
    require_clean,
)
from marketplace.firms.services.standards import (
    FIRM_TIME_ZONE,
    current_standard,
    firm_today,
    standard_by_id,
)
from marketplace.firms.sme_size import SizeStandard, classify
from marketplace.money import fen_to_wan, wan_to_fen
from marketplace.orgs.models import OrgKind
from marketplace.orgs.services import add_organization

PROFILE_FIELDS = (
    "legal_name",
    "uscc",
    "uscc_status",
    "legal_form",
    "region_code",
    "industry_code",
    "staff_count",
    "revenue_fen",
    "total_assets_fen",
    "established_on",
    "size_class",
    "size_standard_id",
)
# How PostgreSQL and SQLite name the broken constraint when two firms claim one code.
USCC_UNIQUE_MARKERS = ("uq_sme_profiles_uscc", "sme_profiles.uscc")


@dataclass(frozen=True)
class FirmProfile:
    """A firm's profile, the standard it was classified under and the one in force today."""

    profile: SmeProfile
    classified_under: SizeStandard
    in_force: SizeStandard


def register_firm(session: Session, clock: Clock, actor: Actor, details: FirmDetails) -> SmeProfile:
    """Create an SME organization owned by the actor, with its classified profile."""
    user = _confirmed_user(session, actor)
    standard = current_standard(session, clock)
    errors = FieldErrors()
    clean = read_firm_details(details, standard, firm_today(clock), errors)
    if clean is not None and _uscc_taken(session, clean.uscc.code):
        errors.add("uscc", _uscc_taken_message())
    clean = require_clean(clean, errors)
    org = add_organization(
        session, clock, kind=OrgKind.SME, name=clean.legal_name, owner=user, actor=actor
    )
    profile = SmeProfile(organization_id=org.id, created_at=clock.now())
    _apply(profile, clean, standard, clock)
    profile.uscc_status = clean.uscc.status
    session.add(profile)
    _flush_unless_uscc_taken(session)
    record(
        session,
        clock,
        replace(actor, org_id=org.id),
        "firm.registered",
        ("sme_profile", org.id),
        after=snapshot(profile, PROFILE_FIELDS),
        subject_org_id=org.id,
    )
    session.commit()
    return profile


def update_firm(
    session: Session, clock: Clock, actor: Actor, organization_id: int, details: FirmDetails
) -> SmeProfile:
    """Change a firm's details, re-check a changed credit code and classify again."""
    managed_organization(session, actor, organization_id, OrgKind.SME)
    profile = _profile_of(session, organization_id)
    standard = current_standard(session, clock)
    errors = FieldErrors()
    clean = read_firm_details(details, standard, firm_today(clock), errors)
    if clean is not None:
        _check_code_change(session, profile, clean, errors)
    clean = require_clean(clean, errors)
    before = snapshot(profile, PROFILE_FIELDS)
    if clean.uscc.code != profile.uscc:
        _start_code_review(profile, clean)
    _apply(profile, clean, standard, clock)
    profile.organization.name = clean.legal_name
    _flush_unless_uscc_taken(session)
    after = snapshot(profile, PROFILE_FIELDS)
    record(
        session,
        clock,
        actor,
        "firm.updated",
        ("sme_profile", organization_id),
        before=before,
        after=after,
        subject_org_id=organization_id,
    )
    session.commit()
    return profile


def firm_profile(session: Session, clock: Clock, organization_id: int) -> FirmProfile:
    """Return the acting firm's profile with the standards that name its industry and size."""
    profile = _profile_of(session, organization_id)
    return FirmProfile(
        profile=profile,
        classified_under=standard_by_id(session, profile.size_standard_id),
        in_force=current_standard(session, clock),
    )


def details_of(profile: SmeProfile) -> FirmDetails:
    """Return a profile as the form shows it, figures in 万元."""
    return FirmDetails(
        legal_name=profile.legal_name,
        uscc=profile.uscc,
        region_code=profile.region_code,
        industry_code=profile.industry_code,
        staff="" if profile.staff_count is None else str(profile.staff_count),
        revenue_wan=_wan_text(profile.revenue_fen),
        assets_wan=_wan_text(profile.total_assets_fen),
        established_on=profile.established_on.isoformat() if profile.established_on else "",
    )


def profile_of(session: Session, organization_id: int) -> SmeProfile | None:
    """Return the organization's profile, or None when the firm has not registered."""
    return session.get(SmeProfile, organization_id)


def _profile_of(session: Session, organization_id: int) -> SmeProfile:
    profile = profile_of(session, organization_id)
    if profile is None:
        raise NotFound(_("This firm has not been registered yet."))
    return profile


def _confirmed_user(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise Unauthorized()
    ensure_confirmed(user)
    return user


def _apply(
    profile: SmeProfile, clean: CleanFirmDetails, standard: SizeStandard, clock: Clock
) -> None:
    figures = clean.figures
    profile.legal_name = clean.legal_name
    profile.uscc = clean.uscc.code
    profile.legal_form = clean.uscc.legal_form
    profile.region_code = clean.region_code
    profile.industry_code = clean.industry.code
    profile.staff_count = figures.staff
    profile.revenue_fen = None if figures.revenue_wan is None else wan_to_fen(figures.revenue_wan)
    profile.total_assets_fen = (
        None if figures.assets_wan is None else wan_to_fen(figures.assets_wan)
    )
    profile.established_on = clean.established_on
    profile.size_class = classify(standard, clean.industry.code, figures)
    profile.size_standard_id = standard.id
    profile.classified_at = clock.now()
    profile.updated_at = clock.now()
    profile.time_zone = FIRM_TIME_ZONE.key


def _check_code_change(
    session: Session, profile: SmeProfile, clean: CleanFirmDetails, errors: FieldErrors
) -> None:
    if clean.uscc.code == profile.uscc:
        if profile.uscc_status == UsccStatus.REJECTED:
            note = profile.uscc_review_note or ""
            errors.add("uscc", _("An operator rejected this code: %(note)s Correct it.", note=note))
        return
    if _uscc_taken(session, clean.uscc.code):
        errors.add("uscc", _uscc_taken_message())


def _start_code_review(profile: SmeProfile, clean: CleanFirmDetails) -> None:
    # A new code is a new claim: an earlier operator review does not carry over to it.
    profile.uscc_status = clean.uscc.status
    profile.uscc_reviewed_by_id = None
    profile.uscc_reviewed_at = None
    profile.uscc_review_note = None


def _uscc_taken(session: Session, code: str) -> bool:
    stmt = sa.select(sa.literal(True)).where(SmeProfile.uscc == code)
    return session.scalar(stmt) is not None


def _uscc_taken_message() -> str:
    return str(_("A firm with this credit code is already registered."))


def _flush_unless_uscc_taken(session: Session) -> None:
    # The read above can race with another registration; the unique constraint decides.
    try:
        session.flush()
    except IntegrityError as error:
        session.rollback()
        if any(marker in str(error.orig) for marker in USCC_UNIQUE_MARKERS):
            raise ValidationFailed({"uscc": _uscc_taken_message()}) from error
        raise


def _wan_text(amount_fen: int | None) -> str:
    if amount_fen is None:
        return ""
    return format(fen_to_wan(amount_fen).normalize(), "f")
