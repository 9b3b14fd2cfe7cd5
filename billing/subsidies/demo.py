"""Demo subsidies for `make run`: each demo park runs a program its member firms draw on.

福州软件园 runs an automatic cloud voucher; 厦门软件园 a subsidy for first-time buyers
that firms apply for. Two member firms subscribe to demo listings some months back, and
those months are billed through the real close and finalization on a clock of this
loader's own (the app's clock is left alone), so the park console has subsidized
invoices (paid, open and one voided) and a budget burned down over time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import Invoice, InvoiceStatus, Subscription
from billing.services import invoices
from billing.services.close import close_due_periods, finalize_due_invoices
from billing.services.subscriptions import activate, subscribe
from billing.subsidies import ledger
from billing.subsidies.models import (
    EnrollmentMode,
    EnrollmentStatus,
    ProgramStatus,
    SubsidyEnrollment,
    SubsidyParkPolicy,
    SubsidyProgram,
    SubsidyProgramVersion,
)
from billing.subsidies.program_rules import check_rules
from catalog.models import Listing, Plan
from marketplace.accounts.models import User
from marketplace.audit.services import Actor
from marketplace.clock import MARKET_TIME_ZONE, Clock, FrozenClock
from marketplace.demo import DOMAIN, OPERATOR_EMAIL, PARKS
from marketplace.firms.models import SmeProfile
from marketplace.orgs.models import Membership, Organization, OrgKind, Role

SYSTEM = Actor(None)
# How far back the demo firms started buying: enough months for a burn-down chart.
HISTORY = timedelta(days=120)
# A calendar year needs this much behind it before its own months make the history.
MIN_YEAR_HISTORY = timedelta(days=35)
# Billing runs a few days after each boundary, once the 48-hour grace is over.
BILL_AFTER = timedelta(days=3)
# Firms pay their invoices some days after they are finalized.
PAY_AFTER = timedelta(days=5)
FUZHOU_FIRM = f"chen@mjzz.{DOMAIN}"  # 福州闽江智造机械有限公司, member of 福州软件园
XIAMEN_FIRM = f"guo@jiulongjiang.{DOMAIN}"  # 漳州九龙江物流有限公司, member of 厦门软件园
XIAMEN_APPLICANT = f"wang@ludao.{DOMAIN}"  # 厦门鹭岛信息科技有限公司, member of 厦门软件园
# The invoice of this (firm, listing) in the first billing run is voided: seats entered wrongly.
VOIDED = (FUZHOU_FIRM, "inventory")


@dataclass(frozen=True)
class DemoSubscription:
    """A demo firm's subscription to a demo listing's plan."""

    owner_email: str
    listing_slug: str
    plan_code: str
    seats: int | None = None


SUBSCRIPTIONS = (
    DemoSubscription(FUZHOU_FIRM, "cloud-database", "monthly"),
    DemoSubscription(FUZHOU_FIRM, "inventory", "pro", 5),
    DemoSubscription(XIAMEN_FIRM, "hr-cloud", "standard"),
    DemoSubscription(XIAMEN_FIRM, "cloud-server", "basic"),
)


@dataclass(frozen=True)
class DemoWorld:
    """The demo rows the subsidy demo builds on."""

    parks: dict[str, Organization]
    park_admins: dict[str, int]
    operator: Actor
    firm_ids: dict[str, int]
    owner_ids: dict[str, int]
    plans: dict[tuple[str, str], Plan]


# Pure parts -----------------------------------------------------------------------------------


def history_start(now: datetime) -> datetime:
    """Return when the demo firms started buying: this year's start, or HISTORY back.

    Invoices stay inside the current year when it is old enough to show a few months;
    early in January the history reaches back into the year before.
    """
    local = now.astimezone(MARKET_TIME_ZONE)
    year_start = datetime.combine(date(local.year, 1, 1), time(9, 30), MARKET_TIME_ZONE)
    earliest = local - HISTORY
    if local - year_start < MIN_YEAR_HISTORY:
        return earliest
    return max(earliest, year_start)


def _window(first: date, last: date) -> dict[str, Any]:
    return {"invoices_from": first.isoformat(), "invoices_until": last.isoformat()}


def cloud_voucher_rules(first: date, last: date) -> dict[str, Any]:
    """Return the rules of 福州软件园's voucher: 50% of SaaS, 40% of IaaS, ¥2,000 a firm."""
    return _window(first, last) | {
        "priority": 100,
        "stackable": False,
        "rate_steps": [
            {
                "starts_on": first.isoformat(),
                "default_rate": "0.5",
                "layer_rates": {"iaas": "0.4"},
            }
        ],
        "caps": {"per_firm_fen": 200_000},
        "qualifying": {"min_amount_fen": 0},
        "eligibility": {
            "size_classes": ["micro", "small", "medium"],
            "min_months_registered": 12,
            "exclude_dishonest": True,
            "park_members_only": True,
        },
    }


def first_time_rules(first: date, last: date) -> dict[str, Any]:
    """Return the rules of 厦门软件园's subsidy: 30% for first-time buyers, ¥3,000 a firm."""
    return _window(first, last) | {
        "priority": 200,
        "stackable": False,
        "rate_steps": [{"starts_on": first.isoformat(), "default_rate": "0.3", "layer_rates": {}}],
        "caps": {"per_firm_fen": 300_000, "per_invoice_fen": 50_000},
        "qualifying": {"min_amount_fen": 1_000},
        "eligibility": {
            "size_classes": ["micro", "small", "medium"],
            "exclude_dishonest": True,
            "first_time_buyers_only": True,
            "park_members_only": True,
        },
    }


# Reading the demo world -----------------------------------------------------------------------


def _user_id(session: Session, email: str) -> int | None:
    return session.scalar(sa.select(User.id).where(User.email == email))


def _firm_of_owner(session: Session, email: str) -> int | None:
    """Return the SME that the demo owner owns, if it was loaded."""
    return session.scalar(
        sa.select(Membership.organization_id)
        .join(User, User.id == Membership.user_id)
        .join(SmeProfile, SmeProfile.organization_id == Membership.organization_id)
        .where(User.email == email, Membership.role == Role.OWNER)
    )


def _newest_plan(session: Session, slug: str, code: str) -> Plan | None:
    """Return the newest version of a live demo listing's plan."""
    return session.scalars(
        sa.select(Plan)
        .join(Listing, Listing.id == Plan.listing_id)
        .where(Listing.slug == slug, Listing.sandbox.is_(False), Plan.code == code)
        .order_by(Plan.version.desc())
    ).first()


def _parks(session: Session) -> dict[str, Organization]:
    parks = {}
    for key, (name, _admin, _email) in PARKS.items():
        park = session.scalar(
            sa.select(Organization).where(
                Organization.kind == OrgKind.PARK, Organization.name == name
            )
        )
        if park is not None:
            parks[key] = park
    return parks


def read_world(session: Session) -> DemoWorld | None:
    """Return the demo parks, firms and plans, or None if any of them was not loaded."""
    parks = _parks(session)
    admins = {key: _user_id(session, email) for key, (_n, _a, email) in PARKS.items()}
    operator = _operator(session)
    emails = {FUZHOU_FIRM, XIAMEN_FIRM, XIAMEN_APPLICANT}
    firms = {email: _firm_of_owner(session, email) for email in emails}
    owners = {email: _user_id(session, email) for email in emails}
    plans = {
        (s.listing_slug, s.plan_code): _newest_plan(session, s.listing_slug, s.plan_code)
        for s in SUBSCRIPTIONS
    }
    found = [*admins.values(), *firms.values(), *owners.values(), *plans.values()]
    if len(parks) < len(PARKS) or operator is None or any(item is None for item in found):
        return None
    return DemoWorld(
        parks=parks,
        park_admins={k: v for k, v in admins.items() if v is not None},
        operator=operator,
        firm_ids={k: v for k, v in firms.items() if v is not None},
        owner_ids={k: v for k, v in owners.items() if v is not None},
        plans={k: v for k, v in plans.items() if v is not None},
    )


def _operator(session: Session) -> Actor | None:
    """Return the demo operator acting for the operator organization, if it was loaded."""
    row = session.execute(
        sa.select(Membership.user_id, Membership.organization_id)
        .join(User, User.id == Membership.user_id)
        .where(User.email == OPERATOR_EMAIL)
    ).first()
    return None if row is None else Actor(row.user_id, row.organization_id)


def _has_programs(session: Session) -> bool:
    return bool(session.scalar(sa.select(sa.exists().where(SubsidyProgram.id.is_not(None)))))


# Programs, policy and enrollments -------------------------------------------------------------


@dataclass(frozen=True)
class DemoProgram:
    """A demo park's program: what the park console shows of it and its rules."""

    park: str
    name: str
    description: str
    enrollment: EnrollmentMode
    budget_fen: int
    rules: dict[str, Any]


def demo_programs(first: date, last: date) -> tuple[DemoProgram, DemoProgram]:
    """Return 福州软件园's voucher and 厦门软件园's subsidy, for invoices from first to last."""
    voucher = DemoProgram(
        "fuzhou",
        f"{last.year}年度中小企业上云券",
        "园区入驻的中小微企业在云市采购云服务，SaaS 按 50%、IaaS 按 40% 抵扣，"
        "每家企业全年最高 ¥2,000，开票时自动抵扣，无需申请。",
        EnrollmentMode.AUTOMATIC,
        120_000,  # a pilot budget: the demo's invoices take it past the 80% alert
        cloud_voucher_rules(first, last),
    )
    first_time = DemoProgram(
        "xiamen",
        "首次上云补贴",
        "首次在云市采购云服务的入园企业，经园区审核通过后按订单金额 30% 补贴，"
        "单张账单最高 ¥500，每家企业累计最高 ¥3,000。",
        EnrollmentMode.APPLICATION,
        100_000,
        first_time_rules(first, last),
    )
    return voucher, first_time


def add_program(
    session: Session, world: DemoWorld, spec: DemoProgram, at: datetime
) -> SubsidyProgram:
    """Add an active program whose first version, by the park's admin, is in force from `at`."""
    program = SubsidyProgram(
        park_id=world.parks[spec.park].id,
        name=spec.name,
        description=spec.description,
        status=ProgramStatus.ACTIVE,
        enrollment=spec.enrollment,
        budget_fen=spec.budget_fen,
        current_version=1,
        created_at=at,
        updated_at=at,
    )
    session.add(program)
    session.flush()
    session.add(
        SubsidyProgramVersion(
            program_id=program.id,
            version=1,
            rules=check_rules(spec.rules),
            takes_effect_at=at,
            created_by_id=world.park_admins[spec.park],
            created_at=at,
        )
    )
    return program


def _application(
    session: Session, program: SubsidyProgram, firm_id: int, requested_at: datetime
) -> SubsidyEnrollment:
    """Add a firm's application to a program, with the size class it was judged by."""
    profile = session.get(SmeProfile, firm_id)
    assert profile is not None
    row = SubsidyEnrollment(
        program_id=program.id,
        firm_id=firm_id,
        status=EnrollmentStatus.APPLIED,
        requested_at=requested_at,
        size_class=profile.size_class,
        size_standard_id=profile.size_standard_id,
    )
    session.add(row)
    return row


def load_programs(session: Session, world: DemoWorld, start: datetime, end: datetime) -> None:
    """Add both parks' programs, 福州's annual cap and 厦门's enrollments; commit.

    The programs cover invoices from the first of the history's year to the end of this one.
    """
    first = date(start.astimezone(MARKET_TIME_ZONE).year, 1, 1)
    last = date(end.astimezone(MARKET_TIME_ZONE).year, 12, 31)
    launched = start - timedelta(days=14)
    voucher, first_time = demo_programs(first, last)
    add_program(session, world, voucher, launched)
    session.add(
        SubsidyParkPolicy(
            park_id=world.parks["fuzhou"].id, firm_year_cap_fen=500_000, updated_at=launched
        )
    )
    program = add_program(session, world, first_time, launched)
    approved = _application(session, program, world.firm_ids[XIAMEN_FIRM], launched)
    approved.status = EnrollmentStatus.APPROVED
    approved.decided_at = launched + timedelta(days=3)
    approved.decided_by_id = world.park_admins["xiamen"]
    _application(session, program, world.firm_ids[XIAMEN_APPLICANT], end - timedelta(days=2))
    session.commit()


# Subscriptions and their invoices -------------------------------------------------------------


def subscribe_firms(
    session: Session, clock: Clock, world: DemoWorld
) -> dict[int, DemoSubscription]:
    """Subscribe the demo firms and have the vendors start them; return the specs by id."""
    made = {}
    for spec in SUBSCRIPTIONS:
        firm_id = world.firm_ids[spec.owner_email]
        plan = world.plans[(spec.listing_slug, spec.plan_code)]
        owner = Actor(world.owner_ids[spec.owner_email], firm_id)
        subscription = subscribe(session, clock, owner, firm_id, plan.id, spec.seats)
        activate(session, clock, SYSTEM, subscription.vendor_id, subscription.id, sandbox=False)
        made[subscription.id] = spec
    return made


def bill(session: Session, clock: FrozenClock, at: datetime, firm_ids: list[int]) -> None:
    """Move the clock to `at`, then close and finalize the demo firms' due periods."""
    clock.set(at)
    close_due_periods(session, clock, organization_ids=firm_ids)
    finalize_due_invoices(session, clock, organization_ids=firm_ids)


def _open_invoices(session: Session, subscription_ids: list[int]) -> list[Invoice]:
    return list(
        session.scalars(
            sa.select(Invoice)
            .where(
                Invoice.subscription_id.in_(subscription_ids),
                Invoice.status == InvoiceStatus.OPEN,
            )
            .order_by(Invoice.id)
        )
    )


def settle(
    session: Session,
    clock: FrozenClock,
    at: datetime,
    subscription_ids: list[int],
    voided: int | None,
    operator: Actor,
) -> None:
    """Move the clock to `at`; pay the open invoices, or void the one chosen, and settle grants.

    The grants are settled here on this clock, as the outbox handlers would on the app's,
    so the ledger's history has the demo's dates; the handlers find nothing left to move.
    """
    clock.set(at)
    for invoice in _open_invoices(session, subscription_ids):
        if invoice.subscription_id == voided:
            invoices.void_invoice(session, clock, operator, invoice)
            ledger.release_invoice(session, clock, invoice.id)
        else:
            invoices.mark_paid(session, clock, SYSTEM, invoice)
            ledger.confirm_invoice(session, clock, invoice.id)
        session.commit()


def _next_boundary(session: Session, subscription_ids: list[int]) -> datetime:
    ends = session.scalars(
        sa.select(Subscription.current_period_end).where(Subscription.id.in_(subscription_ids))
    ).all()
    return min(end for end in ends if end is not None)


def bill_history(
    session: Session,
    clock: FrozenClock,
    world: DemoWorld,
    subscriptions: dict[int, DemoSubscription],
    end: datetime,
) -> None:
    """Bill each period from the clock's time to `end`; pay all but the last run's invoices."""
    firm_ids = sorted({world.firm_ids[spec.owner_email] for spec in subscriptions.values()})
    ids = list(subscriptions)
    voided: int | None = next(
        (i for i, spec in subscriptions.items() if (spec.owner_email, spec.listing_slug) == VOIDED),
        None,
    )
    at = clock.now() + BILL_AFTER
    while at <= end:
        bill(session, clock, at, firm_ids)
        following = _next_boundary(session, ids) + BILL_AFTER
        if following > end:
            return  # the newest invoices stay open: their grants are still held
        settle(session, clock, at + PAY_AFTER, ids, voided, world.operator)
        voided = None
        at = following


def load_subsidy_demo(session: Session, clock: Clock) -> None:
    """Give each demo park an active program and months of subsidized invoices of its firms.

    Bills on a FrozenClock of its own from some months before the given clock's time up
    to it; loads nothing if the demo parks, firms or catalog are missing or programs exist.
    """
    world = read_world(session)
    if world is None or _has_programs(session):
        return
    end = clock.now()
    demo_clock = FrozenClock(history_start(end))
    load_programs(session, world, demo_clock.now(), end)
    subscriptions = subscribe_firms(session, demo_clock, world)
    bill_history(session, demo_clock, world, subscriptions, end)
