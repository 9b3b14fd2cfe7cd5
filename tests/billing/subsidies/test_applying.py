"""Subsidies taken off invoices at finalization, held in the ledger, settled with the invoice."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from billing.invoicing import LineKind, LineValues
from billing.models import Invoice, InvoiceStatus, Subscription
from billing.services import invoices
from billing.services import subscriptions as subs
from billing.services.statements import statement_for
from billing.statements import Month
from billing.subsidies import ledger
from billing.subsidies.applying import charged_amounts, subsidy_lines
from billing.subsidies.models import (
    EnrollmentMode,
    GrantStatus,
    ProgramStatus,
    SubsidyBudgetAlert,
    SubsidyEnrollment,
    SubsidyProgramVersion,
)
from billing.subsidies.program_rules import check_rules
from marketplace.audit.services import Actor
from marketplace.clock import FrozenClock
from marketplace.firms.models import ParkMembership, SmeProfile
from marketplace.mail.models import OutboundEmail
from marketplace.webhooks.relay import relay_outbox
from tests.billing.subsidies.world import (
    SubsidyWorld,
    add_member_firm,
    add_program,
    enroll,
    simple_rules,
)
from tests.billing.test_close import APRIL, GRACE, START, invoices_of, run
from tests.factories import make_member, make_org
from tests.sessions import sign_in

ACTOR = Actor(None)
D = Decimal
# The world's plan: ¥100 flat + 3 seats × ¥30 = ¥190 a month, VAT inside.
TEAM_TOTAL = 19000


def subscribe(session: Session, clock: FrozenClock, world: SubsidyWorld) -> Subscription:
    """Subscribe the world's firm to its plan with 3 seats."""
    return subs.subscribe(session, clock, ACTOR, world.firm_id, world.plan_id, 3)


def first_invoice(session: Session, clock: FrozenClock, world: SubsidyWorld) -> Invoice:
    """Subscribe, close and finalize the first period; return its invoice."""
    subscription = subscribe(session, clock, world)
    run(session, clock, clock.now() + GRACE)
    [invoice] = invoices_of(session, subscription)
    assert invoice.status != InvoiceStatus.DRAFT
    return invoice


def subsidy_rows(invoice: Invoice) -> list[tuple[int | None, int, int]]:
    """Return (program, amount, tax) of the invoice's subsidy lines."""
    return [
        (line.subsidy_program_id, line.amount_fen, line.tax_fen)
        for line in invoice.lines
        if line.kind == LineKind.SUBSIDY
    ]


def used(session: Session, program_id: int) -> int:
    """Return what the ledger says the program has used."""
    usage = ledger.program_usage(session, program_id)
    return usage.reserved_fen + usage.confirmed_fen


# Pure parts -----------------------------------------------------------------------------------


def charge(amount: int, kind: LineKind = LineKind.RECURRING) -> LineValues:
    return LineValues(kind, "x", D(1), amount, 0)


def test_credits_are_set_off_against_the_charges_in_line_order() -> None:
    lines = [charge(5000), charge(3000), charge(-6000, LineKind.PRORATION), charge(1000)]
    assert charged_amounts(lines) == [0, 2000, 0, 1000]


def test_existing_subsidy_lines_are_neither_charges_nor_credits() -> None:
    lines = [charge(5000), charge(-2000, LineKind.SUBSIDY)]
    assert charged_amounts(lines) == [5000, 0]


def test_a_credit_larger_than_the_charges_leaves_nothing_charged() -> None:
    assert charged_amounts([charge(100), charge(-500, LineKind.PRORATION)]) == [0, 0]


def test_subsidy_lines_carry_their_vat_share_in_program_order() -> None:
    lines = subsidy_lines({7: 9500, 3: 1060, 9: 0}, [3, 7, 9], D("0.06"))
    # 1060 × 6/106 = 60; 9500 × 6/106 = 537.7 → 538.
    assert [(ln.subsidy_program_id, ln.amount_fen, ln.tax_fen) for ln in lines] == [
        (3, -1060, -60),
        (7, -9500, -538),
    ]


# At finalization ------------------------------------------------------------------------------


def test_an_automatic_program_takes_half_off_and_enrolls_the_firm(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())

    invoice = first_invoice(session, clock, subsidy_world)

    assert subsidy_rows(invoice) == [(program.id, -9500, -538)]
    assert (invoice.subtotal_fen, invoice.total_fen) == (TEAM_TOTAL, TEAM_TOTAL - 9500)
    assert invoice.amount_due_fen == 9500 and invoice.tax_fen == 1075 - 538
    grants = ledger.invoice_grants(session, invoice.id)
    # One grant a line: the flat fee and the seats.
    assert [(g.amount_fen, g.status, g.program_version) for g in grants] == [
        (5000, "reserved", 1),
        (4500, "reserved", 1),
    ]
    assert used(session, program.id) == 9500
    enrollment = session.scalar(sa.select(SubsidyEnrollment))
    assert enrollment is not None and enrollment.status == "approved"
    assert enrollment.size_class == "small" and enrollment.firm_id == subsidy_world.firm_id


def test_the_sum_of_subsidy_lines_equals_the_ledger(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    rules = simple_rules(
        rate_steps=[{"starts_on": "2026-01-01", "default_rate": "0.333", "layer_rates": {}}]
    )
    program = add_program(session, subsidy_world.park.id, clock.now(), rules=rules)

    invoice = first_invoice(session, clock, subsidy_world)

    # 10000 × 0.333 = 3330 and 9000 × 0.333 = 2997, each rounded down: 6327.
    assert subsidy_rows(invoice)[0][1] == -6327 == -used(session, program.id)


@pytest.mark.parametrize(
    "status", [ProgramStatus.DRAFT, ProgramStatus.PAUSED, ProgramStatus.CLOSED]
)
def test_only_an_active_program_grants(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld, status: str
) -> None:
    add_program(session, subsidy_world.park.id, clock.now(), status=status)

    invoice = first_invoice(session, clock, subsidy_world)

    assert subsidy_rows(invoice) == [] and invoice.amount_due_fen == TEAM_TOTAL


def test_a_firm_outside_the_park_gets_nothing(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    other_park = make_org("park")
    make_member(other_park)
    add_program(session, other_park.id, clock.now())

    assert subsidy_rows(first_invoice(session, clock, subsidy_world)) == []


def test_an_application_program_grants_only_once_the_firm_is_approved(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    park = subsidy_world.park.id
    waiting = add_program(session, park, clock.now(), enrollment=EnrollmentMode.APPLICATION)
    approved = add_program(session, park, clock.now(), enrollment=EnrollmentMode.APPLICATION)
    enroll(session, approved.id, subsidy_world.firm_id, clock.now())

    invoice = first_invoice(session, clock, subsidy_world)

    assert subsidy_rows(invoice) == [(approved.id, -9500, -538)]
    assert used(session, waiting.id) == 0


def test_a_firm_flagged_dishonest_after_joining_stops_drawing(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    enroll(session, program.id, subsidy_world.firm_id, clock.now())
    profile = session.get(SmeProfile, subsidy_world.firm_id)
    assert profile is not None
    profile.seriously_dishonest = True

    assert subsidy_rows(first_invoice(session, clock, subsidy_world)) == []


def test_an_ineligible_firm_is_not_enrolled_automatically(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    rules = simple_rules(eligibility={"size_classes": ["micro"]})  # the firm is small
    add_program(session, subsidy_world.park.id, clock.now(), rules=rules)

    assert subsidy_rows(first_invoice(session, clock, subsidy_world)) == []
    assert session.scalar(sa.select(sa.func.count()).select_from(SubsidyEnrollment)) == 0


def test_a_new_version_applies_to_invoices_finalized_after_it_takes_effect(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    lower = simple_rules(
        rate_steps=[{"starts_on": "2026-01-01", "default_rate": "0.2", "layer_rates": {}}]
    )
    session.add(
        SubsidyProgramVersion(
            program_id=program.id,
            version=2,
            rules=check_rules(lower),
            takes_effect_at=START + GRACE + timedelta(days=1),
            created_at=clock.now(),
        )
    )
    subscription = subscribe(session, clock, subsidy_world)
    run(session, clock, START + GRACE)
    run(session, clock, APRIL + GRACE)

    first, second = invoices_of(session, subscription)
    assert subsidy_rows(first)[0][1] == -9500
    # The second period bills ¥190 in advance at 20%: 2000 + 1800.
    assert subsidy_rows(second)[0][1] == -3800
    assert [g.program_version for g in ledger.invoice_grants(session, second.id)] == [2, 2]


def test_a_sandbox_invoice_is_never_subsidized(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    add_program(session, subsidy_world.park.id, clock.now())
    subscription = subscribe(session, clock, subsidy_world)
    session.execute(
        sa.update(Subscription).where(Subscription.id == subscription.id).values(sandbox=True)
    )
    run(session, clock, START + GRACE)

    [invoice] = invoices_of(session, subscription)
    assert subsidy_rows(invoice) == []


@pytest.mark.parametrize(
    ("stackable", "second_fen"),
    # Stacking, the second park takes 80% of what the first left; otherwise nothing.
    [(True, -3040), (False, 0)],
)
def test_a_second_parks_program_stacks_only_when_both_programs_do(
    session: Session,
    clock: FrozenClock,
    subsidy_world: SubsidyWorld,
    stackable: bool,
    second_fen: int,
) -> None:
    rules = simple_rules(
        stackable=stackable,
        rate_steps=[{"starts_on": "2026-01-01", "default_rate": "0.8", "layer_rates": {}}],
    )
    first = add_program(session, subsidy_world.park.id, clock.now(), rules=rules)
    other = make_org("park")
    make_member(other)
    second = add_program(session, other.id, clock.now(), rules=rules)
    add_member_firm_to(session, clock, other.id, subsidy_world.firm_id)

    invoice = first_invoice(session, clock, subsidy_world)

    rows = {p: a for p, a, _ in subsidy_rows(invoice)}
    assert rows[first.id] == -15200 and rows.get(second.id, 0) == second_fen
    assert invoice.amount_due_fen == TEAM_TOTAL - 15200 + second_fen
    assert used(session, second.id) == -second_fen


def add_member_firm_to(session: Session, clock: FrozenClock, park_id: int, firm_id: int) -> None:
    """Make an existing firm an approved member of another park."""
    session.add(
        ParkMembership(
            park_id=park_id,
            firm_id=firm_id,
            status="approved",
            requested_at=clock.now(),
            decided_at=clock.now(),
        )
    )
    session.flush()


# The budget -----------------------------------------------------------------------------------


def test_a_line_gets_what_is_left_and_the_managers_are_alerted_at_80_and_100_percent(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now(), budget_fen=6000)

    invoice = first_invoice(session, clock, subsidy_world)

    assert subsidy_rows(invoice)[0][1] == -6000
    assert invoice.amount_due_fen == TEAM_TOTAL - 6000
    alerts = session.scalars(sa.select(SubsidyBudgetAlert).order_by(SubsidyBudgetAlert.percent))
    assert [(a.percent, a.used_fen, a.budget_fen) for a in alerts] == [
        (80, 6000, 6000),
        (100, 6000, 6000),
    ]
    mails = session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.kind == "subsidy_budget_alert")
    ).all()
    assert {m.to_address for m in mails} == {subsidy_world.park_admin.email}
    assert len(mails) == 2 and program.name in mails[0].subject


def test_an_exhausted_budget_grants_nothing_more_and_alerts_once(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now(), budget_fen=9500)
    first_invoice(session, clock, subsidy_world)
    other, _ = add_member_firm(session, subsidy_world.park, clock.now())
    late = subs.subscribe(session, clock, ACTOR, other.organization_id, subsidy_world.plan_id, 3)
    run(session, clock, START + GRACE + timedelta(days=1))

    [invoice] = invoices_of(session, late)
    assert subsidy_rows(invoice) == [] and used(session, program.id) == 9500
    assert session.scalar(sa.select(sa.func.count()).select_from(SubsidyBudgetAlert)) == 2


# Settling -------------------------------------------------------------------------------------


def test_paying_confirms_and_voiding_releases_through_the_outbox(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    invoice = first_invoice(session, clock, subsidy_world)
    invoices.mark_paid(session, clock, ACTOR, invoice)
    relay_outbox()

    assert ledger.program_usage(session, program.id).confirmed_fen == 9500

    other_firm = subsidy_world_with_new_firm(session, clock, subsidy_world)
    second = first_invoice(session, clock, other_firm)
    invoices.void_invoice(session, clock, ACTOR, second)
    relay_outbox()

    grants = ledger.invoice_grants(session, second.id)
    assert {g.status for g in grants} == {GrantStatus.RELEASED}
    assert used(session, program.id) == 9500
    assert ledger.program_usage(session, program.id).remaining_fen == 1_000_000 - 9500


def subsidy_world_with_new_firm(
    session: Session, clock: FrozenClock, world: SubsidyWorld
) -> SubsidyWorld:
    """Return the world with another member firm in place of the first."""
    firm, owner = add_member_firm(session, world.park, clock.now())
    return SubsidyWorld(
        world.park, world.park_admin, firm, owner, world.vendor, world.listing_id, world.plan_id
    )


def test_an_uncollectible_invoice_holds_its_subsidy_until_it_is_paid_or_voided(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now(), budget_fen=9500)
    invoice = first_invoice(session, clock, subsidy_world)
    invoices.mark_uncollectible(session, clock, ACTOR, invoice)
    relay_outbox()
    assert ledger.program_usage(session, program.id).reserved_fen == 9500

    invoices.mark_paid(session, clock, ACTOR, invoice)
    relay_outbox()

    usage = ledger.program_usage(session, program.id)
    assert (usage.confirmed_fen, usage.remaining_fen) == (9500, 0)


def test_voiding_an_uncollectible_invoice_gives_its_subsidy_back(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    invoice = first_invoice(session, clock, subsidy_world)
    invoices.mark_uncollectible(session, clock, ACTOR, invoice)
    invoices.void_invoice(session, clock, ACTOR, invoice)
    relay_outbox()

    assert used(session, program.id) == 0


def test_a_full_credit_releases_and_a_partial_one_keeps_the_subsidy(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    program = add_program(session, subsidy_world.park.id, clock.now())
    invoice = first_invoice(session, clock, subsidy_world)
    invoices.create_credit_note(session, clock, ACTOR, invoice, 4000, "Two days down")
    relay_outbox()
    assert used(session, program.id) == 9500

    invoices.create_credit_note(session, clock, ACTOR, invoice, 5500, "The rest")
    relay_outbox()

    assert used(session, program.id) == 0
    assert ledger.program_usage(session, program.id).remaining_fen == 1_000_000


# On the invoice ---------------------------------------------------------------------------------


def test_the_invoice_page_and_pdf_name_the_program_of_each_subsidy_line(
    client: FlaskClient, session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    add_program(session, subsidy_world.park.id, clock.now(), name="2026年度中小企业上云券")
    invoice = first_invoice(session, clock, subsidy_world)
    sign_in(client, subsidy_world.firm_owner, subsidy_world.firm.organization)

    page = client.get(f"/invoices/{invoice.id}").get_data(as_text=True)
    pdf = client.get(f"/invoices/{invoice.id}.pdf")

    assert "Park subsidy: 2026年度中小企业上云券" in page
    assert ">-¥95.00<" in page
    assert pdf.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "2026" in text and "95.00" in text


def test_a_program_open_to_non_members_grants_an_enrolled_outsider(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    other = make_org("park")
    make_member(other)
    rules = simple_rules(eligibility={"size_classes": ["small"], "park_members_only": False})
    program = add_program(
        session, other.id, clock.now(), rules=rules, enrollment=EnrollmentMode.APPLICATION
    )
    enroll(session, program.id, subsidy_world.firm_id, clock.now())

    invoice = first_invoice(session, clock, subsidy_world)

    assert subsidy_rows(invoice) == [(program.id, -9500, -538)]


def test_the_vendor_earns_the_full_price_until_a_full_credit_gives_the_subsidy_back(
    session: Session, clock: FrozenClock, subsidy_world: SubsidyWorld
) -> None:
    add_program(session, subsidy_world.park.id, clock.now())
    invoice = first_invoice(session, clock, subsidy_world)
    month = Month(2026, 3)
    vendor_id = subsidy_world.vendor.id

    # The firm pays ¥95 and the park ¥95: the vendor earns the whole ¥190.
    assert statement_for(session, vendor_id, month, D("0.1")).gross_fen == TEAM_TOTAL

    invoices.create_credit_note(session, clock, ACTOR, invoice, 9500, "Refunded in full")
    relay_outbox()

    statement = statement_for(session, vendor_id, month, D("0.1"))
    assert sorted((e.kind, e.amount_fen) for e in statement.entries) == [
        ("credit_note", -9500),
        ("invoice", TEAM_TOTAL),
        ("subsidy_released", -9500),
    ]
    assert statement.gross_fen == 0
