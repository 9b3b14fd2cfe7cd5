"""Work out what a firm's subsidy programs pay on an invoice, line by line.

Pure: no database, no framework, no clock; the caller passes dates and the standing it
read under its locks. Money is integer fen. Decimal is used only to multiply a line by
its rate, rounded down to the fen, so a grant is never more than the rate gives and the
sum of the line grants is exactly what the ledger records.

An invoice is granted program by program, in (priority, program_id) order, and within a
program line by line in the given order; each grant is taken off a running tally, so the
lines of one invoice share every cap and what is left of the budget.

Vendor sub-quotas are reserved for their vendors: a vendor with a sub-quota draws on it
(and on the budget), and the vendors without one share what is left of the budget beyond
the sub-quotas still unused.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import MAX_PREC, ROUND_DOWN, Decimal, localcontext
from enum import StrEnum

from billing.subsidies.eligibility import Eligibility

ALERT_PERCENTS = (80, 100)


class Layer(StrEnum):
    """The service layer of a listing."""

    IAAS = "iaas"
    PAAS = "paas"
    SAAS = "saas"


class CappedBy(StrEnum):
    """What limited a line's grant; NONE when the full rate applied."""

    NONE = "none"
    RATE_ZERO = "rate_zero"
    NOT_QUALIFYING = "not_qualifying"
    BELOW_MINIMUM = "below_minimum"
    OUT_OF_WINDOW = "out_of_window"
    PER_INVOICE = "per_invoice"
    PER_FIRM = "per_firm"
    CLAIM = "claim"
    YEAR = "year"
    VENDOR_QUOTA = "vendor_quota"
    BUDGET = "budget"
    ALREADY_COVERED = "already_covered"


def _require_fen(name: str, value: int | None) -> None:
    """Refuse a negative amount of money, naming it."""
    if value is not None and value < 0:
        raise ValueError(f"{name} must not be negative")


def _require_rate(name: str, rate: Decimal) -> None:
    """Refuse a rate outside [0, 1], naming it."""
    if not rate.is_finite() or not Decimal(0) <= rate <= Decimal(1):
        raise ValueError(f"{name} must be between 0 and 1")


@dataclass(frozen=True)
class RateStep:
    """From starts_on on, these rates apply (退坡: a later step lowers them)."""

    starts_on: date
    default_rate: Decimal
    layer_rates: Mapping[Layer, Decimal]

    def __post_init__(self) -> None:
        """Refuse rates outside [0, 1]."""
        _require_rate("default_rate", self.default_rate)
        for layer, rate in self.layer_rates.items():
            _require_rate(f"layer_rates[{layer}]", rate)

    def rate_for(self, layer: Layer | None) -> Decimal:
        """Return the rate of a layer: its override, or the default."""
        if layer is None:
            return self.default_rate
        return self.layer_rates.get(layer, self.default_rate)


@dataclass(frozen=True)
class Caps:
    """Limits on what a program grants; None means no limit."""

    per_invoice_fen: int | None
    per_firm_fen: int | None
    first_claim_fen: int | None
    later_claim_fen: int | None

    def __post_init__(self) -> None:
        """Refuse negative caps."""
        for name in ("per_invoice_fen", "per_firm_fen", "first_claim_fen", "later_claim_fen"):
            _require_fen(name, getattr(self, name))

    def claim_fen(self, earlier_claims: int) -> int | None:
        """Return the cap on this claim: the first claim's or a later one's."""
        return self.first_claim_fen if earlier_claims == 0 else self.later_claim_fen


@dataclass(frozen=True)
class Qualifying:
    """Which purchases qualify; an empty set admits any."""

    category_ids: frozenset[int]
    listing_ids: frozenset[int]
    vendor_ids: frozenset[int]
    min_amount_fen: int

    def __post_init__(self) -> None:
        """Refuse a negative minimum."""
        _require_fen("min_amount_fen", self.min_amount_fen)


@dataclass(frozen=True)
class ProgramRules:
    """One version of a program's rules."""

    program_id: int
    version: int
    priority: int
    stackable: bool
    invoices_from: date
    invoices_until: date
    rate_steps: tuple[RateStep, ...]
    caps: Caps
    qualifying: Qualifying
    eligibility: Eligibility
    budget_fen: int
    vendor_quotas_fen: Mapping[int, int]

    def __post_init__(self) -> None:
        """Refuse an empty window, unsorted steps and negative money."""
        if self.invoices_from > self.invoices_until:
            raise ValueError("invoices_from must not be after invoices_until")
        starts = [step.starts_on for step in self.rate_steps]
        if any(later <= earlier for earlier, later in itertools.pairwise(starts)):
            raise ValueError("rate_steps must be sorted by starts_on, one step a day")
        _require_fen("budget_fen", self.budget_fen)
        for vendor_id, quota in self.vendor_quotas_fen.items():
            _require_fen(f"vendor_quotas_fen[{vendor_id}]", quota)

    def admits_on(self, finalized_on: date) -> bool:
        """Say whether an invoice finalized on this day falls in the qualifying window."""
        return self.invoices_from <= finalized_on <= self.invoices_until


@dataclass(frozen=True)
class LineFacts:
    """One invoice line that may be subsidized; amount is gross, VAT included."""

    line_key: str
    amount_fen: int
    layer: Layer | None
    category_ids: frozenset[int]
    listing_id: int
    vendor_id: int

    def __post_init__(self) -> None:
        """Refuse a negative amount."""
        _require_fen("amount_fen", self.amount_fen)


@dataclass(frozen=True)
class Standing:
    """What is left of a program for a firm, read under locks before granting."""

    budget_left_fen: int
    vendor_quota_left_fen: Mapping[int, int]
    firm_used_fen: int
    firm_claims: int
    firm_year_used_fen: int
    firm_year_cap_fen: int | None


@dataclass(frozen=True)
class LineGrant:
    """What one program grants one line, and what limited it."""

    line_key: str
    program_id: int
    amount_fen: int
    capped_by: CappedBy


# Rates -------------------------------------------------------------------------------------


def rate_on(rules: ProgramRules, layer: Layer | None, on: date) -> Decimal:
    """Return the rate in force on a day for a layer; 0 before the first step."""
    in_force = [step for step in rules.rate_steps if step.starts_on <= on]
    return in_force[-1].rate_for(layer) if in_force else Decimal(0)


def subsidy_at_rate(rate: Decimal, amount_fen: int) -> int:
    """Return rate × amount rounded down to the fen, exactly (no intermediate rounding)."""
    with localcontext(prec=MAX_PREC):
        return int((rate * amount_fen).to_integral_value(rounding=ROUND_DOWN))


def set_off_credits(amounts: Sequence[int]) -> list[int]:
    """Return what each amount is charged once the negative ones (credits) are set off.

    Credits reduce the charges in order; a credit itself is charged nothing.
    """
    credit = -sum(amount for amount in amounts if amount < 0)
    charged = []
    for amount in amounts:
        taken = min(max(amount, 0), credit)
        credit -= taken
        charged.append(max(amount, 0) - taken)
    return charged


# Budget alerts -----------------------------------------------------------------------------


def budget_alerts(budget_fen: int, used_before_fen: int, used_after_fen: int) -> tuple[int, ...]:
    """Thresholds (80, 100 percent) crossed by going from used_before to used_after."""
    return tuple(
        percent
        for percent in ALERT_PERCENTS
        if used_before_fen * 100 < budget_fen * percent <= used_after_fen * 100
    )


def budget_change_alerts(
    old_budget_fen: int, new_budget_fen: int, used_fen: int
) -> tuple[int, ...]:
    """Thresholds a budget change makes reached that the old budget had not: lowering it."""
    return tuple(
        percent
        for percent in ALERT_PERCENTS
        if new_budget_fen * percent <= used_fen * 100 < old_budget_fen * percent
    )


# Granting an invoice -----------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """What earlier programs (of this park, or of another park before it) granted a line."""

    granted_fen: int = 0
    exclusive: bool = False  # drawn on a program that is not stackable

    def add(self, rules: ProgramRules, amount_fen: int) -> Coverage:
        """Return the coverage after a program granted the line amount_fen."""
        if amount_fen == 0:
            return self
        return Coverage(self.granted_fen + amount_fen, self.exclusive or not rules.stackable)


@dataclass(frozen=True)
class _Tally:
    """What one program granted so far on this invoice, and the park year so far."""

    invoice_fen: int = 0
    year_fen: int = 0  # includes earlier programs' grants on this invoice
    by_vendor: Mapping[int, int] = field(default_factory=dict)

    def add(self, vendor_id: int, amount_fen: int) -> _Tally:
        """Return the tally after granting amount_fen on a line of vendor_id."""
        by_vendor = dict(self.by_vendor)
        by_vendor[vendor_id] = by_vendor.get(vendor_id, 0) + amount_fen
        return _Tally(self.invoice_fen + amount_fen, self.year_fen + amount_fen, by_vendor)


def _room(cap_fen: int | None, used_fen: int) -> int | None:
    """Return what a cap leaves after used_fen, never below 0; None when uncapped."""
    return None if cap_fen is None else max(cap_fen - used_fen, 0)


def _quota_left(standing: Standing, tally: _Tally, vendor_id: int) -> int:
    """Return what is left of a vendor's sub-quota on this invoice."""
    left = standing.vendor_quota_left_fen.get(vendor_id, 0) - tally.by_vendor.get(vendor_id, 0)
    return max(left, 0)


def _budget_room(rules: ProgramRules, standing: Standing, tally: _Tally, vendor_id: int) -> int:
    """Return the budget a line of vendor_id may draw: shared pool beyond unused sub-quotas."""
    left = max(standing.budget_left_fen - tally.invoice_fen, 0)
    if vendor_id in rules.vendor_quotas_fen:
        return left
    reserved = sum(_quota_left(standing, tally, v) for v in rules.vendor_quotas_fen)
    return max(left - reserved, 0)


def _limits(
    rules: ProgramRules, standing: Standing, tally: _Tally, vendor_id: int
) -> tuple[tuple[CappedBy, int | None], ...]:
    """Return every limit on the next grant, in the order they apply."""
    caps = rules.caps
    quota = (
        _quota_left(standing, tally, vendor_id) if vendor_id in rules.vendor_quotas_fen else None
    )
    return (
        (CappedBy.PER_INVOICE, _room(caps.per_invoice_fen, tally.invoice_fen)),
        (CappedBy.CLAIM, _room(caps.claim_fen(standing.firm_claims), tally.invoice_fen)),
        (CappedBy.PER_FIRM, _room(caps.per_firm_fen, standing.firm_used_fen + tally.invoice_fen)),
        (
            CappedBy.YEAR,
            _room(standing.firm_year_cap_fen, standing.firm_year_used_fen + tally.year_fen),
        ),
        (CappedBy.VENDOR_QUOTA, quota),
        (CappedBy.BUDGET, _budget_room(rules, standing, tally, vendor_id)),
    )


def _limit(raw_fen: int, limits: Iterable[tuple[CappedBy, int | None]]) -> tuple[int, CappedBy]:
    """Cut raw_fen down to every limit; name the first limit that cut it."""
    amount, capped_by = raw_fen, CappedBy.NONE
    for reason, room in limits:
        if room is not None and room < amount:
            amount = room
            capped_by = reason if capped_by is CappedBy.NONE else capped_by
    return amount, capped_by


def _qualifies(qualifying: Qualifying, line: LineFacts) -> bool:
    """Say whether a line's category, listing and vendor are on the program's lists."""
    return (
        (not qualifying.category_ids or bool(qualifying.category_ids & line.category_ids))
        and (not qualifying.listing_ids or line.listing_id in qualifying.listing_ids)
        and (not qualifying.vendor_ids or line.vendor_id in qualifying.vendor_ids)
    )


def _refusal(
    rules: ProgramRules, line: LineFacts, coverage: Coverage, rate: Decimal
) -> CappedBy | None:
    """Return why a line gets nothing from a program before any cap, or None."""
    if not _qualifies(rules.qualifying, line):
        return CappedBy.NOT_QUALIFYING
    if line.amount_fen < rules.qualifying.min_amount_fen:
        return CappedBy.BELOW_MINIMUM
    covered = coverage.exclusive or not rules.stackable or coverage.granted_fen >= line.amount_fen
    if coverage.granted_fen > 0 and covered:
        return CappedBy.ALREADY_COVERED
    if rate == 0:
        return CappedBy.RATE_ZERO
    return None


def _grant_line(
    rules: ProgramRules,
    standing: Standing,
    tally: _Tally,
    line: LineFacts,
    coverage: Coverage,
    finalized_on: date,
) -> LineGrant:
    """Grant one line from one program, within what the tally leaves."""
    rate = rate_on(rules, line.layer, finalized_on)
    refusal = _refusal(rules, line, coverage, rate)
    if refusal is not None:
        return LineGrant(line.line_key, rules.program_id, 0, refusal)
    raw = subsidy_at_rate(rate, line.amount_fen - coverage.granted_fen)
    amount, capped_by = _limit(raw, _limits(rules, standing, tally, line.vendor_id))
    return LineGrant(line.line_key, rules.program_id, amount, capped_by)


def _grant_program(
    rules: ProgramRules,
    standing: Standing,
    lines: Sequence[LineFacts],
    coverage: Mapping[str, Coverage],
    year_fen: int,
    finalized_on: date,
) -> tuple[LineGrant, ...]:
    """Grant every line of the invoice from one program, lines in the given order."""
    if not rules.admits_on(finalized_on):
        return tuple(
            LineGrant(line.line_key, rules.program_id, 0, CappedBy.OUT_OF_WINDOW) for line in lines
        )
    tally = _Tally(year_fen=year_fen)
    grants = []
    for line in lines:
        grant = _grant_line(rules, standing, tally, line, coverage[line.line_key], finalized_on)
        tally = tally.add(line.vendor_id, grant.amount_fen)
        grants.append(grant)
    return tuple(grants)


def _require_unique(what: str, keys: Sequence[object]) -> None:
    """Refuse duplicate keys, naming what they are."""
    if len(set(keys)) != len(keys):
        raise ValueError(f"{what} must be unique")


def grant_invoice(
    programs: Sequence[tuple[ProgramRules, Standing]],
    lines: Sequence[LineFacts],
    finalized_on: date,
    earlier: Mapping[str, Coverage] | None = None,
) -> tuple[LineGrant, ...]:
    """Grant an invoice's lines from the firm's programs: one LineGrant per program and line.

    Programs draw in (priority, program_id) order and lines in the given order; the
    firm's annual cap is shared by all the programs passed, so pass one park's programs.
    `earlier` is what another park's programs already granted the lines (see covered).
    """
    _require_unique("program ids", [rules.program_id for rules, _ in programs])
    _require_unique("line keys", [line.line_key for line in lines])
    coverage = {line.line_key: (earlier or {}).get(line.line_key, Coverage()) for line in lines}
    year_fen = 0
    grants: list[LineGrant] = []
    for rules, standing in sorted(programs, key=lambda p: (p[0].priority, p[0].program_id)):
        granted = _grant_program(rules, standing, lines, coverage, year_fen, finalized_on)
        for grant in granted:
            coverage[grant.line_key] = coverage[grant.line_key].add(rules, grant.amount_fen)
            year_fen += grant.amount_fen
        grants.extend(granted)
    return tuple(grants)


def covered(
    earlier: Mapping[str, Coverage],
    programs: Iterable[ProgramRules],
    grants: Iterable[tuple[str, int, int]],
) -> dict[str, Coverage]:
    """Return the lines' coverage after (line_key, program_id, amount) grants of programs."""
    by_id = {rules.program_id: rules for rules in programs}
    coverage = dict(earlier)
    for line_key, program_id, amount_fen in grants:
        coverage[line_key] = coverage.get(line_key, Coverage()).add(by_id[program_id], amount_fen)
    return coverage
