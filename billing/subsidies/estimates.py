"""Estimate what a firm's park programs would take off a price, without holding anything.

The listing page's calculator and the subscription page's next-invoice preview show it.
It runs the same engine on the same programs as finalization, reading the standing
without locks, so it is an estimate: another firm's invoice may spend the budget first.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flask import g, render_template
from markupsafe import Markup
from sqlalchemy.orm import Session

from billing.subsidies.ledger import read_standings
from billing.subsidies.rules import Coverage, LineFacts, covered, grant_invoice, set_off_credits
from billing.subsidies.standing import listing_facts, parks_with_programs, programs_drawn
from catalog.models import ListingVersion
from catalog.pricing import Quote
from marketplace.clock import current_clock, market_day
from marketplace.orgs.models import OrgKind


@dataclass(frozen=True)
class EstimatedGrant:
    """What one program would take off."""

    program_id: int
    program_name: str
    amount_fen: int


@dataclass(frozen=True)
class SubsidyEstimate:
    """The programs' estimated grants on a price, and what the firm would pay."""

    charged_fen: int
    grants: tuple[EstimatedGrant, ...]

    @property
    def subsidy_fen(self) -> int:
        """Return the estimated subsidy in all."""
        return sum(grant.amount_fen for grant in self.grants)

    @property
    def firm_pays_fen(self) -> int:
        """Return what the firm would pay after the subsidy."""
        return self.charged_fen - self.subsidy_fen


def estimate_subsidy(
    session: Session,
    firm_id: int,
    listing_id: int,
    vendor_id: int,
    amounts: Sequence[int],
    now: datetime,
) -> SubsidyEstimate | None:
    """Estimate the subsidy on charges of a listing (gross fen); None when no program applies."""
    parks = parks_with_programs(session, [firm_id]).get(firm_id, set())
    if not parks:
        return None
    on = market_day(now)
    listing = listing_facts(session, {listing_id}).get(listing_id)
    charged = set_off_credits(amounts)
    keys = [f"line-{n}" for n in range(len(charged))]
    coverage: dict[str, Coverage] = {}
    grants: dict[int, int] = defaultdict(int)
    names: dict[int, str] = {}
    for park_id in sorted(parks):
        drawn = programs_drawn(session, firm_id, park_id, on, now)
        if not drawn or listing is None:
            continue
        lines = [
            LineFacts(key, amount, listing.layer, listing.category_ids, listing_id, vendor_id)
            for key, amount in zip(keys, charged, strict=True)
            if amount > 0
        ]
        rules = [item.rules for item in drawn]
        standings = read_standings(session, rules, firm_id, on.year)
        granted = grant_invoice([(r, standings[r.program_id]) for r in rules], lines, on, coverage)
        for grant in granted:
            grants[grant.program_id] += grant.amount_fen
        coverage = covered(
            coverage, rules, [(g.line_key, g.program_id, g.amount_fen) for g in granted]
        )
        names |= {item.program.id: item.program.name for item in drawn}
    found = tuple(
        EstimatedGrant(program_id, names[program_id], amount)
        for program_id, amount in grants.items()
        if amount > 0
    )
    if not found:
        return None
    return SubsidyEstimate(sum(charged), found)


def quote_subsidy_note(session: Session, version: ListingVersion, quote: Quote) -> Markup | None:
    """Show a signed-in firm the subsidy its park programs would take off a listing's quote."""
    membership = g.get("membership")
    if membership is None or membership.organization.kind != OrgKind.SME:
        return None
    listing = version.listing
    amounts = [line.amount_fen for line in quote.lines]
    now = current_clock().now()
    estimate = estimate_subsidy(
        session, membership.organization_id, listing.id, listing.vendor_id, amounts, now
    )
    if estimate is None:
        return None
    html = render_template("billing/subsidies/quote_note.html", estimate=estimate)
    return Markup(html)  # noqa: S704 (a rendered, autoescaped template)
