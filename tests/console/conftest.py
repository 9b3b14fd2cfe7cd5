"""Helpers of the console tests: the operator and its staff, firms, signing in, audit rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from marketplace.accounts.models import User
from marketplace.audit.models import AuditEntry
from marketplace.firms.models import SmeProfile, UsccStatus
from marketplace.firms.uscc import CHARSET, make_uscc
from marketplace.orgs.models import Organization, OrgKind, Role
from tests.factories import make_member, make_org, make_user
from tests.sessions import sign_in, sign_out  # noqa: F401 (shared by this part's tests)

STANDARD_ID = "MIIT-2011-300"
_REGISTERED = datetime(2026, 2, 1, tzinfo=UTC)


@dataclass
class Operator:
    """The operator organization with an owner, an admin and a member who may only look."""

    org: Organization
    owner: User
    admin: User
    member: User


@pytest.fixture
def operator(session: Session) -> Operator:
    """Add the operator organization and its staff."""
    org = make_org(OrgKind.OPERATOR, "Yunshi Operations")
    owner = make_member(org, make_user("owner@ops.example", display_name="Ops Owner"), Role.OWNER)
    admin = make_member(org, make_user("admin@ops.example"), Role.ADMIN)
    member = make_member(org, make_user("member@ops.example"), Role.MEMBER)
    return Operator(org, owner, admin, member)


@pytest.fixture
def console(client: FlaskClient, operator: Operator) -> FlaskClient:
    """A client signed in as the operator's owner."""
    sign_in(client, operator.owner, operator.org)
    return client


def unverified(code: str) -> str:
    """Return code with a wrong check character at position 18."""
    wrong = CHARSET[(CHARSET.index(code[17]) + 1) % len(CHARSET)]
    return code[:17] + wrong


def valid_code(n: int) -> str:
    """Return a distinct valid credit code of a Fuzhou enterprise."""
    return make_uscc("9", "1", "350100", f"M{n:07d}")


def make_firm(
    name: str,
    *,
    uscc: str | None = None,
    status: str = UsccStatus.VALID,
    registered: datetime = _REGISTERED,
    **fields: Any,
) -> Organization:
    """Add an SME organization with a registered firm profile."""
    org = make_org(OrgKind.SME, name, **fields)
    session = Session.object_session(org)
    assert session is not None
    session.add(
        SmeProfile(
            organization_id=org.id,
            legal_name=f"{name}有限公司",
            uscc=uscc or valid_code(org.id),
            uscc_status=status,
            legal_form="enterprise",
            region_code="350100",
            industry_code="software_it",
            staff_count=40,
            size_class="small",
            size_standard_id=STANDARD_ID,
            classified_at=registered,
            created_at=registered,
            updated_at=registered,
        )
    )
    session.flush()
    return org


def audit(session: Session, action: str) -> list[AuditEntry]:
    """Return the audit entries of an action, oldest first."""
    stmt = sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(session.scalars(stmt))


def reload(session: Session, row: Any) -> Any:
    """Read a row back from the database, to see what a request committed."""
    session.expire_all()
    return session.get(type(row), sa.inspect(row).identity[0])


def table(response: Any, testid: str) -> str:
    """Return the HTML of the table marked data-testid=testid ("" when the page has none)."""
    page = str(response.get_data(as_text=True))
    start = page.find(f'data-testid="{testid}"')
    if start < 0:
        return ""
    return page[start : page.index("</table>", start)]
