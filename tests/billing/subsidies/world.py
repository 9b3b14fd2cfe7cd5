"""A park with an admin, a registered member firm, a vendor's plan, and programs to add.

Shared by the subsidy tests of services, pages and reports. Call inside an app and
request context (the `subsidy_world` fixture of this package's conftest does).
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from billing.subsidies.models import (
    EnrollmentMode,
    EnrollmentStatus,
    ProgramStatus,
    SubsidyEnrollment,
    SubsidyProgram,
    SubsidyProgramVersion,
)
from billing.subsidies.program_rules import check_rules
from catalog.models import Listing
from marketplace.accounts.models import User
from marketplace.firms.models import ParkMembership, ParkMembershipStatus, SmeProfile
from marketplace.orgs.models import Organization, OrgKind
from tests.billing.conftest import new_plan
from tests.factories import make_member, make_org
from tests.firms.conftest import firm_with_owner

_serial = itertools.count(1)

# 50% of everything bought in 2026, no caps, for any member SME.
SIMPLE_RULES: dict[str, Any] = {
    "priority": 100,
    "stackable": False,
    "invoices_from": "2026-01-01",
    "invoices_until": "2026-12-31",
    "rate_steps": [{"starts_on": "2026-01-01", "default_rate": "0.5", "layer_rates": {}}],
    "caps": {},
    "qualifying": {},
    "eligibility": {"size_classes": ["micro", "small", "medium"]},
    "vendor_quotas_fen": {},
}


def simple_rules(**changes: Any) -> dict[str, Any]:
    """Return a copy of SIMPLE_RULES with top-level keys replaced."""
    return copy.deepcopy(SIMPLE_RULES) | changes


@dataclass
class SubsidyWorld:
    """What most subsidy tests start from."""

    park: Organization
    park_admin: User
    firm: SmeProfile
    firm_owner: User
    vendor: Organization
    listing_id: int
    plan_id: int

    @property
    def firm_id(self) -> int:
        """The member firm's organization id."""
        return self.firm.organization_id


def add_member_firm(session: Session, park: Organization, now: datetime) -> tuple[SmeProfile, User]:
    """Register a small software firm and make it an approved member of the park."""
    profile, owner = firm_with_owner()
    session.add(
        ParkMembership(
            park_id=park.id,
            firm_id=profile.organization_id,
            status=ParkMembershipStatus.APPROVED,
            requested_at=now,
            decided_at=now,
        )
    )
    session.flush()
    return profile, owner


def add_vendor_plan(session: Session) -> tuple[Organization, int, int]:
    """Publish a listing with a ¥100-a-month plan (plus ¥30 a seat); return its vendor and ids."""
    plan = new_plan(auto_activate=True)
    listing = session.get(Listing, plan.listing_id)
    assert listing is not None
    return listing.vendor, listing.id, plan.id


def make_subsidy_world(session: Session, now: datetime) -> SubsidyWorld:
    """Build a park with an owner, one member firm and one vendor plan."""
    park = make_org(OrgKind.PARK, f"Park {next(_serial)}")
    admin = make_member(park)
    firm, owner = add_member_firm(session, park, now)
    vendor, listing_id, plan_id = add_vendor_plan(session)
    return SubsidyWorld(park, admin, firm, owner, vendor, listing_id, plan_id)


def add_program(
    session: Session,
    park_id: int,
    now: datetime,
    *,
    rules: dict[str, Any] | None = None,
    budget_fen: int = 1_000_000,
    enrollment: str = EnrollmentMode.AUTOMATIC,
    status: str = ProgramStatus.ACTIVE,
    name: str | None = None,
) -> SubsidyProgram:
    """Add a program with its first version in force from now."""
    program = SubsidyProgram(
        park_id=park_id,
        name=name or f"上云券 {next(_serial)}",
        description="",
        status=status,
        enrollment=enrollment,
        budget_fen=budget_fen,
        current_version=1,
        created_at=now,
        updated_at=now,
    )
    session.add(program)
    session.flush()
    session.add(
        SubsidyProgramVersion(
            program_id=program.id,
            version=1,
            rules=check_rules(rules if rules is not None else SIMPLE_RULES),
            takes_effect_at=now,
            created_at=now,
        )
    )
    session.flush()
    return program


def enroll(session: Session, program_id: int, firm_id: int, now: datetime) -> SubsidyEnrollment:
    """Add an approved enrollment of a firm in a program."""
    row = SubsidyEnrollment(
        program_id=program_id,
        firm_id=firm_id,
        status=EnrollmentStatus.APPROVED,
        requested_at=now,
        decided_at=now,
    )
    session.add(row)
    session.flush()
    return row
