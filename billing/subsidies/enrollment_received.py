"""What subsidy a firm has received so far, program by program, against the caps in force.

Read for the firm's own page: live grants (held or settled, not given back) per program
against the per-firm cap, the claims made against the first- and later-claim caps, and,
per park, this calendar year's grants against the park's annual cap per firm.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.subsidies.ledger import LIVE_GRANTS, firm_year_used
from billing.subsidies.models import (
    EnrollmentStatus,
    SubsidyEnrollment,
    SubsidyGrant,
    SubsidyParkPolicy,
    SubsidyProgram,
)
from billing.subsidies.rules import Caps
from billing.subsidies.standing import versions_in_force
from marketplace.clock import market_day
from marketplace.orgs.models import Organization


@dataclass(frozen=True)
class ProgramReceived:
    """What one program has granted the firm, against the program's caps in force."""

    program: SubsidyProgram
    caps: Caps | None
    granted_fen: int
    claims: int

    @property
    def per_firm_left_fen(self) -> int | None:
        """Return what the per-firm cap still allows; None when uncapped."""
        cap = self.caps.per_firm_fen if self.caps else None
        return None if cap is None else max(cap - self.granted_fen, 0)

    @property
    def next_claim_cap_fen(self) -> int | None:
        """Return the cap on the firm's next claim: the first claim's or a later one's."""
        return self.caps.claim_fen(self.claims) if self.caps else None


@dataclass(frozen=True)
class ParkReceived:
    """One park's programs the firm drew on, and its use of the park's annual cap."""

    park: Organization
    year: int
    year_cap_fen: int | None
    year_used_fen: int
    programs: list[ProgramReceived]


def received_against_caps(session: Session, firm_id: int, now: datetime) -> list[ParkReceived]:
    """Return, per park, what the firm's enrolled or granted programs gave it, against caps."""
    granted = _live_grants(session, firm_id)
    enrolled = session.scalars(
        sa.select(SubsidyEnrollment.program_id).where(
            SubsidyEnrollment.firm_id == firm_id,
            SubsidyEnrollment.status == EnrollmentStatus.APPROVED,
        )
    )
    ids = set(enrolled) | set(granted)
    programs = list(
        session.scalars(
            sa.select(SubsidyProgram).where(SubsidyProgram.id.in_(ids)).order_by(SubsidyProgram.id)
        )
    )
    caps = {item.program.id: item.rules.caps for item in versions_in_force(session, programs, now)}
    year = market_day(now).year
    by_park: dict[int, list[ProgramReceived]] = {}
    for program in programs:
        total, claims = granted.get(program.id, (0, 0))
        received = ProgramReceived(program, caps.get(program.id), total, claims)
        by_park.setdefault(program.park_id, []).append(received)
    return [
        _park_received(session, park_id, firm_id, year, items) for park_id, items in by_park.items()
    ]


def _live_grants(session: Session, firm_id: int) -> dict[int, tuple[int, int]]:
    """Return per program the firm's live grants: their sum and the invoices they are on."""
    grant = SubsidyGrant
    rows = session.execute(
        sa.select(
            grant.program_id,
            sa.func.sum(grant.amount_fen),
            sa.func.count(sa.distinct(grant.invoice_id)),
        )
        .where(grant.firm_id == firm_id, grant.status.in_(LIVE_GRANTS))
        .group_by(grant.program_id)
    )
    return {program_id: (int(total), int(count)) for program_id, total, count in rows}


def _park_received(
    session: Session, park_id: int, firm_id: int, year: int, items: list[ProgramReceived]
) -> ParkReceived:
    """Add a park's annual cap and the firm's use of it this year."""
    park = session.get(Organization, park_id)
    assert park is not None  # the programs' foreign key holds it
    cap = session.scalar(
        sa.select(SubsidyParkPolicy.firm_year_cap_fen).where(SubsidyParkPolicy.park_id == park_id)
    )
    used = firm_year_used(session, park_id, firm_id, year)
    return ParkReceived(park, year, cap, used, items)
