"""Read what subsidy decisions rest on: versions in force, a firm's facts, its programs.

Eligibility is judged in full when a firm joins a program (by application or, for an
automatic program, at its first invoice); at every invoice after that the firm draws on
the programs it joined while it stays a member of the park and is not flagged 严重失信
where the program excludes such firms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus, Subscription
from billing.subsidies.eligibility import FirmFacts, Unmet, unmet_rules
from billing.subsidies.models import (
    EnrollmentMode,
    EnrollmentStatus,
    ProgramStatus,
    SubsidyEnrollment,
    SubsidyProgram,
    SubsidyProgramVersion,
)
from billing.subsidies.program_rules import rules_of
from billing.subsidies.rules import Layer, ProgramRules
from catalog.models import Category, ListingVersion, ReviewStatus, listing_version_categories
from marketplace.firms.models import ParkMembership, ParkMembershipStatus, SmeProfile

# Rules a firm must still meet at every invoice, not only when it joined.
STANDING_RULES = frozenset({Unmet.DISHONEST, Unmet.NOT_PARK_MEMBER})


@dataclass(frozen=True)
class ListingFacts:
    """What qualifying looks at in the listing an invoice is for."""

    listing_id: int
    layer: Layer | None
    category_ids: frozenset[int]


@dataclass(frozen=True)
class Drawn:
    """A program a firm draws on now; joins when this is an automatic program's first use."""

    program: SubsidyProgram
    rules: ProgramRules
    joins: bool


@dataclass(frozen=True)
class ProgramInForce:
    """A program with the version of its rules in force at a moment."""

    program: SubsidyProgram
    rules: ProgramRules


def versions_in_force(
    session: Session, programs: Iterable[SubsidyProgram], at: datetime
) -> list[ProgramInForce]:
    """Return each program with its newest version taking effect at or before `at`.

    A program whose first version takes effect later is left out.
    """
    by_id = {program.id: program for program in programs}
    if not by_id:
        return []
    version = SubsidyProgramVersion
    newest = (
        sa.select(version.program_id, sa.func.max(version.version).label("version"))
        .where(version.program_id.in_(list(by_id)), version.takes_effect_at <= at)
        .group_by(version.program_id)
        .subquery()
    )
    rows = session.execute(
        sa.select(version).join(
            newest,
            sa.and_(version.program_id == newest.c.program_id, version.version == newest.c.version),
        )
    ).scalars()
    found = [
        ProgramInForce(
            by_id[row.program_id],
            rules_of(row.program_id, row.version, by_id[row.program_id].budget_fen, row.rules),
        )
        for row in rows
    ]
    return sorted(found, key=lambda p: (p.rules.priority, p.program.id))


def member_parks(session: Session, firm_id: int) -> set[int]:
    """Return the parks the firm is an approved member of."""
    return set(
        session.scalars(
            sa.select(ParkMembership.park_id).where(
                ParkMembership.firm_id == firm_id,
                ParkMembership.status == ParkMembershipStatus.APPROVED,
            )
        )
    )


def has_paid_invoice(session: Session, firm_id: int) -> bool:
    """Say whether the firm ever paid a (non-sandbox) invoice for something."""
    return bool(
        session.scalar(
            sa.select(
                sa.exists().where(
                    Invoice.organization_id == firm_id,
                    Invoice.sandbox.is_(False),
                    Invoice.status == InvoiceStatus.PAID,
                    Invoice.total_fen > 0,
                )
            )
        )
    )


def firm_facts(session: Session, firm_id: int, park_id: int) -> FirmFacts | None:
    """Return what eligibility looks at for a firm and a park; None for an unregistered firm."""
    profile = session.get(SmeProfile, firm_id)
    if profile is None:
        return None
    return FirmFacts(
        firm_id=firm_id,
        size_class=profile.size_class,
        industry_code=profile.industry_code,
        legal_form=profile.legal_form,
        registered_on=profile.established_on,
        dishonest=profile.seriously_dishonest,
        had_paid_cloud_invoice_before=has_paid_invoice(session, firm_id),
        park_member=park_id in member_parks(session, firm_id),
    )


def unmet_for(rules: ProgramRules, facts: FirmFacts | None, on: date) -> tuple[Unmet, ...]:
    """Name the rules a firm does not meet; an unregistered firm meets none that ask."""
    if facts is None:
        return tuple(Unmet)
    return unmet_rules(rules.eligibility, facts, on)


def still_standing(rules: ProgramRules, facts: FirmFacts | None, on: date) -> bool:
    """Say whether a joined firm still meets the rules checked at every invoice."""
    return not STANDING_RULES & set(unmet_for(rules, facts, on))


def active_programs(session: Session, park_ids: Iterable[int]) -> list[SubsidyProgram]:
    """Return the active programs of some parks, by id."""
    ids = list(park_ids)
    if not ids:
        return []
    return list(
        session.scalars(
            sa.select(SubsidyProgram)
            .where(SubsidyProgram.park_id.in_(ids), SubsidyProgram.status == ProgramStatus.ACTIVE)
            .order_by(SubsidyProgram.id)
        )
    )


def enrollments_of(
    session: Session, firm_id: int, program_ids: Sequence[int]
) -> dict[int, SubsidyEnrollment]:
    """Return the firm's enrollments in some programs, by program id."""
    if not program_ids:
        return {}
    rows = session.scalars(
        sa.select(SubsidyEnrollment).where(
            SubsidyEnrollment.firm_id == firm_id,
            SubsidyEnrollment.program_id.in_(list(program_ids)),
        )
    )
    return {row.program_id: row for row in rows}


def joins_automatically(program: SubsidyProgram, enrollment: SubsidyEnrollment | None) -> bool:
    """Say whether a firm without a decision joins this program at its first invoice."""
    return program.enrollment == EnrollmentMode.AUTOMATIC and enrollment is None


def is_enrolled(enrollment: SubsidyEnrollment | None) -> bool:
    """Say whether an enrollment lets the firm draw on the program."""
    return enrollment is not None and enrollment.status == EnrollmentStatus.APPROVED


def programs_drawn(
    session: Session, firm_id: int, park_id: int, on: date, now: datetime
) -> list[Drawn]:
    """Return the park's active programs, with their rules in force, the firm draws on now.

    A firm enrolled in a program draws on it while it still stands (member, not flagged);
    an automatic program takes in a firm with no decision yet when it meets every rule.
    Reads only: the caller records the automatic enrollments when it grants.
    """
    in_force = versions_in_force(session, active_programs(session, [park_id]), now)
    enrollments = enrollments_of(session, firm_id, [item.program.id for item in in_force])
    facts = firm_facts(session, firm_id, park_id) if in_force else None
    drawn = []
    for item in in_force:
        enrollment = enrollments.get(item.program.id)
        if is_enrolled(enrollment) and still_standing(item.rules, facts, on):
            drawn.append(Drawn(item.program, item.rules, joins=False))
        elif joins_automatically(item.program, enrollment) and not unmet_for(item.rules, facts, on):
            drawn.append(Drawn(item.program, item.rules, joins=True))
    return drawn


def parks_with_programs(session: Session, firm_ids: Iterable[int]) -> dict[int, set[int]]:
    """Return, per firm, the parks that may grant it: those running an active program that
    it belongs to, or in which it is enrolled (a program open to non-members). One query.
    """
    ids = list(firm_ids)
    if not ids:
        return {}
    members = sa.select(ParkMembership.firm_id, ParkMembership.park_id).where(
        ParkMembership.firm_id.in_(ids),
        ParkMembership.status == ParkMembershipStatus.APPROVED,
        sa.exists().where(
            SubsidyProgram.park_id == ParkMembership.park_id,
            SubsidyProgram.status == ProgramStatus.ACTIVE,
        ),
    )
    enrolled = (
        sa.select(SubsidyEnrollment.firm_id, SubsidyProgram.park_id)
        .join(SubsidyProgram, SubsidyProgram.id == SubsidyEnrollment.program_id)
        .where(
            SubsidyEnrollment.firm_id.in_(ids),
            SubsidyEnrollment.status == EnrollmentStatus.APPROVED,
            SubsidyProgram.status == ProgramStatus.ACTIVE,
        )
    )
    parks: dict[int, set[int]] = defaultdict(set)
    for firm_id, park_id in session.execute(sa.union(members, enrolled)):
        parks[firm_id].add(park_id)
    return parks


def listing_facts_of_subscriptions(
    session: Session, subscription_ids: Sequence[int]
) -> dict[int, ListingFacts]:
    """Return, per subscription, its listing's layer and categories (published version)."""
    if not subscription_ids:
        return {}
    listing_of = dict(
        session.execute(
            sa.select(Subscription.id, Subscription.listing_id).where(
                Subscription.id.in_(list(subscription_ids))
            )
        ).all()
    )
    facts = listing_facts(session, set(listing_of.values()))
    empty = {lid: ListingFacts(lid, None, frozenset()) for lid in listing_of.values()}
    return {sid: facts.get(lid, empty[lid]) for sid, lid in listing_of.items()}


def listing_facts(session: Session, listing_ids: set[int]) -> dict[int, ListingFacts]:
    """Read the newest approved version of each listing: its layer and its categories."""
    newest = (
        sa.select(ListingVersion.listing_id, sa.func.max(ListingVersion.version).label("version"))
        .where(
            ListingVersion.listing_id.in_(listing_ids),
            ListingVersion.review_status == ReviewStatus.APPROVED,
        )
        .group_by(ListingVersion.listing_id)
        .subquery()
    )
    versions = session.execute(
        sa.select(ListingVersion.id, ListingVersion.listing_id, Category.id, Category.code)
        .join(
            newest,
            sa.and_(
                ListingVersion.listing_id == newest.c.listing_id,
                ListingVersion.version == newest.c.version,
            ),
        )
        .outerjoin(Category, Category.id == ListingVersion.layer_category_id)
    ).all()
    categories: dict[int, set[int]] = defaultdict(set)
    version_ids = [row[0] for row in versions]
    for version_id, category_id in session.execute(
        sa.select(
            listing_version_categories.c.listing_version_id,
            listing_version_categories.c.category_id,
        ).where(listing_version_categories.c.listing_version_id.in_(version_ids))
    ):
        categories[version_id].add(category_id)
    facts = {}
    for version_id, listing_id, layer_id, layer_code in versions:
        ids = set(categories[version_id]) | ({layer_id} if layer_id is not None else set())
        layer = Layer(layer_code) if layer_code in {item.value for item in Layer} else None
        facts[listing_id] = ListingFacts(listing_id, layer, frozenset(ids))
    return facts
