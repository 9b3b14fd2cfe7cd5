"""Take the firm's subsidy programs off invoices as they are finalized.

This is the adjustment registered on the finalization seam: for each live draft of a
firm that belongs to a park with active programs (or is enrolled in one open to
non-members), it finds the programs the firm draws on (joining automatic ones it now
qualifies for), locks their standing, lets the rule
engine grant each line, holds the grants in the quota ledger and appends one subsidy
line per program naming it. All of it commits with the finalization, or none of it.

What a line is granted on is what the firm is charged for it: credits on the invoice
(prorations of a downgrade, say) are set against the charges first, line by line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from billing.invoicing import LineKind, LineValues
from billing.services.bulk import dialect_insert, table_of
from billing.services.finalization import DraftInvoice
from billing.subsidies import ledger
from billing.subsidies.alerts import record_alerts
from billing.subsidies.models import EnrollmentStatus, SubsidyEnrollment
from billing.subsidies.rules import (
    Coverage,
    LineFacts,
    ProgramRules,
    Standing,
    budget_alerts,
    covered,
    grant_invoice,
    set_off_credits,
)
from billing.subsidies.standing import (
    ListingFacts,
    listing_facts_of_subscriptions,
    parks_with_programs,
    programs_drawn,
)
from billing.tax import split_inclusive
from marketplace.audit.services import Actor, record
from marketplace.clock import Clock, market_day
from marketplace.firms.models import SmeProfile

SUBSIDY_KEY = "subsidy"
SYSTEM = Actor(None)


# Pure parts ---------------------------------------------------------------------------------


def line_key(line_id: int) -> str:
    """Return the ledger's key of a stored invoice line."""
    return f"line-{line_id}"


def charged_amounts(lines: Sequence[LineValues]) -> list[int]:
    """Return what the firm is charged on each line once the invoice's credits are set off.

    Existing subsidy lines are neither charges nor credits.
    """
    return set_off_credits([0 if _is_subsidy(ln) else ln.amount_fen for ln in lines])


def _is_subsidy(line: LineValues) -> bool:
    return line.kind == LineKind.SUBSIDY


def line_facts(
    keys: Sequence[str], amounts: Sequence[int], vendor_id: int, listing: ListingFacts
) -> list[LineFacts]:
    """Return the engine's facts of the lines charged something; all share the listing."""
    return [
        LineFacts(key, amount, listing.layer, listing.category_ids, listing.listing_id, vendor_id)
        for key, amount in zip(keys, amounts, strict=True)
        if amount > 0
    ]


def subsidy_lines(
    granted: Mapping[int, int], order: Sequence[int], vat_rate: Decimal
) -> list[LineValues]:
    """Return one subsidy line per program granting something, in the programs' order.

    The line is negative and carries its VAT share, so the invoice's tax falls with it.
    """
    lines = []
    for program_id in order:
        amount = granted.get(program_id, 0)
        if amount > 0:
            split = split_inclusive(-amount, vat_rate)
            lines.append(
                LineValues(
                    LineKind.SUBSIDY,
                    SUBSIDY_KEY,
                    Decimal(1),
                    -amount,
                    split.tax_fen,
                    subsidy_program_id=program_id,
                )
            )
    return lines


def used_fen(rules: ProgramRules, standing: Standing) -> int:
    """Return what the program had used of its budget when the standing was read."""
    return rules.budget_fen - standing.budget_left_fen


# The adjustment -------------------------------------------------------------------------------


def apply_subsidies(session: Session, clock: Clock, drafts: Sequence[DraftInvoice]) -> None:
    """Grant the live drafts of firms that parks' active programs may grant; add subsidy lines."""
    live = [draft for draft in drafts if not draft.sandbox]
    parks = parks_with_programs(session, {draft.organization_id for draft in live})
    if not parks:
        return
    ledger.lock_park_programs(session, set().union(*parks.values()))
    now = clock.now()
    listings = listing_facts_of_subscriptions(
        session, [d.subscription_id for d in live if parks.get(d.organization_id)]
    )
    for draft in live:
        coverage: dict[str, Coverage] = {}
        for park_id in sorted(parks.get(draft.organization_id, ())):
            listing = listings[draft.subscription_id]
            coverage = _apply_park(session, clock, now, draft, park_id, listing, coverage)


def _apply_park(
    session: Session,
    clock: Clock,
    now: datetime,
    draft: DraftInvoice,
    park_id: int,
    listing: ListingFacts,
    coverage: dict[str, Coverage],
) -> dict[str, Coverage]:
    """Grant one draft from one park's programs and append their subsidy lines.

    `coverage` is what earlier parks granted the lines; return it with this park's added,
    so a line drawn on a program that does not stack gets nothing from the next park.
    """
    on = market_day(now)
    drawn = programs_drawn(session, draft.organization_id, park_id, on, now)
    if not drawn:
        return coverage
    for item in drawn:
        if item.joins:
            _join_automatically(session, clock, item.program.id, draft.organization_id, now)
    drawing = [item.rules for item in drawn]
    keys = [line_key(line_id) for line_id in draft.line_ids]
    amounts = charged_amounts(draft.lines[: len(keys)])
    lines = line_facts(keys, amounts, draft.vendor_id, listing)
    if not lines:
        return coverage
    standings = ledger.lock_standings(session, drawing, draft.organization_id, on.year)
    pairs = [(rules, standings[rules.program_id]) for rules in drawing]
    grants = grant_invoice(pairs, lines, on, coverage)
    stored = ledger.reserve(session, clock, draft.id, grants, lines, drawing)
    granted: dict[int, int] = defaultdict(int)
    for grant in stored:
        granted[grant.program_id] += grant.amount_fen
    order = [rules.program_id for rules in drawing]
    draft.lines.extend(subsidy_lines(granted, order, draft.vat_rate))
    for rules, standing in pairs:
        before = used_fen(rules, standing)
        crossed = budget_alerts(rules.budget_fen, before, before + granted[rules.program_id])
        record_alerts(
            session,
            clock,
            rules.program_id,
            rules.budget_fen,
            crossed,
            before + granted[rules.program_id],
        )
    return covered(coverage, drawing, [(g.line_key, g.program_id, g.amount_fen) for g in stored])


# Joining and finding parks -------------------------------------------------------------------


def _join_automatically(
    session: Session, clock: Clock, program_id: int, firm_id: int, now: datetime
) -> None:
    """Record a firm's automatic enrollment once, with the size class it was judged by."""
    profile = session.get(SmeProfile, firm_id)
    inserted = session.execute(
        dialect_insert(session, table_of(SubsidyEnrollment))
        .values(
            program_id=program_id,
            firm_id=firm_id,
            status=EnrollmentStatus.APPROVED,
            requested_at=now,
            decided_at=now,
            size_class=profile.size_class if profile else None,
            size_standard_id=profile.size_standard_id if profile else None,
        )
        .on_conflict_do_nothing(index_elements=["program_id", "firm_id"])
        .returning(table_of(SubsidyEnrollment).c.id)
    ).scalar_one_or_none()
    if inserted is not None:
        record(
            session,
            clock,
            SYSTEM,
            "subsidy_enrollment.joined_automatically",
            ("subsidy_enrollment", inserted),
            after={"program_id": program_id, "status": EnrollmentStatus.APPROVED.value},
            subject_org_id=firm_id,
        )


# Budget alerts --------------------------------------------------------------------------------
