"""Read a park's subsidy programs: their budgets used, versions, rules in force and policy.

Every read is scoped to the park asked about: another park's program is not found. The
writes that change programs live in billing.subsidies.programs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, selectinload

from billing.subsidies.ledger import ProgramUsage, programs_usage
from billing.subsidies.models import (
    SubsidyParkPolicy,
    SubsidyProgram,
    SubsidyProgramVersion,
)
from billing.subsidies.program_rules import rules_of
from billing.subsidies.rules import ProgramRules
from catalog.models import Category, Listing, ListingStatus, ListingVersion
from catalog.services.listings import published_version
from marketplace.clock import Clock
from marketplace.errors import NotFound
from marketplace.firms.services.standards import NoStandardInForce, current_standard
from marketplace.firms.sme_size import IndustryRule
from marketplace.orgs.models import Organization


@dataclass(frozen=True)
class ProgramSummary:
    """A program with what it has used of its budget."""

    program: SubsidyProgram
    usage: ProgramUsage

    @property
    def used_fen(self) -> int:
        """Return what the program has held or settled."""
        return self.program.budget_fen - self.usage.remaining_fen


@dataclass(frozen=True)
class ProgramDetail:
    """A program, its usage, its versions (newest first) and the rules in force now."""

    program: SubsidyProgram
    usage: ProgramUsage
    versions: list[SubsidyProgramVersion]
    in_force: SubsidyProgramVersion | None
    rules_in_force: ProgramRules | None

    @property
    def used_fen(self) -> int:
        """Return what the program has held or settled."""
        return self.program.budget_fen - self.usage.remaining_fen

    @property
    def newest(self) -> SubsidyProgramVersion:
        """Return the newest version written (it may take effect later)."""
        return self.versions[0]


def park_programs(session: Session, park_id: int) -> list[ProgramSummary]:
    """List the park's programs, newest first, with what each has used of its budget."""
    programs = list(
        session.scalars(
            sa.select(SubsidyProgram)
            .where(SubsidyProgram.park_id == park_id)
            .order_by(SubsidyProgram.id.desc())
        )
    )
    usage = programs_usage(session, programs)
    return [ProgramSummary(program, usage[program.id]) for program in programs]


def program_detail(session: Session, park_id: int, program_id: int, at: datetime) -> ProgramDetail:
    """Return one program of the park with its versions and the rules in force at `at`."""
    program = park_program(session, park_id, program_id)
    versions = list(
        session.scalars(
            sa.select(SubsidyProgramVersion)
            .where(SubsidyProgramVersion.program_id == program.id)
            .order_by(SubsidyProgramVersion.version.desc())
        )
    )
    in_force = next((v for v in versions if v.takes_effect_at <= at), None)
    rules = (
        None
        if in_force is None
        else rules_of(program.id, in_force.version, program.budget_fen, in_force.rules)
    )
    return ProgramDetail(
        program, programs_usage(session, [program])[program.id], versions, in_force, rules
    )


def park_program(session: Session, park_id: int, program_id: int) -> SubsidyProgram:
    """Return a program of this park; another park's program is not found."""
    program = session.scalar(
        sa.select(SubsidyProgram).where(
            SubsidyProgram.id == program_id, SubsidyProgram.park_id == park_id
        )
    )
    if program is None:
        raise NotFound(_("No such subsidy program in this park."))
    return program


def park_policy(session: Session, park_id: int) -> int | None:
    """Return the park's cap on a firm's subsidy per calendar year, None when there is none."""
    return session.scalar(
        sa.select(SubsidyParkPolicy.firm_year_cap_fen).where(SubsidyParkPolicy.park_id == park_id)
    )


@dataclass(frozen=True)
class RuleOptions:
    """What a program's rules may name: categories, live listings, their vendors, industries."""

    categories: list[Category]
    listings: list[tuple[Listing, ListingVersion]]
    vendors: list[Organization]
    industries: list[IndustryRule]


def rule_options(session: Session, clock: Clock) -> RuleOptions:
    """Return what rules may name: categories, live listings, their vendors, industries."""
    categories = list(
        session.scalars(
            sa.select(Category).order_by(Category.kind, Category.sort_order, Category.id)
        )
    )
    rows = session.scalars(
        sa.select(Listing)
        .options(selectinload(Listing.versions), selectinload(Listing.vendor))
        .where(Listing.status == ListingStatus.PUBLISHED, Listing.sandbox.is_(False))
        .order_by(Listing.id)
    )
    listings = [(row, version) for row in rows if (version := published_version(row))]
    vendors = {listing.vendor_id: listing.vendor for listing, _version in listings}
    try:
        industries = list(current_standard(session, clock).industries.values())
    except NoStandardInForce:
        industries = []
    return RuleOptions(
        categories, listings, sorted(vendors.values(), key=lambda org: org.name), industries
    )
