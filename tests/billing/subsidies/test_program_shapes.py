"""Three real program shapes, end to end: subscriptions, the close, finalization, settlement.

Nothing here calls the rule engine: firms subscribe to published plans, the close and the
finalization run as the scheduler runs them, and the subsidy lines, the grants and the
quota ledger are read back to the fen. Each shape then pays some invoices, voids one,
relays the outbox and checks what the ledger holds, has settled and has left.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from sqlalchemy.orm import Session

from billing.invoicing import LineKind
from billing.models import Invoice, InvoiceLine, InvoiceStatus, Subscription
from billing.services import invoices
from billing.services import subscriptions as subs
from billing.services.close import close_due_periods
from billing.subsidies import ledger
from billing.subsidies.models import GrantStatus, SubsidyEnrollment, SubsidyGrant
from catalog.pricing import FlatFee, PlanPrice, SeatFee
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.firms.models import SmeProfile
from marketplace.orgs.models import Organization, OrgKind
from marketplace.webhooks.relay import relay_outbox
from tests.billing.conftest import add_plan
from tests.billing.subsidies.world import add_member_firm, add_program, simple_rules
from tests.billing.test_close import APRIL, GRACE, MAY, START, invoices_of, run
from tests.catalog.storefront_data import publish_listing
from tests.factories import make_member, make_org

ACTOR = Actor(None)
JUNE = datetime(2026, 6, 2, 1, 30, tzinfo=START.tzinfo)
JULY = datetime(2026, 7, 2, 1, 30, tzinfo=START.tzinfo)


@pytest.fixture
def park(app: Flask, session: Session, clock: FrozenClock) -> Iterator[Organization]:
    """A park with an owner, in an English request (budget alerts mail its managers)."""
    with app.test_request_context(), force_locale("en"):
        made = make_org(OrgKind.PARK, "高新区")
        make_member(made)
        yield made


# Helpers ----------------------------------------------------------------------------------


def member(session: Session, clock: FrozenClock, park: Organization) -> int:
    """Register a small firm as an approved member of the park; return its id."""
    profile, _ = add_member_firm(session, park, clock.now())
    return profile.organization_id


def plan(
    price: PlanPrice, *, vendor: Organization | None = None, layer: str = "saas"
) -> tuple[int, int]:
    """Publish a listing of a service layer with an auto-activating plan; return (vendor, plan)."""
    listing = publish_listing(vendor, price=price, layer=layer)
    return listing.vendor_id, add_plan(listing, price, auto_activate=True).id


def flat(fen: int) -> PlanPrice:
    """Return a price of one flat monthly fee."""
    return PlanPrice((FlatFee(fen),))


def subscribe(
    session: Session, clock: FrozenClock, firm_id: int, plan_id: int, seats: int | None = None
) -> Subscription:
    """Subscribe a firm to a plan at the clock's time."""
    return subs.subscribe(session, clock, ACTOR, firm_id, plan_id, seats)


def nth_invoice(session: Session, subscription: Subscription, n: int) -> Invoice:
    """Return a subscription's n-th invoice (from 1), finalized."""
    invoice = invoices_of(session, subscription)[n - 1]
    assert invoice.status != InvoiceStatus.DRAFT
    return invoice


def subsidy_of(invoice: Invoice) -> list[tuple[int | None, int]]:
    """Return (program, amount) of each subsidy line of an invoice."""
    return [
        (line.subsidy_program_id, line.amount_fen)
        for line in invoice.lines
        if line.kind == LineKind.SUBSIDY
    ]


def charges_of(invoice: Invoice) -> int:
    """Return what the invoice charges before any subsidy."""
    return sum(line.amount_fen for line in invoice.lines if line.kind != LineKind.SUBSIDY)


def assert_granted(invoice: Invoice, program_id: int, granted_fen: int) -> None:
    """Check an invoice's one subsidy line (none when nothing was granted) and what is due."""
    assert subsidy_of(invoice) == ([(program_id, -granted_fen)] if granted_fen else [])
    assert invoice.total_fen == charges_of(invoice) - granted_fen
    if invoice.status == InvoiceStatus.OPEN:
        assert invoice.amount_due_fen == charges_of(invoice) - granted_fen


def grants_of(session: Session, invoice: Invoice) -> list[tuple[int, str]]:
    """Return (amount, status) of an invoice's grants, one a line, in line order."""
    return [(g.amount_fen, g.status) for g in ledger.invoice_grants(session, invoice.id)]


def assert_lines_are_the_ledger(session: Session, program_id: int, budget_fen: int) -> None:
    """Check every subsidy line against its grants and the ledger, to the fen.

    Each line is minus its invoice's grants from the program; the lines of invoices still
    owed or paid add up to what the ledger holds (reserved + confirmed = budget − left),
    and the lines of voided or written-off invoices to what it gave back.
    """
    session.expire_all()
    lines = session.execute(
        sa.select(InvoiceLine.invoice_id, InvoiceLine.amount_fen, Invoice.status)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.subsidy_program_id == program_id)
    ).all()
    grants = session.scalars(sa.select(SubsidyGrant).where(SubsidyGrant.program_id == program_id))
    per_invoice: dict[int, int] = {}
    released = 0
    for grant in grants:
        per_invoice[grant.invoice_id] = per_invoice.get(grant.invoice_id, 0) + grant.amount_fen
        released += grant.amount_fen if grant.status == GrantStatus.RELEASED else 0
    assert {invoice_id: -amount for invoice_id, amount, _ in lines} == per_invoice
    # Voided invoices gave their grants back; uncollectible ones still hold theirs.
    given_up = (InvoiceStatus.VOID,)
    live = -sum(amount for _, amount, status in lines if status not in given_up)
    usage = ledger.program_usage(session, program_id)
    assert live == usage.reserved_fen + usage.confirmed_fen == budget_fen - usage.remaining_fen
    assert -sum(amount for _, amount, status in lines if status in given_up) == released


def usage_of(session: Session, program_id: int) -> tuple[int, int, int]:
    """Return (reserved, confirmed, remaining) of a program."""
    usage = ledger.program_usage(session, program_id)
    return usage.reserved_fen, usage.confirmed_fen, usage.remaining_fen


def enrolled(session: Session, program_id: int) -> set[int]:
    """Return the firms enrolled in a program."""
    return set(
        session.scalars(
            sa.select(SubsidyEnrollment.firm_id).where(SubsidyEnrollment.program_id == program_id)
        )
    )


def settle(session: Session, clock: FrozenClock, paid: list[Invoice], voided: Invoice) -> None:
    """Pay some invoices and void one, then relay the outbox to the settlement handlers."""
    for invoice in paid:
        invoices.mark_paid(session, clock, ACTOR, invoice)
    invoices.void_invoice(session, clock, ACTOR, voided)
    session.commit()
    relay_outbox()
    session.expire_all()


# (a) 50% capped at ¥2,000 a firm, for first-time SME buyers ---------------------------------

FIRST_TIME_RULES = simple_rules(
    caps={"per_firm_fen": 200_000},
    eligibility={"size_classes": ["micro", "small", "medium"], "first_time_buyers_only": True},
)
FIRST_TIME_BUDGET = 10_000_000
MONTHLY = 150_000  # ¥1,500 a month: 50% is ¥750, so the ¥2,000 cap binds on the third invoice


def test_first_time_buyers_get_half_until_the_per_firm_cap_is_reached_exactly(
    session: Session, clock: FrozenClock, park: Organization
) -> None:
    _, plan_id = plan(flat(MONTHLY))
    veteran = member(session, clock, park)
    # The veteran bought and paid before the program started: it is no first-time buyer.
    bought = subscribe(session, clock, veteran, plan_id)
    close_due_periods(session, clock, organization_ids=[veteran])
    [earlier] = invoices_of(session, bought)
    invoices.mark_paid(session, clock, ACTOR, invoices.finalize_invoice(session, clock, earlier.id))
    program = add_program(
        session, park.id, clock.now(), rules=FIRST_TIME_RULES, budget_fen=FIRST_TIME_BUDGET
    )
    newcomer = member(session, clock, park)
    large = member(session, clock, park)
    profile = session.get(SmeProfile, large)
    assert profile is not None
    profile.size_class = "large"
    subscriptions = [subscribe(session, clock, firm, plan_id) for firm in (newcomer, large)]

    for at in (START, APRIL, MAY, JUNE):
        run(session, clock, at + GRACE)

    mine = [nth_invoice(session, subscriptions[0], n) for n in (1, 2, 3, 4)]
    for invoice, granted in zip(mine, (75_000, 75_000, 50_000, 0), strict=True):
        assert_granted(invoice, program.id, granted)
    assert grants_of(session, mine[2]) == [(50_000, GrantStatus.RESERVED)]
    assert grants_of(session, mine[3]) == []
    # Neither the veteran nor the large firm was taken in, nor granted anything.
    assert enrolled(session, program.id) == {newcomer}
    others = invoices_of(session, bought)[1:] + invoices_of(session, subscriptions[1])
    assert len(others) == 7 and all(subsidy_of(invoice) == [] for invoice in others)
    assert all(invoice.amount_due_fen == MONTHLY for invoice in others)
    assert usage_of(session, program.id) == (200_000, 0, FIRST_TIME_BUDGET - 200_000)
    assert_lines_are_the_ledger(session, program.id, FIRST_TIME_BUDGET)

    settle(session, clock, paid=mine[:2], voided=mine[2])

    assert usage_of(session, program.id) == (0, 150_000, FIRST_TIME_BUDGET - 150_000)
    assert grants_of(session, mine[2]) == [(50_000, GrantStatus.RELEASED)]
    assert_lines_are_the_ledger(session, program.id, FIRST_TIME_BUDGET)

    # The voided invoice gave its ¥500 back under the firm's cap: July's invoice takes it.
    run(session, clock, JULY + GRACE)
    july = nth_invoice(session, subscriptions[0], 5)
    assert_granted(july, program.id, 50_000)
    assert usage_of(session, program.id) == (50_000, 150_000, FIRST_TIME_BUDGET - 200_000)
    assert_lines_are_the_ledger(session, program.id, FIRST_TIME_BUDGET)


# (b) 40% IaaS / 60% SaaS, ¥50,000 on a firm's first claim and ¥30,000 on each later one ------

LAYER_RULES = simple_rules(
    rate_steps=[
        {
            "starts_on": "2026-01-01",
            "default_rate": "0",
            "layer_rates": {"iaas": "0.4", "saas": "0.6"},
        }
    ],
    caps={"first_claim_fen": 5_000_000, "later_claim_fen": 3_000_000},
)
LAYER_BUDGET = 100_000_000
# ¥100,000 flat and ¥5,000 a seat: two lines that share the claim cap.
COMPUTE = PlanPrice((FlatFee(10_000_000), SeatFee(500_000, 1, 50)))


def test_layer_rates_and_first_and_later_claim_caps(
    session: Session, clock: FrozenClock, park: Organization
) -> None:
    program = add_program(session, park.id, clock.now(), rules=LAYER_RULES, budget_fen=LAYER_BUDGET)
    _, paas = plan(flat(2_000_000), layer="paas")
    _, compute = plan(COMPUTE, layer="iaas")
    _, small_iaas = plan(flat(5_000_000), layer="iaas")
    _, saas = plan(flat(6_000_000), layer="saas")
    x, y, z = (member(session, clock, park) for _ in range(3))
    # In subscription order, so each firm's drafts finalize in this order.
    x_paas = subscribe(session, clock, x, paas)
    x_iaas = subscribe(session, clock, x, compute, seats=10)
    y_saas = subscribe(session, clock, y, saas)
    z_iaas = subscribe(session, clock, z, small_iaas)
    z_saas = subscribe(session, clock, z, saas)

    run(session, clock, START + GRACE)
    run(session, clock, APRIL + GRACE)

    bought = (x_paas, x_iaas, y_saas, z_iaas, z_saas)
    first = {s.id: nth_invoice(session, s, 1) for s in bought}
    later = {s.id: nth_invoice(session, s, 2) for s in bought}
    expected = {
        # PaaS has no rate: nothing, and no claim used up.
        x_paas.id: (0, 0),
        # 40% of ¥150,000 is ¥60,000: the first claim stops at ¥50,000, then ¥30,000.
        x_iaas.id: (5_000_000, 3_000_000),
        # 60% of ¥60,000 is ¥36,000: under the first claim's cap, over a later one's.
        y_saas.id: (3_600_000, 3_000_000),
        # 40% of ¥50,000 is ¥20,000, under both caps.
        z_iaas.id: (2_000_000, 2_000_000),
        # Finalized after z's IaaS invoice in the same run: already a later claim.
        z_saas.id: (3_000_000, 3_000_000),
    }
    for subscription_id, (on_first, on_later) in expected.items():
        assert_granted(first[subscription_id], program.id, on_first)
        assert_granted(later[subscription_id], program.id, on_later)
    # The flat fee takes its 40% (¥40,000); the seats get the ¥10,000 the claim cap leaves.
    assert grants_of(session, first[x_iaas.id]) == [
        (4_000_000, GrantStatus.RESERVED),
        (1_000_000, GrantStatus.RESERVED),
    ]
    # A later claim: the flat fee's ¥40,000 stops at ¥30,000 and the seats get nothing.
    assert grants_of(session, later[x_iaas.id]) == [(3_000_000, GrantStatus.RESERVED)]
    granted = 13_600_000 + 11_000_000
    assert usage_of(session, program.id) == (granted, 0, LAYER_BUDGET - granted)
    assert_lines_are_the_ledger(session, program.id, LAYER_BUDGET)

    paid = [first[x_iaas.id], first[y_saas.id], first[z_iaas.id], first[x_paas.id]]
    settle(session, clock, paid=paid, voided=first[z_saas.id])

    confirmed = 5_000_000 + 3_600_000 + 2_000_000
    assert usage_of(session, program.id) == (
        11_000_000,
        confirmed,
        LAYER_BUDGET - 11_000_000 - confirmed,
    )
    assert grants_of(session, first[z_saas.id]) == [(3_000_000, GrantStatus.RELEASED)]
    assert_lines_are_the_ledger(session, program.id, LAYER_BUDGET)


# (c) A fixed budget, first come first served, with vendor sub-quotas ---------------------------

BUDGET = 1_000_000  # ¥10,000
QUOTA_1, QUOTA_2 = 300_000, 200_000


def test_a_fixed_budget_is_granted_in_finalization_order_within_vendor_sub_quotas(
    session: Session, clock: FrozenClock, park: Organization
) -> None:
    vendor_1, plan_1 = plan(flat(240_000))  # 50% is ¥1,200
    vendor_2, plan_2 = plan(flat(160_000))  # 50% is ¥800
    _, plan_3 = plan(flat(400_000))  # 50% is ¥2,000; this vendor has no sub-quota
    rules = simple_rules(vendor_quotas_fen={str(vendor_1): QUOTA_1, str(vendor_2): QUOTA_2})
    program = add_program(session, park.id, clock.now(), rules=rules, budget_fen=BUDGET)
    # (plan, subsidy granted) in the order the invoices are finalized, an hour apart.
    queue: list[tuple[int, int, str]] = [
        (plan_1, 120_000, "vendor 1's quota: 180,000 left"),
        (plan_3, 200_000, "the shared pool: 880,000 − 380,000 unused quotas = 500,000"),
        (plan_1, 120_000, "vendor 1's quota: 60,000 left"),
        (plan_3, 200_000, "the shared pool: 560,000 − 260,000 = 300,000"),
        (plan_1, 60_000, "the rest of vendor 1's quota; the firm pays 180,000"),
        (plan_3, 100_000, "the rest of the shared pool (300,000 − 200,000); pays 300,000"),
        (plan_3, 0, "nothing: what is left is vendor 2's"),
        (plan_2, 80_000, "vendor 2's quota: 120,000 left"),
        (plan_2, 80_000, "vendor 2's quota: 40,000 left"),
        (plan_2, 40_000, "the last of the quota and of the budget; pays 120,000"),
        (plan_1, 0, "nothing: the budget is spent"),
    ]
    # Subscribed in another order than they finalize: what counts is the finalization time.
    order = [7, 2, 10, 0, 5, 9, 1, 4, 8, 3, 6]
    made: dict[int, Subscription] = {}
    for n in order:
        clock.set(START + timedelta(hours=n))
        made[n] = subscribe(session, clock, member(session, clock, park), queue[n][0])

    seen = []
    for n, (_, granted, why) in enumerate(queue):
        run(session, clock, START + timedelta(hours=n) + GRACE)
        invoice = nth_invoice(session, made[n], 1)
        assert_granted(invoice, program.id, granted)
        seen.append(invoice)
        assert ledger.program_usage(session, program.id).remaining_fen == BUDGET - sum(
            g for _, g, _ in queue[: n + 1]
        ), why
    assert usage_of(session, program.id) == (BUDGET, 0, 0)
    assert_lines_are_the_ledger(session, program.id, BUDGET)

    # Pay the first two, void the third: vendor 1's ¥1,200 goes back to its quota.
    settle(session, clock, paid=seen[:2], voided=seen[2])

    assert usage_of(session, program.id) == (BUDGET - 440_000, 320_000, 120_000)
    assert_lines_are_the_ledger(session, program.id, BUDGET)

    # The next comer buying from vendor 1 gets it all; one from vendor 3 still nothing.
    clock.set(START + timedelta(hours=12))
    late = [subscribe(session, clock, member(session, clock, park), p) for p in (plan_1, plan_3)]
    run(session, clock, START + timedelta(hours=12) + GRACE)
    assert_granted(nth_invoice(session, late[0], 1), program.id, 120_000)
    assert_granted(nth_invoice(session, late[1], 1), program.id, 0)
    assert usage_of(session, program.id) == (BUDGET - 320_000, 320_000, 0)
    assert_lines_are_the_ledger(session, program.id, BUDGET)
