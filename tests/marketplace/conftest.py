"""Helpers of the shell tests: a world of two firms, two parks, two vendors and the operator.

Firm B's rows carry distinctive strings (its markers) so a page that shows any of them to
someone outside firm B can be caught by a plain substring search. Firm B also subscribes to
vendor W and is billed (tests.marketplace.billing_world); vendor V's admin is an outsider.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from billing.subsidies.models import ProgramStatus
from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import current_clock
from marketplace.db import Base
from marketplace.extensions import db
from marketplace.firms.models import ParkMembership, SmeProfile
from marketplace.firms.services import FirmDetails, register_firm, request_to_join_park
from marketplace.firms.uscc import CHARSET, make_uscc
from marketplace.mail.models import OutboundEmail
from marketplace.orgs.invitations import invite_member
from marketplace.orgs.models import Invitation, Membership, Organization, OrgKind, Role
from sso.provider.models import Consent, FirmApproval, Grant
from tests.billing.subsidies.world import add_program, enroll
from tests.factories import make_member, make_org, make_user
from tests.marketplace.billing_world import BillingRecords, billing_selections, build_billing


@dataclass(frozen=True)
class Person:
    """Someone who signs in (by Flask-Login session id) acting for one organization."""

    session_id: str
    org_id: int | None


@dataclass(frozen=True)
class FirmRecords:
    """The ids and the identifying texts of one registered firm and everything around it."""

    org_id: int
    legal_name: str
    uscc: str
    people: dict[str, Person]
    user_ids: tuple[int, ...]
    emails: tuple[str, ...]
    display_names: tuple[str, ...]
    membership_ids: tuple[int, ...]
    invitation_id: int
    invitation_token: str
    invitee_email: str
    park_membership_id: int
    join_message: str
    billing: BillingRecords | None = None
    # A draft subsidy program of the park the firm asked to join, and its enrollment in it.
    subsidy_program_id: int | None = None
    subsidy_enrollment_id: int | None = None

    @property
    def markers(self) -> tuple[str, ...]:
        """Return the strings that only a page about this firm can contain."""
        return (
            self.legal_name,
            self.uscc,
            *self.emails,
            *self.display_names,
            self.invitee_email,
            self.join_message,
            *(self.billing.markers if self.billing else ()),
        )

    @property
    def subsidy_ids(self) -> tuple[int, int]:
        """Return the program and enrollment ids; only firm B has them."""
        assert self.subsidy_program_id and self.subsidy_enrollment_id, "only firm B enrolls"
        return self.subsidy_program_id, self.subsidy_enrollment_id

    @property
    def billed(self) -> BillingRecords:
        """Return the firm's billing records; only firm B has them."""
        assert self.billing is not None, "only firm B is billed"
        return self.billing


@dataclass(frozen=True)
class World:
    """Firms A and B, park P (A asked to join) and Q (B asked), vendors V and W, the operator.

    Firm B subscribes to vendor W; vendor V has no dealings with firm B.
    """

    firm_a: FirmRecords
    firm_b: FirmRecords
    park_p_id: int
    park_q_id: int
    park_p_admin: Person
    park_q_admin: Person
    vendor_admin: Person
    operator_owner: Person
    billing_vendor_admin: Person


@dataclass(frozen=True)
class FirmSpec:
    """What tells one test firm from the other."""

    key: str
    legal_name: str
    uscc: str
    region_code: str


def _unverified(code: str) -> str:
    """Return code with a wrong check character: it waits for an operator's review."""
    return code[:17] + CHARSET[(CHARSET.index(code[17]) + 1) % len(CHARSET)]


FIRM_A = FirmSpec(
    "alpha", "福州甲方对照软件有限公司", make_uscc("9", "1", "350100", "73519001"), "350100"
)
FIRM_B = FirmSpec(
    "bravo",
    "厦门乙方机密标记科技有限公司",
    _unverified(make_uscc("9", "1", "350200", "73519002")),
    "350200",
)


def _person(user: User, org_id: int) -> Person:
    return Person(user.get_id(), org_id)


def _staff(org: Organization, role: str, email: str, name: str) -> User:
    return make_member(org, make_user(email, display_name=name), role)


def _invite(owner: User, org_id: int, email: str) -> str:
    """Invite email into the firm as a member through the service; return the token."""
    tokens: list[str] = []

    def keep(token: str) -> str:
        tokens.append(token)
        return f"http://localhost/invitations/{token}"

    membership = db.session.scalars(
        sa.select(Membership).where(
            Membership.organization_id == org_id, Membership.user_id == owner.id
        )
    ).one()
    invite_member(
        db.session(),
        current_clock(),
        membership,
        email=email,
        role=Role.MEMBER,
        actor=Actor(owner.id, org_id),
        accept_url=keep,
    )
    return tokens[0]


def _register(spec: FirmSpec, park_id: int) -> FirmRecords:
    """Register a firm with an owner, an admin, a member, an invitation and a park request."""
    domain = f"{spec.key}-secret.example.com"
    owner = make_user(f"{spec.key}-owner@{domain}", display_name=f"{spec.key.title()} Owner Xq")
    details = FirmDetails(
        legal_name=spec.legal_name,
        uscc=spec.uscc,
        region_code=spec.region_code,
        industry_code="software_it",
        staff="80",
        revenue_wan="600",
        established_on="2015-04-01",
    )
    org_id = register_firm(db.session(), current_clock(), Actor(owner.id), details).organization_id
    org = db.session.get(Organization, org_id)
    assert org is not None
    admin = _staff(org, Role.ADMIN, f"{spec.key}-admin@{domain}", f"{spec.key.title()} Admin Xq")
    member = _staff(org, Role.MEMBER, f"{spec.key}-member@{domain}", f"{spec.key.title()} Mbr Xq")
    invitee = f"{spec.key}-invitee@{domain}"
    token = _invite(owner, org_id, invitee)
    message = f"{spec.key}-secret-join-note"
    park_membership = request_to_join_park(
        db.session(), current_clock(), Actor(owner.id, org_id), org_id, park_id, message
    )
    users = (owner, admin, member)
    return FirmRecords(
        org_id=org_id,
        legal_name=spec.legal_name,
        uscc=spec.uscc,
        people={
            "owner": _person(owner, org_id),
            "admin": _person(admin, org_id),
            "member": _person(member, org_id),
        },
        user_ids=tuple(u.id for u in users),
        emails=tuple(u.email for u in users),
        display_names=tuple(u.display_name for u in users),
        membership_ids=tuple(
            db.session.scalars(sa.select(Membership.id).where(Membership.organization_id == org_id))
        ),
        invitation_id=db.session.scalars(
            sa.select(Invitation.id).where(Invitation.organization_id == org_id)
        ).one(),
        invitation_token=token,
        invitee_email=invitee,
        park_membership_id=park_membership.id,
        join_message=message,
    )


def _organization_with_admin(kind: str, name: str, role: str = Role.ADMIN) -> Person:
    return _with_admin(make_org(kind, name), role)


def _with_admin(org: Organization, role: str = Role.ADMIN) -> Person:
    make_member(org, make_user(), Role.OWNER)
    return Person(make_member(org, make_user(), role).get_id(), org.id)


def _billed(firm: FirmRecords, vendor: Organization) -> FirmRecords:
    """Subscribe the firm to the vendor, give its member a seat and bill it."""
    owner_id, _admin_id, member_id = firm.user_ids
    return replace(firm, billing=build_billing(firm.org_id, owner_id, member_id, vendor))


def _enrolled(firm: FirmRecords, park_id: int) -> FirmRecords:
    """Give the firm's park a draft subsidy program and enroll the firm in it.

    A draft: an active program is a public announcement any firm may read and apply to.
    """
    now = current_clock().now()
    program = add_program(db.session(), park_id, now, status=ProgramStatus.DRAFT)
    enrollment = enroll(db.session(), program.id, firm.org_id, now)
    return replace(firm, subsidy_program_id=program.id, subsidy_enrollment_id=enrollment.id)


@pytest.fixture
def world(app: Flask, session: Session) -> World:
    """Build the two firms and every other kind of organization, committed to the test."""
    with app.test_request_context():
        park_p = make_org(OrgKind.PARK, "福州软件园")
        park_q = make_org(OrgKind.PARK, "厦门软件园")
        park_p_admin = Person(make_member(park_p, make_user(), Role.ADMIN).get_id(), park_p.id)
        park_q_admin = Person(make_member(park_q, make_user(), Role.ADMIN).get_id(), park_q.id)
        vendor_w = make_org(OrgKind.VENDOR, "闽南计量应用服务商")
        built = World(
            firm_a=_register(FIRM_A, park_p.id),
            firm_b=_enrolled(_billed(_register(FIRM_B, park_q.id), vendor_w), park_q.id),
            park_p_id=park_p.id,
            park_q_id=park_q.id,
            park_p_admin=park_p_admin,
            park_q_admin=park_q_admin,
            vendor_admin=_organization_with_admin(OrgKind.VENDOR, "闽云应用服务商"),
            operator_owner=_organization_with_admin(OrgKind.OPERATOR, "云市运营", Role.OWNER),
            billing_vendor_admin=_with_admin(vendor_w),
        )
    session.commit()
    return built


def act_as(client: FlaskClient, person: Person | None) -> None:
    """Start the client's next request afresh, signed in as person (anonymous for None)."""
    with client.session_transaction() as browser:
        browser.clear()
        browser["lang"] = "en"
        if person is not None:
            browser["_user_id"] = person.session_id
            browser["_fresh"] = True
            if person.org_id is not None:
                browser["org_id"] = person.org_id
    # The tests share one app context, so forget the user the last request loaded.
    g.pop("_login_user", None)


def acting_org_id(client: FlaskClient) -> int | None:
    """Return the organization the client's session now acts for."""
    with client.session_transaction() as browser:
        value = browser.get("org_id")
    return int(value) if value is not None else None


def firm_rows(session: Session, firm: FirmRecords) -> dict[str, list[tuple[object, ...]]]:
    """Read every column of every row that belongs to the firm, to prove nothing changed."""
    session.expire_all()
    selections: dict[str, tuple[type[Base], sa.ColumnElement[bool]]] = {
        "organization": (Organization, Organization.id == firm.org_id),
        "profile": (SmeProfile, SmeProfile.organization_id == firm.org_id),
        "memberships": (Membership, Membership.organization_id == firm.org_id),
        "invitations": (Invitation, Invitation.organization_id == firm.org_id),
        "park_memberships": (ParkMembership, ParkMembership.firm_id == firm.org_id),
        "users": (User, User.id.in_(firm.user_ids)),
        "app_consents": (Consent, Consent.user_id.in_(firm.user_ids)),
        "app_firm_approvals": (FirmApproval, FirmApproval.firm_id == firm.org_id),
        "app_grants": (Grant, Grant.firm_id == firm.org_id),
        **(billing_selections(firm.billing) if firm.billing else {}),
    }
    snapshot: dict[str, list[tuple[object, ...]]] = {}
    for name, (model, where) in selections.items():
        table = sa.inspect(model).local_table
        stmt = sa.select(table).where(where).order_by(*sa.inspect(model).primary_key)
        snapshot[name] = [tuple(row) for row in session.execute(stmt)]
    return snapshot


def firm_trail(session: Session, firm: FirmRecords) -> tuple[int, int]:
    """Count the audit entries about the firm (and its test firm) and mails to its people."""
    orgs = firm.billing.org_ids if firm.billing else (firm.org_id,)
    audited = session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.subject_org_id.in_(orgs))
    )
    mailed = session.scalar(
        sa.select(sa.func.count(OutboundEmail.id)).where(
            OutboundEmail.to_address.in_((*firm.emails, firm.invitee_email))
        )
    )
    return int(audited or 0), int(mailed or 0)


class RolledBack:
    """Run one request inside a savepoint of the test's connection and undo it afterwards.

    Each call then starts from the same world: a member who leaves firm A or an owner who
    makes a vendor does not change what the next call sees.
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> None:
        self.session.commit()
        connection = self.session.get_bind()
        assert isinstance(connection, sa.Connection)
        self.savepoint = connection.begin_nested()

    def __exit__(self, *_exc: object) -> None:
        self.session.close()
        self.savepoint.rollback()
