"""Helpers of the firms tests: credit codes, signing in, registered firms, parks, counts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.audit.services import Actor
from marketplace.clock import current_clock
from marketplace.extensions import db
from marketplace.firms.models import ParkMembership, SmeProfile
from marketplace.firms.services import FirmDetails, register_firm
from marketplace.firms.uscc import CHARSET, make_uscc
from marketplace.orgs.models import Membership, Organization, OrgKind
from tests.factories import make_member, make_org, make_user
from tests.sessions import acting_org_id, sign_in  # noqa: F401 (shared by this part's tests)

_serial = itertools.count(1)


def valid_code(region: str = "350100") -> str:
    """Return a credit code that passes every check and no other test uses."""
    return make_uscc("9", "1", region, f"{next(_serial):08d}")


def unverified_code() -> str:
    """Return a code that passes the format and position 17 but not the check character."""
    code = valid_code()
    wrong = next(ch for ch in CHARSET if ch != code[17])
    return code[:17] + wrong


def software_firm(**overrides: str) -> dict[str, str]:
    """Return the registration form of a software firm: 80 staff, 600万 revenue (small)."""
    form = {
        "legal_name": "福州云帆软件有限公司",
        "uscc": valid_code(),
        "region_code": "350100",
        "industry_code": "software_it",
        "staff": "80",
        "revenue_wan": "600",
        "assets_wan": "",
        "established_on": "2015-04-01",
    }
    return {**form, **overrides}


@pytest.fixture
def request_context(app: Flask, session: Session) -> Iterator[None]:
    """Give a service called directly the request its translated messages need, in English."""
    with app.test_request_context(), force_locale("en"):
        yield


def register(user: User, **overrides: str) -> SmeProfile:
    """Register a firm owned by user through the service (a small software firm by default)."""
    details = FirmDetails(**software_firm(**overrides))
    return register_firm(db.session(), current_clock(), Actor(user.id), details)


def firm_with_owner(**overrides: str) -> tuple[SmeProfile, User]:
    """Register a firm for a new confirmed user; return its profile and its owner."""
    owner = make_user()
    return register(owner, **overrides), owner


def make_park(name: str | None = None, **fields: Any) -> tuple[Organization, User]:
    """Add a park with an owner; return both."""
    park = make_org(OrgKind.PARK, name or f"Park {next(_serial)}", **fields)
    return park, make_member(park)


def counts(session: Session) -> dict[str, int]:
    """Count the rows a registration or a request would add."""
    session.expire_all()
    models = {
        "organizations": Organization,
        "memberships": Membership,
        "profiles": SmeProfile,
        "park_memberships": ParkMembership,
        "audit": AuditEntry,
    }
    return {
        name: int(session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)
        for name, model in models.items()
    }


def audit(session: Session, action: str) -> list[AuditEntry]:
    """Return the audit entries of an action, oldest first."""
    stmt = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(session.scalars(stmt))


def profile_of(session: Session, org_id: int) -> SmeProfile:
    """Read a profile back from the database."""
    session.expire_all()
    profile = session.get(SmeProfile, org_id)
    assert profile is not None
    return profile
